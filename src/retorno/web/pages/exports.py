"""Lists that hold people, as files: CSV or XLSX of what the reader may see, cells safe from formulas."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fastapi.responses import Response

from retorno.errors import NotFound
from retorno.exports import table_csv, table_xlsx

# An export holds at most this many rows: past it, filter the list further.
EXPORT_LIMIT = 50_000
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise NotFound("no export as '%(fmt)s': csv or xlsx", fmt=fmt)
    return fmt


def export_table(fmt: str, header: Sequence[str], rows: Iterable[Sequence[object]], *, sheet: str
                 ) -> tuple[bytes | str, str]:
    """The table in `fmt`, with its media type."""
    check_format(fmt)
    if fmt == "csv":
        return table_csv(header, rows), FORMATS["csv"]
    return table_xlsx(header, rows, sheet=sheet), FORMATS["xlsx"]


def download(content: bytes | str, media_type: str, *, filename: str) -> Response:
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
