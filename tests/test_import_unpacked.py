"""A workbook is a ZIP archive: what it unpacks to is measured and bounded before any reader opens it.

Red team (medium, denial of service): an upload is bounded at 20 MB compressed, but nothing bounded what it
unpacks to. The formula scan read each worksheet whole into memory and calamine or openpyxl unpacked it again,
so a 20 MB archive of one repeated byte (about 1000:1) made a worker allocate gigabytes; and the sizes the
archive declares can lie. The bound is `Settings.max_unpacked_bytes`, set low here so the tests stay light.
"""

from __future__ import annotations

import dataclasses
import io
import struct
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import date
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case
from retorno.cases.rows import MESSAGES as CASE_MESSAGES
from retorno.cases.rows import validate
from retorno.config import Settings
from retorno.imports import reading
from retorno.imports.rows import MESSAGES, Column, read_sheet
from retorno.reintegration.models import Opportunity
from retorno.synthetic.case_files import synthetic_case_file
from retorno.web.app import create_app
from tests.factories import World
from tests.web.pages_helpers import csrf, login

MB = 2**20
BOUND = MB  # the installation's bound in these tests
TODAY = date(2026, 11, 28)
COLUMNS = (Column("code", "codigo", "code", True), Column("count", "cantidad", "count", False))
SHEET = "xl/worksheets/sheet1.xml"


def _workbook(*rows: list[str]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["codigo", "cantidad"])
    for row in rows:
        sheet.append(row)
    raw = io.BytesIO()
    book.save(raw)
    return raw.getvalue()


def _padded(data: bytes, member: str, before: bytes, size: int) -> bytes:
    """The workbook `data` with `size` spaces written into `member` just before `before` (still well-formed XML),
    compressed as any archive is: a few dozen KB for 50 MB."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename != member:
                target.writestr(item.filename, body)
                continue
            head, tail = body.split(before, 1)
            with target.open(item.filename, "w") as stream:
                stream.write(head)
                for _ in range(size // MB):
                    stream.write(b" " * MB)
                stream.write(before + tail)
    return out.getvalue()


def _bomb(size: int = 50 * MB) -> bytes:
    """A real case list (ten rows) whose worksheet unpacks to `size` bytes more."""
    return _padded(synthetic_case_file(10, seed=3, fmt="xlsx", today=TODAY), SHEET, b"</sheetData>", size)


def _declaring(data: bytes, member: str, size: int) -> bytes:
    """`data` whose local header and central directory both declare that `member` unpacks to `size` bytes."""
    patched = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(member)
    struct.pack_into("<I", patched, info.header_offset + 22, size)
    name, entry = member.encode(), patched.find(b"PK\x01\x02")
    while bytes(patched[entry + 46:entry + 46 + len(name)]) != name:
        entry = patched.find(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", patched, entry + 24, size)
    return bytes(patched)


def _read(data: bytes, bound: int = BOUND) -> list[tuple[int, str, str]]:
    """The problems of reading `data` (English; none when it is readable)."""
    sheet = read_sheet(data, "lista.xlsx", COLUMNS, locale="en", messages=MESSAGES, max_unpacked=bound)
    return [(p.row_number, p.value, p.expected) for p in sheet.finish()] if not sheet.readable else []


TOO_LARGE = [(1, "lista.xlsx", "an XLSX file that unpacks to at most 1 MB, in at most 10000 parts")]
UNREADABLE = [(1, "lista.xlsx", MESSAGES["unreadable"][1])]


def _peak_mb(data: bytes) -> tuple[list[tuple[int, str, str]], float]:
    """`_read`, with the peak of Python's allocations while reading (MiB)."""
    tracemalloc.start()
    try:
        problems = _read(data)
        return problems, tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()


def test_a_workbook_that_unpacks_past_the_bound_is_refused_without_unpacking_it_whole() -> None:
    bomb = _bomb()
    assert len(bomb) < MB
    problems, peak = _peak_mb(bomb)
    assert problems == TOO_LARGE
    # One chunk at a time: before, the 50 MB worksheet was read whole (and then unpacked again by calamine).
    assert peak < 5, peak


def test_a_declared_size_is_measured_not_believed() -> None:
    """The archive says its parts are small; their streams are 50 MB: the bytes that come out are what count."""
    sheet = _declaring(_bomb(), SHEET, 2000)
    styles = _declaring(_padded(_workbook(["A1", "3"]), "xl/styles.xml", b"</styleSheet>", 50 * MB),
                        "xl/styles.xml", 3000)
    for data in (sheet, styles):
        problems, peak = _peak_mb(data)
        assert problems == TOO_LARGE and peak < 5, (problems, peak)
    # Under the bound, a part of another size than declared is refused as unreadable, whichever way it lies.
    good = _workbook(["A1", "3"])
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        actual = archive.getinfo(SHEET).file_size
    for declared in (actual - 1, actual + 1):
        assert _read(_declaring(good, SHEET, declared)) == UNREADABLE
    # Declared past the bound: refused before anything is unpacked.
    assert _read(_declaring(good, SHEET, BOUND + 1)) == TOO_LARGE


def test_the_parts_are_counted_and_only_an_xlsx_compression_is_unpacked() -> None:
    def rewritten(data: bytes, extra: int = 0, method: int = zipfile.ZIP_DEFLATED) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", method) as target:
            for item in source.infolist():
                target.writestr(item.filename, source.read(item.filename))
            for number in range(extra):
                target.writestr(f"customXml/item{number}.xml", b"")
        return out.getvalue()

    good = _workbook(["A1", "3"])
    many = rewritten(good, extra=reading.MAX_PARTS)
    assert _read(many) == TOO_LARGE
    assert _read(rewritten(good, extra=reading.MAX_PARTS - 20)) == []
    # Bzip2 and LZMA are not an XLSX's (its parts are stored or deflated), and Python unpacks them whole.
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        assert _read(rewritten(good, method=method)) == UNREADABLE


