"""Made-up data, in one place: people, registries, requests, case lists and returnees.

- `people`: a Venezuelan population (names, sexes, birth dates, states of birth, cédulas),
  vectorised, with sibling groups and twins; the source of every made-up person below.
- `registry`: a receiving-side civil registry in one of several shapes, and verification
  requests drawn from it and corrupted by the error model (`registry.ErrorModel` — the one
  place its rates and presets are stated), each carrying its ground truth.
- `case_files`: case lists in the import format (CSV or XLSX) with households and minors.
- `returnees`: returnees waiting for matching and the opportunities they rank, written in bulk.
- `work`: a backlog in bulk — registered cases in every state and every official's queue over them.

Nothing here runs at import; every generator takes a seed, so the same seed gives the same data.
"""
