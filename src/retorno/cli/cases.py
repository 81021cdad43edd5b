"""Operator commands for one case: show, screen, resolve, request verification, documents, and the MRZ checker."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from retorno.cli.common import (
    ActAs,
    DatabaseUrl,
    acting_user,
    console,
    err_console,
    key_value_table,
    refusals,
    settings,
    unit_of_work,
)

cases_app = typer.Typer(help="One case: show it, screen it, resolve a concern, request verification.",
                        no_args_is_help=True)
documents_app = typer.Typer(help="Travel documents: file an MRZ, issue an emergency travel document, withdraw one "
                                 "filed in error.",
                            no_args_is_help=True)
mrz_app = typer.Typer(help="ICAO Doc 9303 machine readable zones.", no_args_is_help=True)

def register(app: typer.Typer) -> None:
    app.add_typer(cases_app, name="cases")
    app.add_typer(documents_app, name="documents")
    app.add_typer(mrz_app, name="mrz")


@cases_app.command("show")
def show(reference: str, act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Show a case as your agency may see it, with its travel documents."""
    from retorno.agencies.permissions import can
    from retorno.cases.schemas import case_out
    from retorno.cases.service import get_case
    from retorno.documents.service import documents_of, standing

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        case = get_case(session, actor, reference)
        console.print(key_value_table(f"caso / case {case.reference}", case_out(actor, case).model_dump()))
        documents = documents_of(session, actor, case) if can(actor, "document.read") else []
        if documents:
            table = Table("id", "documento / document", "tipo / type", "vence / expires", "válido / valid",
                          "problemas / problems")
            for document in documents:
                usable, found = standing(document, case)
                valid = ("no: retirado / withdrawn" if document.withdrawn_at is not None
                         else "sí / yes" if usable else "no")
                problems = [p["message"] for p in found]
                if document.withdrawn_at is not None:
                    problems.append(f"withdrawn {document.withdrawn_at:%Y-%m-%d %H:%M} UTC: "
                                    f"{document.withdrawn_reason}")
                table.add_row(str(document.id), escape(document.number), document.document_type,
                              str(document.expiry_date or ""), valid, escape("; ".join(problems)))
            console.print(table)


