"""Each official's work queue: what waits for their action, by kind, oldest first."""
