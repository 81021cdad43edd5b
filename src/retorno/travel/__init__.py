"""What happens to a person's travel when something about them changes: the workflows that cross domains."""
