"""`retorno verify` (run on the receiving side) and `retorno synth` (synthetic registries and requests)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from retorno.cli.common import (
    ActAs,
    DatabaseUrl,
    acting_user,
    console,
    err_console,
    refusals,
    settings,
    unit_of_work,
)
from retorno.errors import InvalidInput

verify_app = typer.Typer(help="Identity and nationality verification against the receiving side's registry.")
linkers_app = typer.Typer(help="The linking machines whose signed decisions files import as linkage's.")
synth_app = typer.Typer(help="Synthetic registries and verification requests with a stated error model.",
                        no_args_is_help=True)
# Expectation maximisation needs enough requests to tell matches from non-matches.
EM_MINIMUM = 200



def register(app: typer.Typer) -> None:
    verify_app.add_typer(linkers_app, name="linkers")
    app.add_typer(verify_app, name="verify")
    app.add_typer(synth_app, name="synth")


@contextmanager
def _refusals() -> Iterator[None]:
    """Turn a refusal into one clear line (and every bad line of a file) with exit code 2; any other refusal is
    told as every command tells it (`common.refusals`: redacted for the acting official)."""
    from retorno.verification.exchange import DecisionFileError
    from retorno.verification.sources import RegistryFileError
    with refusals():
        try:
            yield
        except DecisionFileError as exc:
            err_console.print(f"[red]nothing imported[/red]: {len(exc.problems)} bad lines")
            for number, problem in exc.problems:
                err_console.print(f"  line {number}: {problem}")
            raise typer.Exit(2) from exc
        except RegistryFileError as exc:
            kinds = ", ".join(f"{kind}: {count}" for kind, count in exc.counts.items())
            err_console.print(f"[red]nothing linked or prepared[/red]: {exc.path} has {exc.total} "
                              f"problem{'s' if exc.total > 1 else ''} ({kinds})"
                              + (f"; the first {len(exc.problems)}:" if exc.total > len(exc.problems) else ":"))
            for number, problem in exc.problems:
                err_console.print(f"  line {number}: {problem}")
            raise typer.Exit(2) from exc


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err_console)


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table("verificados / verified", "a revisión / review", "no encontrados / not found",
                  "omitidos / skipped")
    table.add_row(*(str(summary[name]) for name in ("verified", "review", "not_found", "skipped")))
    console.print(table)


@verify_app.callback(invoke_without_command=True)
def verify(
    ctx: typer.Context,
    registry: Annotated[str | None, typer.Option(
        help="the registry: a Parquet or CSV file, or a database table as URL#TABLE")] = None,
    model: Annotated[Path | None, typer.Option(
        help="the trained linkage model (JSON); default: verification-model.json in the data directory")] = None,
    train: Annotated[bool, typer.Option("--train", help="train the model on the registry first and save it "
                                        "(prints the weight table; a model that breaks its rules is not saved)")]
    = False,
    em: Annotated[bool, typer.Option("--em", help="then re-estimate it by expectation maximisation on the "
                                     f"requests being linked, without labels (at least {EM_MINIMUM} of them)")]
    = False,
    from_decisions: Annotated[bool, typer.Option("--from-decisions", help="then learn from the officers' own "
                                                 "decisions on this authority's cases, as labels")] = False,
    upper: Annotated[float | None, typer.Option(
        help="at or above this match probability: verified (default: RETORNO_VERIFICATION_UPPER, else 0.997)")] = None,
    lower: Annotated[float | None, typer.Option(
        help="below this match probability: not found (default: RETORNO_VERIFICATION_LOWER, else 0.05)")] = None,
    national_share: Annotated[float | None, typer.Option(
        help="share of requests expected to be nationals, the prior of the match probability "
             "(default: RETORNO_VERIFICATION_NATIONAL_SHARE, else 0.9)")] = None,
    requests: Annotated[Path | None, typer.Option(
        help="offline: an exported requests file (JSON lines) instead of the service's database")] = None,
    decisions_out: Annotated[Path | None, typer.Option(
        help="offline: where to write the decisions file to import on the service")] = None,
    include_review: Annotated[bool, typer.Option(help="also link again requests already sent to review")]
    = False,
    work_dir: Annotated[Path | None, typer.Option(
        help="scratch folder on disk for registries that do not fit in memory")] = None,
    memory_limit: Annotated[str | None, typer.Option(help="memory limit of the linkage engine, e.g. 4GB")] = None,
    backend: Annotated[str, typer.Option(help="the engine that scores the pairs: duckdb (this machine), or spark "
                                         "(a prepared registry; see --spark-master)")] = "duckdb",
    spark_master: Annotated[str, typer.Option(help="Spark master URL: local[*], spark://HOST:7077, yarn, "
                                              "k8s://...")] = "local[*]",
    spark_conf: Annotated[list[str] | None, typer.Option(help="a Spark setting KEY=VALUE, repeatable, e.g. "
                                                         "spark.executor.memory=8g")] = None,
    spark_checkpoint_dir: Annotated[str | None, typer.Option(
        help="where Splink writes its intermediate tables on a cluster (storage every executor reaches)")] = None,
    act_as: ActAs = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Link the cases awaiting verification to the registry and record a decision for each.

    Above the upper threshold a case is verified (with the registry record it matched), below
    the lower one it is not found, in between it goes to the review queue. The registry stays
    here: only decisions are written. Subcommands: export-requests, import-decisions, sample,
    calibration.
    """
    if ctx.invoked_subcommand is not None:
        return
    if registry is None:
        console.print(ctx.get_help())
        err_console.print("[red]error[/red]: say which registry to verify against with --registry")
        raise typer.Exit(2)
    if (requests is None) != (decisions_out is None):
        raise typer.BadParameter("--requests and --decisions-out go together (the offline path)")
    from retorno.verification.linkage import Thresholds

    config = settings(database_url)
    try:
        thresholds = Thresholds.from_settings(config, upper=upper, lower=lower, national_share=national_share)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if from_decisions and requests is not None:
        raise typer.BadParameter("--from-decisions reads the service's decisions: not with --requests")
    model_path = model or config.data_dir / "verification-model.json"
    training = Training(train, em, from_decisions)
    engine = _engine(backend, spark_master, spark_conf or [], spark_checkpoint_dir)
    with _refusals():
        if requests is not None and decisions_out is not None:
            summary = _verify_offline(registry, model_path, training, thresholds, requests, decisions_out,
                                      work_dir, memory_limit, engine)
        else:
            summary = _verify_online(registry, model_path, training, thresholds, include_review, work_dir,
                                     memory_limit, act_as, database_url, engine)
    _print_summary(summary)


