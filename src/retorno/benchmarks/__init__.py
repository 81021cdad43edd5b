"""Every benchmark of `retorno bench NAME`, one module named for what it measures.

Each run prints its figures as one JSON object; a tiny run of each is in the test suite.
`database` is what the database benchmarks share (a fresh migrated database, peak memory).
"""
