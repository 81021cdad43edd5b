"""`retorno bench NAME`: each benchmark prints its figures as one JSON object on its last line."""

from __future__ import annotations

from typing import Annotated

import typer

from retorno.cli.common import DatabaseUrl, print_figures, settings


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("plan")
    def bench_plan(people: int = 5000, households: int = 1500, flights: int = 30, days: int = 30,
                   seed: int = 1, time_limit: float = 30.0,
                   oversubscribed: Annotated[bool, typer.Option(help="twice as many people as seats")] = False
                   ) -> None:
        """Manifest planning on a synthetic instance (HiGHS MIP against the greedy baseline)."""
        from retorno.benchmarks.planning import run
        print_figures(run(people=people, households=households, flights=flights, days=days, seed=seed,
                          time_limit=time_limit, oversubscribed=oversubscribed))

    @bench_app.command("match")
    def bench_match(returnees: int = 100_000, opportunities: int = 10_000, prefs: int = 10,
                    seat_ratio: float = 0.6, seed: int = 1, database_url: DatabaseUrl = None,
                    end_to_end: Annotated[bool, typer.Option(help="also load from and store into the database")]
                    = True) -> None:
        """Stable and welfare-optimal matching of returnees to opportunities."""
        from retorno.benchmarks.matching import run
        figures = run(returnees=returnees, opportunities=opportunities, prefs=prefs, seat_ratio=seat_ratio,
                      seed=seed)
        if end_to_end:
            from retorno.benchmarks.matching import end_to_end_seconds
            figures.update(end_to_end_seconds(settings(database_url), returnees=returnees,
                                              opportunities=opportunities, prefs=prefs, seat_ratio=seat_ratio,
                                              seed=seed))
        print_figures(figures)

    @bench_app.command("linkage")
    def bench_linkage(
        registry: int = 1_000_000, requests: int = 10_000, seed: int = 1,
        work_dir: Annotated[str | None, typer.Option(
            help="folder for the generated data (and the on-disk scratch database)")] = None,
        memory_limit: Annotated[str | None, typer.Option(
            help="link in a scratch database on disk within this memory, e.g. 6GB (for 10 million)")] = None,
        upper: Annotated[float | None, typer.Option(help="upper threshold (default: the installation's)")] = None,
        lower: Annotated[float | None, typer.Option(help="lower threshold (default: the installation's)")] = None,
        shape: Annotated[str, typer.Option(
            help="the registry's shape: venezuelan, single-surname, sparse, swapped, or all")] = "venezuelan",
        train_error: Annotated[str, typer.Option(
            help="error model of the training pairs: a preset (default, training, shifted, harsh), "
                 "optionally with NAME=RATE overrides, e.g. training,one_typo=0.2")] = "training",
        eval_error: Annotated[str, typer.Option(help="error model of the requests scored, the same way")]
        = "default",
        cedula: Annotated[str, typer.Option(
            help="cédulas in the requests scored: model (as the error model says), half, none, or both "
                 "(two runs, figures for each and the targets)")] = "model",
        em: Annotated[bool, typer.Option(help="also train by EM without labels and score that model")] = False,
        backend: Annotated[str, typer.Option(help="the engine that links: duckdb or spark")] = "duckdb",
        prepared: Annotated[str | None, typer.Option(
            help="folder of the prepared registry: prepared there once (timed), then linked from there "
                 "(the Spark backend always links a prepared registry)")] = None,
        spark_master: Annotated[str, typer.Option(help="Spark master URL, e.g. local[2]")] = "local[*]",
    ) -> None:
        """Identity verification by record linkage against a synthetic registry."""
        from retorno.benchmarks.linkage import BACKENDS, CEDULA_VARIANTS, run
        from retorno.config import Settings
        from retorno.synthetic.registry import SHAPES, error_model
        from retorno.verification.linkage import Thresholds

        config = Settings.from_env(resolve=False)
        try:
            thresholds = Thresholds.from_settings(config, upper=upper, lower=lower)
            error_model(train_error), error_model(eval_error)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        if shape != "all" and shape not in SHAPES:
            raise typer.BadParameter(f"unknown shape {shape!r}; shapes: {', '.join(SHAPES)}, or all")
        if backend not in BACKENDS:
            raise typer.BadParameter(f"--backend is one of {', '.join(BACKENDS)}")
        if prepared is not None and shape == "all":
            raise typer.BadParameter("--prepared holds one registry: give one --shape")
        if cedula not in CEDULA_VARIANTS:
            raise typer.BadParameter(f"--cedula is one of {', '.join(CEDULA_VARIANTS)}")
        shapes = list(SHAPES) if shape == "all" else [shape]
        figures = {name: run(registry=registry, requests=requests, seed=seed, work_dir=work_dir,
                             memory_limit=memory_limit, thresholds=thresholds, shape=name, train_error=train_error,
                             eval_error=eval_error, cedula=cedula, em=em, backend=backend, prepared_dir=prepared,
                             spark_master=spark_master) for name in shapes}
        print_figures(figures[shape] if shape != "all" else {"shapes": figures})

    @bench_app.command("import")
    def bench_import(rows: int = 100_000, seed: int = 1, database_url: DatabaseUrl = None,
                     bad_row: Annotated[bool, typer.Option(help="put one bad row in the middle")] = False,
                     fmt: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv") -> None:
        """Check and import a generated case list into a fresh database (the audit chain verified after)."""
        from retorno.benchmarks.case_import import run
        if fmt not in ("csv", "xlsx"):
            raise typer.BadParameter("--format is csv or xlsx")
        print_figures(run(settings(database_url), rows=rows, seed=seed, bad_row=bad_row,
                          fmt=fmt))  # type: ignore[arg-type]  # checked just above

    @bench_app.command("pages")
    @bench_app.command("web", hidden=True)
    def bench_pages(cases: int = 100_000, repeat: int = 30, seed: int = 1, database_url: DatabaseUrl = None,
                    reuse: Annotated[bool, typer.Option(
                        help="time the pages over the database given, filled by an earlier run of as many cases, "
                             "without emptying it")] = False) -> None:
        """Server time of each official's main pages over a fresh database of `cases` cases (p95 ≤ 200 ms;
        ≤ 100 ms from 500,000 cases)."""
        from retorno.benchmarks.work_pages import run
        if reuse and database_url is None:
            raise typer.BadParameter("--reuse needs --database-url: the database an earlier run filled")
        try:
            figures = run(settings(database_url), cases=cases, repeat=repeat, seed=seed, reuse=reuse)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        print_figures(figures)

    @bench_app.command("load")
    def bench_load(
        cases: int = 100_000, users: int = 50,
        duration: Annotated[int, typer.Option(min=1, help="seconds the officials work")] = 120,
        database_url: Annotated[str | None, typer.Option(
            "--database-url", help="a PostgreSQL database to empty and use (default: a fresh database "
                                   "retorno_bench_load on 127.0.0.1:5432 as postgres, dropped after)")] = None,
        workers: Annotated[int, typer.Option(min=1, help="worker processes of `retorno serve`")] = 2,
        spawn_rate: Annotated[float | None, typer.Option(help="officials started per second (default users/5)")]
        = None,
        wait: Annotated[str, typer.Option(help="seconds an official waits between two actions: LOW,HIGH")]
        = "0.5,2",
        seed: int = 1,
        keep: Annotated[bool, typer.Option(help="keep the default database after the run")] = False,
        reuse: Annotated[bool, typer.Option(help="build the world once (kept as retorno_bench_load_world for two "
                                                 "hours) and run on a fresh copy of it each time")] = False,
    ) -> None:
        """Officials of every role at once against `retorno serve` over loopback HTTP, driven by Locust."""
        from retorno.benchmarks.load import print_load, run
        try:
            low, high = (float(x) for x in wait.split(","))
        except ValueError as exc:
            raise typer.BadParameter("--wait is LOW,HIGH in seconds, e.g. 0.5,2") from exc
        figures = run(database_url, cases=cases, users=users, duration=duration, spawn_rate=spawn_rate,
                      wait=(low, high), workers=workers, seed=seed, keep=keep, reuse=reuse, progress=typer.echo)
        print_load(figures, typer.echo)
        print_figures(figures)
        if figures["errors"] or not figures["invariants_ok"]:
            raise typer.Exit(1)
