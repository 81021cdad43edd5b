"""The public statistics page: suppressed aggregates only, so it needs no login."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import Request
from fastapi.responses import HTMLResponse

from retorno.reporting import public
from retorno.reporting import service as reports
from retorno.web import charts
from retorno.web.deps import SessionDep, session_user
from retorno.web.i18n import gettext_for
from retorno.web.pages.common import Viewer, locale_of, render, router

pages = router()

# The same Spanish labels as the operators' pages, so the catalog translates them once.
PLACEMENT_LABELS = {
    "offered": "ofrecida",
    "accepted": "aceptada",
    "declined": "rechazada",
    "started": "iniciada",
    "completed": "completada",
    "dropped": "abandonada",
}
# The weekly chart shows at most this many of the latest weeks; the table and the CSV have them all.
CHART_WEEKS = 26


def _published(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _week_series(table: public.Table) -> tuple[list[date], dict[str, list[int | None]]]:
    """Published weekly counts per route: a week without a flight is 0, a suppressed week None (a gap)."""
    weekly = [(keys, row[3]) for keys, row in zip((k for k, _c in table.rows), table.published(), strict=True)
              if keys[0] != public.TOTAL]
    if not weekly:
        return [], {}
    mondays = {keys[0]: date.fromisocalendar(int(keys[0][:4]), int(keys[0][6:]), 1) for keys, _v in weekly}
    last = max(mondays.values())
    first = max(min(mondays.values()), last - timedelta(weeks=CHART_WEEKS - 1))
    starts = [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    series: dict[str, list[int | None]] = {}
    for keys, value in weekly:
        line = series.setdefault(f"{keys[1]} → {keys[2]}", [0] * len(starts))
        index = (mondays[keys[0]] - first).days // 7
        if index >= 0:
            line[index] = _published(value)
    return starts, series


@pages.get("/estadisticas", response_class=HTMLResponse)
def statistics(request: Request, session: SessionDep) -> HTMLResponse:
    user = session_user(request, session)
    if user is not None:
        # A logged-in official keeps the navigation; anyone else sees the page without it.
        request.state.viewer = Viewer.of(user)
    _ = gettext_for(locale_of(request))
    report = reports.public_report(session)
    route_rows = [row for row in report.returns.published() if row[0] == public.TOTAL and row[1] != public.TOTAL]
    age_rows = report.age_sex.published()
    placement_rows = report.placements.published()
    follow_up = public.follow_up_rows(report.follow_up)
    weeks, series = _week_series(report.returns)
    chart_list = [
        (_("Retornos por semana y ruta"), charts.week_chart(
            _("Retornos por semana y ruta"), weeks, series, week_label=_("semana del"), empty_text=_("sin datos"),
            gap_text=_("suprimido"), value_label=_("Personas recibidas"), axis_label=_("Semana (desde el lunes)"))),
        (_("Retornos por ruta"), charts.bar_chart(
            _("Retornos por ruta"), [charts.Bar(f"{r[1]} → {r[2]}", v) for r in route_rows if (v := _published(r[3]))],
            empty_text=_("sin datos"), category_label=_("Ruta"), value_label=_("Personas recibidas"))),
        (_("Retornos por grupo de edad"), charts.bar_chart(
            _("Retornos por grupo de edad"),
            [charts.Bar(str(r[0]), v) for r in age_rows[:-1] if (v := _published(r[1]))],
            empty_text=_("sin datos"), category_label=_("Edad"), value_label=_("Personas recibidas"))),
        (_("Colocaciones por estado"), charts.bar_chart(
            _("Colocaciones por estado"),
            [charts.Bar(_(PLACEMENT_LABELS.get(str(r[0]), str(r[0]))), v)
             for r in placement_rows[:-1] if (v := _published(r[1]))],
            empty_text=_("sin datos"), category_label=_("Estado"), value_label=_("Colocaciones"))),
        (_("Siguen en su colocación, por meses desde el inicio"), charts.bar_chart(
            _("Siguen en su colocación, por meses desde el inicio"),
            [charts.Bar(_("%(n)s meses", n=r[0]), s, d) for r in follow_up
             if (s := _published(r[2])) is not None and (d := _published(r[1]))],
            empty_text=_("sin datos"), category_label=_("Desde el inicio"),
            value_label=_("Siguen / seguimientos hechos"))),
    ]
    return render(
        request,
        "statistics.html",
        charts=chart_list,
        marker=public.MARKER,
        smallest=public.SMALLEST_PUBLISHED,
        returns=report.returns.published(),
        age_sex=age_rows,
        placements=placement_rows,
        placement_labels=PLACEMENT_LABELS,
        follow_up=follow_up,
        total=public.TOTAL,
        generated_at=report.generated_at,
    )
