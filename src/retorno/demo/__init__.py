"""The demo: the scenario of SPEC.md section 1 (`build`), its reintegration and verification parts, and an
independent check of the database it leaves (`check`)."""