def test_an_archive_whose_end_two_readers_could_find_apart_is_refused() -> None:
    """A second list of parts and end record in the archive's comment, a byte before its end: Python reads that
    list (the last end record), a reader that wants the end record to end the file reads the first. What the
    readers read must be what was measured."""
    good = _workbook(["A1", "3"])
    fields = list(struct.unpack("<4s4H2LH", good[-22:]))
    size, offset, comment = fields[5], fields[6], fields[7]
    assert comment == 0
    parts = good[offset:offset + size]
    second = struct.pack("<4s4H2LH", *fields[:5], size, len(good), 0)  # its list of parts just before it
    tail = parts + second + b" "
    commented = good[:-2] + struct.pack("<H", len(tail)) + tail
    with zipfile.ZipFile(io.BytesIO(commented)) as archive:
        assert archive.namelist()  # Python reads it
    assert _read(commented) == UNREADABLE
    # A comment without a second end record is read as before.
    assert _read(good[:-2] + struct.pack("<H", 5) + b"hello") == []


def _formulas_in(xml: bytes, chunk: int) -> bool:
    """Whether the scan finds a formula in a worksheet of `xml`, unpacked `chunk` bytes at a time."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(SHEET, xml)
    original, reading._CHUNK = reading._CHUNK, chunk
    try:
        with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
            hidden: dict[str, Any] = {}
            reading._unpacked(archive, BOUND, hidden)
            return bool(hidden[SHEET].formulas)
    finally:
        reading._CHUNK = original


@hypothesis_settings(max_examples=300, deadline=None)
@given(xml=st.text(alphabet="<f:x/> a", max_size=40), chunk=st.integers(1, 9))
def test_a_formula_is_found_across_every_chunk_border(xml: str, chunk: int) -> None:
    assert _formulas_in(xml.encode(), chunk) == bool(reading._FORMULA.search(xml.encode()))


def test_a_long_namespace_prefix_across_a_chunk_border_is_still_a_formula() -> None:
    for tail, formula in ((b":f>1+1</x:f>", True), (b"f>1</xf>", False), (b":g>", False)):
        for chunk in (3, 7, 1000):
            assert _formulas_in(b" " * 5 + b"<" + b"x" * 3000 + tail, chunk) is formula


def test_a_workbook_with_a_formula_under_the_bound_is_refused_at_its_cell_not_for_its_size() -> None:
    data = _workbook(["A1", "=1+1"], ["A2", "4"])
    with pytest.raises(reading.HiddenCellsError) as refused:
        reading.read_table(data, "lista.xlsx", max_unpacked=BOUND)
    assert refused.value.cells == [(2, "B", reading.FORMULA)]


def test_the_bound_is_a_setting_of_400_mb_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """About four times what a 100,000-row case list unpacks to (94 MiB, README)."""
    assert Settings().max_unpacked_bytes == 400 * MB
    monkeypatch.setenv("RETORNO_MAX_UNPACKED_BYTES", str(BOUND))
    assert Settings.from_env(resolve=False).max_unpacked_bytes == BOUND
    # The case list's own catalogue says it too, in Spanish by default.
    report = validate(_bomb(2 * MB), "casos.xlsx", today=TODAY, max_unpacked=BOUND)
    assert [(p.column, p.expected) for p in report.problems] == [
        ("", CASE_MESSAGES["too_large"][0].format(mb="1", parts=reading.MAX_PARTS))]


# Every door: the API's two imports, the import page, the command line (tests/test_cli.py).

@pytest.fixture
def bounded(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    app = create_app(dataclasses.replace(settings, max_unpacked_bytes=BOUND))
    app.state.sessionmaker = session_factory
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def _count(session: Session, model: type) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_every_web_door_refuses_a_workbook_past_the_bound_and_writes_nothing(
        bounded: TestClient, world: World, session: Session) -> None:
    bomb = _bomb()
    before = _count(session, Case), _count(session, Opportunity)
    files = {"file": ("casos.xlsx", bomb, "application/octet-stream")}
    refused = bounded.post("/api/v1/cases/import?lang=en", files=files, headers=world.headers("inm.officer"))
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "import_refused"
    assert [(d["row"], d["value"], d["expected"]) for d in error["details"]] == [
        (1, "casos.xlsx", TOO_LARGE[0][2])]
    opportunities = bounded.post("/api/v1/opportunities/import", headers=world.headers("op.officer"),
                                 files={"file": ("oportunidades.xlsx", bomb, "application/octet-stream")})
    assert opportunities.status_code == 422, opportunities.text
    assert "descomprimido" in opportunities.json()["error"]["details"][0]["expected"]
    login(bounded, "inm.officer")
    page = bounded.post("/cases/import", files=files, data={"csrf_token": csrf(bounded, "/cases/import")})
    assert page.status_code == 422 and "descomprimido ocupe como máximo 1 MB" in page.text
    assert (_count(session, Case), _count(session, Opportunity)) == before
    # The same workbook without its padding imports, at every door bound alike.
    good = synthetic_case_file(10, seed=3, fmt="xlsx")
    imported = bounded.post("/api/v1/cases/import", files={"file": ("casos.xlsx", good, "application/octet-stream")},
                            headers=world.headers("inm.officer"))
    assert imported.status_code == 201, imported.text
    assert imported.json()["created"] == 10 and _count(session, Case) == before[0] + 10