def _engine(backend: str, master: str, conf: list[str], checkpoint_dir: str | None) -> Any:
    """The engine that scores the pairs: None for DuckDB, a `spark.SparkEngine` for Spark."""
    if backend == "duckdb":
        return None
    if backend != "spark":
        raise typer.BadParameter(f"--backend is duckdb or spark, not {backend!r}")
    if importlib.util.find_spec("pyspark") is None:  # an optional extra
        raise typer.BadParameter("the Spark backend needs PySpark: pip install 'retorno[spark]'")
    from retorno.verification.spark import SparkEngine

    spark_settings = {}
    for item in conf:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"--spark-conf takes KEY=VALUE, not {item!r}")
        spark_settings[name.strip()] = value.strip()
    return SparkEngine(master=master, conf=spark_settings, checkpoint_dir=checkpoint_dir)


@dataclass(frozen=True)
class Training:
    """What to train before linking: from the synthetic error model, then by EM, then from decisions."""

    synthetic: bool = False
    em: bool = False
    from_decisions: bool = False
    labels: tuple[tuple[dict[str, Any], ...], int] | None = None


def _print_weights(weights: dict[str, dict[str, float | None]],
                   before: dict[str, dict[str, float | None]] | None = None) -> None:
    """The model's weight table (bits), with the weights before this training where there were some."""
    columns = ["comparación / comparison", "nivel / level", "peso / weight"]
    table = Table(*columns, *(["antes / before"] if before else []), title="pesos del modelo / model weights")
    for comparison, levels in weights.items():
        for level, value in levels.items():
            row = [comparison, level, "" if value is None else f"{value:+.2f}"]
            if before:
                old = before.get(comparison, {}).get(level)
                row.append("" if old is None else f"{old:+.2f}")
            table.add_row(*row)
    console.print(table)


