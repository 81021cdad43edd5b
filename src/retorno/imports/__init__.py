"""One import framework for the spreadsheets agencies use, shared by every import.

`reading` reads CSV and XLSX files as rows of text; `rows` matches the header, parses each column
(once per distinct value) with a message catalogue, and builds the report of every bad row.
Each import declares its columns and its own checks beside its domain (`cases.rows`,
`reintegration.rows`) and writes the rows it accepts in its own `load` module, all or nothing,
in the caller's one transaction (`travel.load` in bulk with `db.insert_columns`).
"""