@cases_app.command("screen")
def screen(reference: str,
           concern: Annotated[list[str] | None, typer.Option(
               help="a protection concern (repeatable); none means cleared")] = None,
           notes: Annotated[str | None, typer.Option(help="the screening officer's notes")] = None,
           medical_escorts: Annotated[int, typer.Option(help="medical escorts the person's condition needs")] = 0,
           reason: Annotated[str | None, typer.Option(
               help="a supervisor's written reason, to lower the medical escorts the person needs")] = None,
           act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Record a protection screening; any concern blocks travel until a supervisor resolves it."""
    from retorno.cases.service import get_case
    from retorno.travel.service import departed_on, record_screening

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        case = get_case(session, actor, reference)
        screening = record_screening(session, actor, case, concerns=concern or [], notes=notes,
                                     medical_escorts=medical_escorts, reason=reason)
        outcome = f"concerns: {', '.join(screening.concerns)}" if screening.concerns else "cleared"
        console.print(f"case [bold]{case.reference}[/bold] screened ({outcome}); state {case.state}")
        flown = departed_on(session, case)
        if flown is not None:
            console.print(f"flight {flown} had departed: the concern is recorded, open on the case, but takes "
                          "nobody off a flown flight; pass it on to protection")


@cases_app.command("resolve")
def resolve(reference: str,
            decision: Annotated[str, typer.Option(
                help="travel_permitted (the concerns closed, the person may travel) or withdrawn (the case withdrawn "
                     "from return; its concerns stay open and hold the person's other records)")],
            reason: Annotated[str, typer.Option(help="the supervisor's written reason")],
            concern: Annotated[list[str] | None, typer.Option(
                help="an open concern this resolution closes (repeat; needed when several are open)")] = None,
            reverses_withdrawal: Annotated[bool, typer.Option(
                help="travel_permitted on a case a 'withdrawn' resolution withdrew: reverses that decision")] = False,
            act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """A supervisor's written resolution of open protection concerns."""
    from retorno.cases.service import get_case
    from retorno.screening.service import resolve_screening

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        case = get_case(session, actor, reference)
        resolve_screening(session, actor, case, decision=decision, reason=reason, concerns=concern or None,
                          reverses_withdrawal=reverses_withdrawal)
        console.print(f"case [bold]{case.reference}[/bold]: {decision}; state {case.state}")


@cases_app.command("decide-duplicate")
def decide_duplicate(reference: str,
                     other: Annotated[str, typer.Argument(help="the other record of the possible duplicate, or the "
                                                               "flag's number among the case's flags (1 for the "
                                                               "oldest) when another country's agency holds it")],
                     decision: Annotated[str, typer.Option(help="same_person or different_people")],
                     reason: Annotated[str, typer.Option(help="the supervisor's written reason")],
                     act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """A supervisor's written decision on a possible duplicate: one person or two."""
    from retorno.cases.service import get_case
    from retorno.travel.duplicates import decide_duplicate as decide

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        case = get_case(session, actor, reference)
        pair = decide(session, actor, case, other, decision=decision, reason=reason)
        if pair.decision is None:
            console.print(f"case [bold]{case.reference}[/bold] / {escape(other)}: {decision} said by your agency; a "
                          "supervisor of the agency holding the other record decides")
        else:
            console.print(f"case [bold]{case.reference}[/bold] / {escape(other)}: {decision}; state {case.state}")


@cases_app.command("request-verification")
def request_verification(reference: str, act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Ask the receiving authority to verify the person's identity and nationality."""
    from retorno.cases.service import get_case
    from retorno.verification.service import request_verification as request

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        case = get_case(session, actor, reference)
        sent = request(session, actor, case)
        console.print(f"verification request [bold]{sent.reference}[/bold] sent; case {case.reference} is "
                      f"{case.state}")


def _read_text(path: Path | None) -> str:
    """The text of a file, or of standard input when the path is '-' or missing."""
    if path is None or str(path) == "-":
        return sys.stdin.read()
    return path.read_text(encoding="utf-8")


@documents_app.command("add")
def add_document(reference: str,
                 mrz_file: Annotated[Path | None, typer.Option(help="a file holding the MRZ ('-' for stdin)")]
                 = None,
                 mrz: Annotated[str | None, typer.Option(help="the MRZ itself, lines separated by a newline")] = None,
                 act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """File a travel document from its machine readable zone; every problem found is shown and kept."""
    from retorno.agencies.visibility import state_of
    from retorno.cases.service import get_case
    from retorno.travel.service import add_document as add

    if (mrz_file is None) == (mrz is None):
        raise typer.BadParameter("give exactly one of --mrz-file and --mrz")
    text = mrz if mrz is not None else _read_text(mrz_file)
    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        case = get_case(session, actor, reference)
        document = add(session, actor, case, mrz_text=text)
        verdict = "[green]valid[/green]" if document.mrz_valid else "[red]not valid[/red]"
        console.print(f"document {document.number} filed for case {case.reference}: {verdict}; "
                      f"case state {state_of(actor, case)}")
        for problem in document.problems:
            console.print(f"  {problem['code']} ({problem['field']}): {problem['message']}", markup=False,
                          highlight=False)


@documents_app.command("withdraw")
def withdraw_document(reference: str,
                      document: Annotated[int, typer.Argument(
                          help="the document's id ('retorno cases show' lists it)")],
                      reason: Annotated[str, typer.Option(help="the supervisor's written reason: why it was filed in "
                                                               "error")],
                      act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """A supervisor withdraws a travel document filed in error: kept for the record, it is no longer the person's
    document on file nor a link between records as one person."""
    from retorno.agencies.visibility import state_of
    from retorno.cases.service import get_case
    from retorno.travel.service import withdraw_document as withdraw

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        case = get_case(session, actor, reference)
        withdrawn = withdraw(session, actor, case, document, reason=reason)
        console.print(f"document {escape(withdrawn.number)} withdrawn from case {case.reference}; "
                      f"case state {state_of(actor, case)}")


@documents_app.command("issue-emergency")
def issue_emergency(reference: str,
                    pdf: Annotated[Path | None, typer.Option(help="also write the printable document here")]
                    = None,
                    lang: Annotated[str, typer.Option(help="language of the PDF: es or en")] = "es",
                    act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """The receiving authority issues an emergency travel document (number assigned, MRZ generated)."""
    from retorno.agencies.visibility import state_of
    from retorno.cases.service import get_case
    from retorno.documents.service import emergency_document_pdf, issue_emergency_document

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        case = get_case(session, actor, reference)
        document = issue_emergency_document(session, actor, case)
        printable = emergency_document_pdf(session, actor, document.number, locale=lang) if pdf else None
        console.print(f"emergency travel document [bold]{document.number}[/bold] issued for case "
                      f"{case.reference}, valid until {document.expiry_date}; "
                      f"case state {state_of(actor, case)}")
        console.print(document.mrz, markup=False, highlight=False)
    if pdf and printable is not None:
        pdf.write_bytes(printable)
        console.print(f"PDF written to {pdf}")


@mrz_app.command("check")
def check_mrz(file: Annotated[Path | None, typer.Argument(help="a file holding the MRZ; '-' or none: stdin")]
              = None,
              on: Annotated[str | None, typer.Option(
                  help="check expiry against this date (YYYY-MM-DD) instead of today")] = None) -> None:
    """Parse and validate an MRZ (TD1, TD2, TD3, MRV-A, MRV-B); print every problem; exit 1 if invalid."""
    from retorno.documents.mrz import MrzFormatError, parse_mrz
    from retorno.plaintext import iso_day  # YYYY-MM-DD only, as at every door

    try:
        today = iso_day(on) if on else None
    except ValueError as exc:
        raise typer.BadParameter(f"--on takes a date as YYYY-MM-DD, not {on!r}") from exc
    try:
        parsed = parse_mrz(_read_text(file), today=today)
    except MrzFormatError as exc:
        err_console.print(f"[red]not valid[/red]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(key_value_table(f"MRZ {parsed.kind}", {
        "document_code": parsed.document_code, "issuing_state": parsed.issuing_state, "surnames": parsed.surnames,
        "given_names": parsed.given_names, "document_number": parsed.document_number,
        "nationality": parsed.nationality, "birth_date": parsed.birth_date, "sex": parsed.sex,
        "expiry_date": parsed.expiry_date, "optional_data": parsed.optional_data}))
    if parsed.valid:
        console.print("[green]valid[/green]: every check digit, date and code is right")
        return
    for problem in parsed.problems:
        err_console.print(f"{problem.code} ({problem.field}): {problem.message}", markup=False, highlight=False)
    err_console.print(f"[red]not valid[/red]: {len(parsed.problems)} problems", highlight=False)
    raise typer.Exit(1)