def _train(training: Training, identities: list[dict[str, Any]], registry_path: Path, model_path: Path,
           thresholds: Any, progress: Progress) -> None:
    """Train as asked and print the weight table after each step."""
    from retorno.errors import NotFound
    from retorno.verification import jobs, linkage

    if training.synthetic:
        task = progress.add_task(f"training the model on {registry_path.name}", total=None)
        model_path.parent.mkdir(parents=True, exist_ok=True)
        _print_weights(linkage.train(registry_path, model_path)["match_weights"])
        progress.update(task, total=1, completed=1)
    elif not model_path.is_file():
        raise NotFound("no linkage model at %(model_path)s: train one with --train (or give --model)",
                       model_path=model_path)
    if training.em:
        if len(identities) < EM_MINIMUM:
            err_console.print(f"EM skipped: {len(identities)} requests to learn from, fewer than {EM_MINIMUM}")
        else:
            task = progress.add_task(f"EM on {len(identities)} requests", total=None)
            learned = linkage.train_em(registry_path, jobs.link_rows(identities), model_path, start_model=model_path,
                                       national_share=thresholds.national_share)
            progress.update(task, total=1, completed=1)
            console.print(f"EM: {learned['sessions']} sessions on {learned['requests']} requests")
            _print_weights(learned["match_weights"], learned["weights_before"])
    if training.labels is not None:
        labels, decisions = training.labels
        if not labels:
            err_console.print(f"no officer's decision to learn from ({decisions} decisions, none a verification "
                              "of an unchanged identity): model kept")
            return
        task = progress.add_task(f"learning from {len(labels)} decisions", total=None)
        learned = linkage.train_from_labels(registry_path, list(labels), model_path, start_model=model_path)
        progress.update(task, total=1, completed=1)
        console.print(f"decisions used: {learned['labelled_pairs']} of {decisions} "
                      f"({learned['labelled_pairs'] / max(decisions, 1):.0%})")
        _print_weights(learned["match_weights"], learned["weights_before"])


def _linked(identities: list[dict[str, Any]], registry: str, model_path: Path, training: Training, thresholds: Any,
            work_dir: Path | None, memory_limit: str | None, progress: Progress, engine: Any = None
            ) -> list[dict[str, Any]]:
    """Train if asked, link the identities, and return one decision document per request."""
    return _linked_from(identities, registry, model_path, training, thresholds, work_dir, memory_limit, progress,
                        engine)[0]


