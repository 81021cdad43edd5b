"""The error every reading of an import file raises when the file cannot be read as a table (its kinds are in
`reading`)."""


class UnreadableFileError(ValueError):
    """The file is not a CSV or XLSX table with a header row."""
