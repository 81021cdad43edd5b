"""Red team round 87, F2 (medium): a formula in a cell of the sheet read was imported as its text. A note or a name
the sheet showed as what it computed (`=CONCATENAR(B2;" ";C2)` shown as 'Ana Pérez') was stored as the formula, which
nobody typed; read for its cached value instead, it would be a value the file's author may have set to anything. Now
every cell of the sheet read that holds a formula, of any kind (plain, shared, array, written with a namespace prefix,
in the header), is refused at its cell, as a cell shown otherwise than it is, at every import door, and nothing is
written. A formula on another sheet is not read and changes nothing. A part of the workbook that uses an entity XML
does not define (which a reader drops, the value with it) or declares a DOCTYPE is refused as unreadable."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl.worksheet.formula import ArrayFormula
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.imports.reading import FORMULA, FORMULAS, UnreadableFileError, read_table
from retorno.reintegration.models import Opportunity
from tests.factories import Api, World, ok
from tests.test_import_error_cells import _workbook
from tests.test_import_looks import SHEETS, _book, _read, _refused


def test_a_formula_in_a_data_cell_or_the_header_is_refused_at_its_cell() -> None:
    def plain(book: Any, sheet: Any) -> None:
        sheet["B3"] = '=CONCATENATE(A3," ",A4)'

    def header(book: Any, sheet: Any) -> None:
        sheet["B1"] = '="no"&"ta"'

    def array(book: Any, sheet: Any) -> None:
        sheet["C2"] = ArrayFormula("C2:C2", "=SUM(1,2)")

    assert _refused(_book(plain)) == [(3, "B", FORMULA)]
    assert _refused(_book(header)) == [(1, "B", FORMULA)]
    assert _refused(_book(array)) == [(2, "C", FORMULA)]
    # The same cells typed read as they are.
    assert _read(_book(lambda book, sheet: sheet.__setitem__("B3", "Ana Pérez"))) == ["Uno", "Dos", "Tres"]


def test_a_formula_however_written_is_refused() -> None:
    """As other programs write them: a shared formula's cells (only the first holds the text), a formula with a
    cached text value, one with a namespace prefix, and a cell holding one without saying where it is."""
    sheet = "xl/worksheets/sheet1.xml"
    shared = b'<c r="B2" t="str"><f t="shared" ref="B2:B4" si="0">A2</f><v>Uno</v></c>'
    following = b'<c r="B3" t="str"><f t="shared" si="0"/><v>Dos</v></c>'
    for cells, found in (((shared, following), [(2, "B", FORMULA), (3, "B", FORMULA)]),
                         ((b'<c r="B4" t="str"><x:f>A4</x:f><x:v>Tres</x:v></c>',), [(4, "B", FORMULA)]),
                         ((b'<c t="str"><f>A2</f><v>Uno</v></c>',), [(1, "", FORMULAS)])):
        rows = b"".join(cells)

        def marked(book: Any, sheet_: Any) -> None:
            sheet_["B2"] = "MARK"
        data = _book(marked, rewrite={sheet: (b'<c r="B2" t="inlineStr"><is><t>MARK</t></is></c>', rows)})
        assert _refused(data) == found, cells


def test_a_formula_on_another_sheet_is_not_read_and_changes_nothing() -> None:
    def helper(book: Any, sheet: Any) -> None:
        sums = book.create_sheet("totales")
        sums["A1"], sums["B1"] = "=COUNTA(casos!A:A)", "=casos!A2"

    assert _read(_book(helper)) == ["Uno", "Dos", "Tres"]


def _with_text(text: bytes, *, shared: bool) -> bytes:
    """The sheet `casos` with `text` (XML, escaped as a writer escapes it) in B2: a shared string, or inline."""
    def marked(book: Any, sheet: Any) -> None:
        sheet["B2"] = "MARK"
    inline = b'<c r="B2" t="inlineStr"><is><t>MARK</t></is></c>'
    if not shared:
        return _book(marked, rewrite={"xl/worksheets/sheet1.xml": (inline, inline.replace(b"MARK", text))})
    strings = (b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
               b'count="1" uniqueCount="1"><si><t>' + text + b"</t></si></sst>")
    data = _book(marked, rewrite={
        "xl/worksheets/sheet1.xml": (inline, b'<c r="B2" t="s"><v>0</v></c>'),
        "xl/_rels/workbook.xml.rels": (b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.'
                                       b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                                       b'Target="sharedStrings.xml"/></Relationships>'),
        "[Content_Types].xml": (b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            target.writestr(part, source.read(part))
        target.writestr("xl/sharedStrings.xml", strings)
    return out.getvalue()


@pytest.mark.parametrize("shared", [True, False], ids=["shared_string", "inline_string"])
def test_an_entity_xml_does_not_define_or_a_doctype_is_unreadable(shared: bool) -> None:
    # The entities XML defines read as their characters.
    rows = read_table(_with_text(b"A&amp;B &#241;&#xF1;", shared=shared), "x.xlsx", sheets=SHEETS)[1]
    assert next(rows)[:2] == ["Uno", "A&B \u00f1\u00f1"]
    for text in (b"&e;", b"A&amp;B &nbsp;", b"&e;" + b" " * 20):
        with pytest.raises(UnreadableFileError):
            list(read_table(_with_text(text, shared=shared), "x.xlsx", sheets=SHEETS)[1])
    # An entity declared in a DOCTYPE, and the DOCTYPE alone.
    part = "xl/sharedStrings.xml" if shared else "xl/worksheets/sheet1.xml"
    start = b'<?xml version="1.0"?>' if shared else b"<worksheet"
    for text, doctype in ((b"&e;", b'<!DOCTYPE x [<!ENTITY e "Ana">]>'), (b"Ana", b"<!DOCTYPE x>")):
        declared = _rewritten(_with_text(text, shared=shared), part, start, doctype + start)
        with pytest.raises(UnreadableFileError):
            list(read_table(declared, "x.xlsx", sheets=SHEETS)[1])


def _rewritten(data: bytes, name: str, old: bytes, new: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            content = source.read(part)
            if part.filename == name:
                assert old in content, (name, old)
                content = content.replace(old, new, 1)
            target.writestr(part, content)
    return out.getvalue()


def _count(session: Session, model: type) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_every_import_door_refuses_a_formula_and_writes_nothing(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    case = api.ready_case(agency_reference="RT87-F2", national_id="V16570479")
    row = {"referencia": "RT87-F2", "nombres": case["given_names"], "primer_apellido": case["first_surname"],
           "segundo_apellido": case["second_surname"] or "", "sexo": case["sex"],
           "fecha_nacimiento": case["birth_date"], "nacionalidad": "VEN", "cedula": "V16570479",
           "lugar_custodia": case["held_at"], "fecha_ingreso": case["detained_since"],
           "observaciones": '=HYPERLINK("http://x","ver ficha")'}
    before = _count(session, Case), _count(session, Opportunity)
    answer = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                         files={"file": ("casos.xlsx", _workbook([row]), "application/octet-stream")})
    assert answer.status_code == 422, answer.text
    details = answer.json()["error"]["details"]
    assert [detail["row"] for detail in details] == [2], details
    assert "tiene una fórmula" in details[0]["expected"] and "Pegado especial" in details[0]["expected"], details
    after = ok(api.get("inm.officer", f"/api/v1/cases/{case['reference']}"))
    assert (after["notes"] or "") == (case["notes"] or ""), after
    # The same file in English.
    english = client.post("/api/v1/cases/import?lang=en", headers=world.headers("inm.officer"),
                          files={"file": ("casos.xlsx", _workbook([row]), "application/octet-stream")})
    assert english.status_code == 422 and "holds a formula" in english.text, english.text
    # The opportunities' import: a formula in any cell of the sheet.
    opportunity = _workbook([{"titulo": '="Taller "&"de costura"'}], header=["titulo", "tipo"])
    refused = client.post("/api/v1/opportunities/import", headers=world.headers("op.officer"),
                          files={"file": ("oportunidades.xlsx", opportunity, "application/octet-stream")})
    assert refused.status_code == 422, refused.text
    assert "tiene una fórmula" in refused.text, refused.text
    assert (_count(session, Case), _count(session, Opportunity)) == before