def _linked_from(identities: list[dict[str, Any]], registry: str, model_path: Path, training: Training,
                 thresholds: Any, work_dir: Path | None, memory_limit: str | None, progress: Progress,
                 engine: Any = None, *, identify: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """`_linked`, and with `identify` what identifies the registry it linked against (`jobs.registry_identity`)."""
    from retorno.verification import jobs, linkage

    with jobs.registry_file(registry, work_dir) as registry_path:
        if registry_path.is_dir() and (training.synthetic or training.em or training.labels is not None):
            raise InvalidInput("training reads the registry's own file, not a prepared folder: train with "
                               "--registry SOURCE, then link with --registry %(prepared)s",
                               code="train_on_source", prepared=registry_path)
        _train(training, identities, registry_path, model_path, thresholds, progress)
        identity = jobs.registry_identity(registry, registry_path) if identify else None
        if not identities:
            return [], identity
        task = progress.add_task(f"linking {len(identities)} requests to the registry", total=None)
        decisions = linkage.link(jobs.link_rows(identities), registry_path, model_path, thresholds,
                                 work_dir=work_dir, memory_limit=memory_limit, engine=engine)
        progress.update(task, total=len(identities), completed=len(identities))
    cases = {row["request"]: row.get("case") for row in identities}
    return [jobs.decision_document(decision, cases[decision.request_id]) for decision in decisions], identity


def _verify_offline(registry: str, model_path: Path, training: Training, thresholds: Any, requests: Path,
                    decisions_out: Path, work_dir: Path | None, memory_limit: str | None, engine: Any
                    ) -> dict[str, Any]:
    from retorno.verification import linkers
    from retorno.verification.exchange import read_requests, write_decisions

    identities = read_requests(requests)
    with _progress() as progress:
        documents = _linked(identities, registry, model_path, training, thresholds, work_dir, memory_limit,
                            progress, engine)
    # Each line signed with this machine's linking key: the service imports it as linkage's only so (`linkers`).
    key = linkers.key_file(settings(None))
    documents = [linkers.sign(document, key) for document in documents]
    partial = decisions_out.with_name(decisions_out.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        write_decisions(documents, out)
    partial.replace(decisions_out)
    console.print(f"{len(documents)} decisions written to {decisions_out}, signed by linker {key.public().key_id}; "
                  f"import them on the service with `retorno verify import-decisions {decisions_out.name}` (a "
                  "supervisor there trusts this linker once: `retorno verify linker-key` prints its key)")
    counts = {outcome: sum(d["outcome"] == outcome for d in documents) for outcome in ("verified", "review",
                                                                                       "not_found")}
    return {**counts, "skipped": 0}


def _verify_online(registry: str, model_path: Path, training: Training, thresholds: Any, include_review: bool,
                   work_dir: Path | None, memory_limit: str | None, act_as: str | None,
                   database_url: str | None, engine: Any) -> dict[str, Any]:
    from retorno.verification import jobs

    config = settings(database_url)
    # Reading, linking and recording are separate: no transaction stays open while the registry is linked.
    with unit_of_work(config) as session:
        actor = acting_user(session, act_as)
        identities = [jobs.identity(request, case)
                      for request, case in jobs.open_requests(session, actor, include_review=include_review)]
        if training.from_decisions:
            labels, decisions = jobs.decision_labels(session, actor)
            training = replace(training, labels=(tuple(labels), decisions))
    with _progress() as progress:
        documents, registry_identity = _linked_from(identities, registry, model_path, training, thresholds,
                                                    work_dir, memory_limit, progress, engine, identify=True)
        task = progress.add_task("recording decisions", total=len(documents))
        run = jobs.new_run()
        with unit_of_work(config) as session:
            actor = acting_user(session, act_as)
            summary = jobs.record_linkage(session, actor, documents,
                                          progress=lambda n: progress.advance(task, n), run=run)
            # The run's own audit record, in the transaction of the decisions it recorded (each names it).
            jobs.record_console_run(session, actor, run, command="verify", summary=summary,
                                    registry=registry_identity, model=jobs.file_identity(model_path),
                                    options={"include_review": include_review, "upper": thresholds.upper,
                                             "lower": thresholds.lower, "national_share": thresholds.national_share,
                                             "train": training.synthetic, "em": training.em,
                                             "from_decisions": training.labels is not None,
                                             "backend": "duckdb" if engine is None else "spark"})
    console.print(f"run {run}")
    for reference, why in summary.skipped:
        err_console.print(f"skipped {reference}: {why}")
    return summary.as_dict()


@verify_app.command("prepare")
def prepare_command(
    out: Annotated[Path, typer.Option(help="the prepared registry's folder (created, or the one to update)")],
    registry: Annotated[Path | None, typer.Option(
        help="the registry to prepare: a Parquet or CSV file with registry_id and the identity fields "
             "(and death_date for the deceased)")] = None,
    update: Annotated[Path | None, typer.Option(
        help="a file of new, changed and deceased records (by registry_id) to apply to the prepared folder")]
    = None,
    partitions: Annotated[int | None, typer.Option(min=1, max=256, help="partitions (default: one per 500,000 "
                                                   "people)")] = None,
    memory_limit: Annotated[str | None, typer.Option(help="memory limit of the preparation, e.g. 8GB")] = None,
) -> None:
    """Normalise the registry once into partitioned Parquet that `retorno verify --registry DIR` links against.

    With --update, apply a change file and rewrite only the partitions it touches.
    """
    from retorno.verification import prepared

    if (registry is None) == (update is None):
        raise typer.BadParameter("give either --registry SOURCE (prepare) or --update CHANGES (refresh)")
    with _refusals():
        if registry is not None:
            with console.status(f"preparing {registry}…"):
                figures = prepared.prepare(registry, out, partitions=partitions, memory_limit=memory_limit)
            console.print(f"{figures['rows']:,} people ({figures['deceased']:,} deceased) prepared in "
                          f"{figures['partitions']} partitions at {out}: {figures['seconds']} s, "
                          f"{figures['disk_bytes'] / 1e6:.1f} MB")
        elif update is not None:
            with console.status(f"applying {update}…"):
                figures = prepared.update(out, update, memory_limit=memory_limit)
            console.print(f"{figures['new']:,} new, {figures['changed']:,} changed, {figures['deceased_reported']:,} "
                          f"reported deceased; {figures['partitions_rewritten']} of {figures['partitions']} "
                          f"partitions rewritten in {figures['seconds']} s; {figures['rows']:,} people now")
    console.print(json.dumps(figures))


@verify_app.command("export-requests")
def export_requests_command(
    out: Annotated[Path, typer.Option(help="the requests file to write (JSON lines)")],
    include_review: Annotated[bool, typer.Option(help="also export requests already sent to review")] = False,
    act_as: ActAs = None, database_url: DatabaseUrl = None,
) -> None:
    """Export the requests addressed to your authority, for an installation offline from the service."""
    from retorno.verification.exchange import export_requests

    with _refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        partial = out.with_name(out.name + ".partial")
        with partial.open("w", encoding="utf-8") as handle:
            count = export_requests(session, actor, handle, include_review=include_review)
        partial.replace(out)
    console.print(f"{count} requests written to {out}")


@verify_app.command("import-decisions")
def import_decisions_command(
    file: Annotated[Path, typer.Argument(help="a decisions file written by `retorno verify --decisions-out`")],
    act_as: ActAs = None, database_url: DatabaseUrl = None,
) -> None:
    """Record the decisions of a file; a file with any bad line records nothing and lists every bad line."""
    from retorno.verification import jobs, linkers
    from retorno.verification.exchange import import_decisions

    run = jobs.new_run()
    config = settings(database_url)
    with _refusals(), unit_of_work(config) as session, file.open(encoding="utf-8") as lines:
        actor = acting_user(session, act_as)
        read = list(lines)
        summary = import_decisions(session, actor, read, run=run, own_linker=linkers.own_key(config))
        # The run's own audit record, in the transaction of the decisions it recorded (each names it): the file, by
        # its digest, and the linkers that signed it; the registry and model stayed with the offline installation.
        jobs.record_console_run(session, actor, run, command="verify import-decisions", summary=summary,
                                decisions_file=jobs.file_identity(file) | {"linkers": linkers.signers(read)})
    console.print(f"run {run}")
    _print_summary(summary.as_dict())


@verify_app.command("linker-key")
def linker_key_command() -> None:
    """Print this machine's linking key (created on first use): a supervisor of the service trusts it with
    `retorno verify linkers add`, and the decisions files linked here then import as linkage's."""
    from retorno.verification import linkers

    key = linkers.key_file(settings(None)).public()
    console.print(f"linker {key.key_id}")
    console.print(key.text, soft_wrap=True)


@linkers_app.command("add")
def linkers_add(
    public_key: Annotated[str, typer.Argument(help="the key `retorno verify linker-key` prints on the linking "
                                                   "machine")],
    name: Annotated[str, typer.Option(help="which machine it is, where it runs, who keeps it")],
    act_as: ActAs = None, database_url: DatabaseUrl = None,
) -> None:
    """Trust a linking machine: its signed decisions files import as linkage's (a supervisor; audited)."""
    from retorno.verification import linkers

    with _refusals(), unit_of_work(settings(database_url)) as session:
        linker = linkers.trust_linker(session, acting_user(session, act_as), public_key, name)
        console.print(f"linker {linker.key_id} ({linker.name}) trusted")


@linkers_app.command("list")
def linkers_list(act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """The linking machines your authority trusts, and those it revoked."""
    from retorno.verification import linkers

    config = settings(database_url)
    with _refusals(), unit_of_work(config) as session:
        table = Table("clave / key", "nombre / name", "confiada / trusted", "revocada / revoked")
        for linker in linkers.trusted_linkers(session, acting_user(session, act_as)):
            table.add_row(linker.key_id, linker.name, linker.trusted_at.isoformat(timespec="minutes"),
                          linker.revoked_at.isoformat(timespec="minutes") if linker.revoked_at else "")
    console.print(table)
    own = linkers.own_key(config)
    if own is not None:
        console.print(f"and this installation's own linking key, {own.key_id}")


@linkers_app.command("revoke")
def linkers_revoke(
    key_id: Annotated[str, typer.Argument(help="the linker's key id, as `retorno verify linkers list` shows it")],
    reason: Annotated[str, typer.Option(help="why it is no longer trusted (lost, replaced, compromised)")],
    act_as: ActAs = None, database_url: DatabaseUrl = None,
) -> None:
    """Stop trusting a linking machine: its files no longer import (a supervisor; audited)."""
    from retorno.verification import linkers

    with _refusals(), unit_of_work(settings(database_url)) as session:
        linker = linkers.revoke_linker(session, acting_user(session, act_as), key_id, reason)
        console.print(f"linker {linker.key_id} ({linker.name}) revoked")


@verify_app.command("sample")
def sample_command(
    share: Annotated[float, typer.Option(help="share of the auto-verified decisions to draw, e.g. 0.05")] = 0.05,
    seed: Annotated[int, typer.Option(help="the draw's seed, to reproduce it")] = 1,
    act_as: ActAs = None, database_url: DatabaseUrl = None,
) -> None:
    """Draw auto-verified decisions for a person to re-check (the draw is on the audit trail)."""
    from retorno.verification.service import sample_for_audit

    with _refusals(), unit_of_work(settings(database_url)) as session:
        drawn = sample_for_audit(session, acting_user(session, act_as), share, seed)
        table = Table("caso / case", "solicitud / request", "registro / record", "probabilidad / probability",
                      "decidido / decided")
        for decision, request, case in drawn:
            table.add_row(case.reference, request.reference, decision.registry_record or "",
                          f"{decision.match_probability:.4f}" if decision.match_probability is not None else "",
                          decision.decided_at.isoformat(timespec="minutes"))
    console.print(table)
    console.print(f"{len(drawn)} decisions drawn for a re-check")


@verify_app.command("calibration")
def calibration_command(
    last: Annotated[int, typer.Option(min=1, help="the last N requests a person decided after a proposal")] = 500,
    bins: Annotated[int, typer.Option(min=1, max=50, help="probability bins")] = 10,
    max_ece: Annotated[float, typer.Option(help="above this expected calibration error the model has drifted")]
    = 0.05,
    act_as: ActAs = None, database_url: DatabaseUrl = None,
) -> None:
    """Compare the model's match probabilities with the officers' review decisions: is it time to retrain?"""
    from retorno.verification.calibration import MIN_OUTCOMES, calibration, drifted
    from retorno.verification.jobs import calibration_outcomes

    with _refusals(), unit_of_work(settings(database_url)) as session:
        outcomes = calibration_outcomes(session, acting_user(session, act_as), last=last)
    report = calibration(outcomes, bins)
    table = Table("probabilidad / probability", "casos / cases", "media / mean", "verificados / verified")
    for row in report.bins:
        table.add_row(f"{row.low:.1f}–{row.high:.1f}", str(row.count), f"{row.mean_probability:.3f}",
                      f"{row.observed:.3f}")
    console.print(table)
    console.print(f"{report.count} decisions; Brier score {report.brier:.4f}; "
                  f"expected calibration error {report.ece:.4f} (limit {max_ece})")
    verdict = drifted(report, max_ece)
    if verdict is None:
        console.print(f"too few decisions to tell (fewer than {MIN_OUTCOMES})")
    elif verdict:
        console.print("[red]the model has drifted[/red]: retrain it (retorno verify --train, with --em or "
                      "--from-decisions)")
    else:
        console.print("the model is calibrated")


def _error_rates(values: list[str]) -> dict[str, float]:
    rates: dict[str, float] = {}
    for value in values:
        name, sep, rate = value.partition("=")
        try:
            rates[name.strip()] = float(rate)
        except ValueError:
            sep = ""
        if not sep:
            raise typer.BadParameter(f"--error takes NAME=RATE, e.g. one_typo=0.3, not {value!r}")
    return rates


def _write(path: Path, write_parquet: Callable[[Path], Path]) -> None:
    """Write Parquet, or CSV when the path ends in .csv (through a Parquet file next to it)."""
    if path.suffix.lower() != ".csv":
        write_parquet(path)
        return
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    scratch = path.with_name(path.name + ".parquet.partial")
    try:
        write_parquet(scratch)
        pacsv.write_csv(pq.read_table(scratch), path)
    finally:
        scratch.unlink(missing_ok=True)


def _shape(name: str) -> str:
    from retorno.synthetic.registry import SHAPES

    if name not in SHAPES:
        raise typer.BadParameter(f"unknown shape {name!r}; shapes: {', '.join(SHAPES)}")
    return name


@synth_app.command("registry")
def synth_registry(size: Annotated[int, typer.Option(min=1, help="number of people")],
                   out: Annotated[Path, typer.Option(help="file to write (.parquet, or .csv)")],
                   seed: int = 1,
                   shape: Annotated[str, typer.Option(help="venezuelan, single-surname, sparse or swapped")]
                   = "venezuelan") -> None:
    """Write a synthetic civil registry drawn from the reference population."""
    from retorno.synthetic.registry import make_registry

    shape = _shape(shape)
    with console.status(f"drawing {size:,} people…"):
        _write(out, lambda path: make_registry(size, seed, path, shape))
    console.print(f"registry of {size:,} people ({shape}) written to {out}")


@synth_app.command("requests")
def synth_requests(
    size: Annotated[int, typer.Option(min=1, help="number of requests")],
    registry: Annotated[Path, typer.Option("--from", help="the registry to draw people from (Parquet)")],
    out: Annotated[Path, typer.Option(help="file to write (.parquet, or .csv)")],
    seed: int = 1,
    error: Annotated[list[str] | None, typer.Option(
        help="an error rate NAME=RATE, repeatable (e.g. --error one_typo=0.3); see ErrorModel")] = None,
    errors: Annotated[str, typer.Option(help="the error model the rates start from: default, training, "
                                        "shifted or harsh")] = "default",
    shape: Annotated[str, typer.Option(help="the registry's shape (venezuelan, single-surname, sparse, "
                                       "swapped)")] = "venezuelan",
) -> None:
    """Write verification requests drawn from a registry, corrupted as sending-side lists are."""
    from dataclasses import asdict, replace

    from retorno.synthetic.registry import ERROR_MODELS, ErrorModel, make_requests

    rates = _error_rates(error or [])
    known = asdict(ErrorModel())
    unknown = sorted(set(rates) - set(known))
    if unknown:
        raise typer.BadParameter(f"unknown error rates {', '.join(unknown)}; known: {', '.join(known)}")
    if errors not in ERROR_MODELS:
        raise typer.BadParameter(f"unknown error model {errors!r}; presets: {', '.join(ERROR_MODELS)}")
    shape = _shape(shape)
    try:
        model = replace(ERROR_MODELS[errors], **rates)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    with console.status(f"drawing {size:,} requests…"):
        _write(out, lambda path: make_requests(registry, size, seed, model, path, shape))
    console.print(f"{size:,} requests written to {out}; error model: {json.dumps(asdict(model))}")
