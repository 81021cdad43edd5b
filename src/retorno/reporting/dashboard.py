"""The home page's figures for one reader, as a view model: what to count and chart, decided by role.

The page only draws it (`web.pages.sending.dashboard`): titles are Spanish message ids the page
translates, labels are lifecycle states or bands, and each part is present only for the readers
whose capabilities let them see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.permissions import can
from retorno.agencies.visibility import sees_protection
from retorno.reporting import service as reports
from retorno.verification.service import review_queue

# The verification queue's ages are charted over at most this many of the oldest requests.
QUEUE_CHARTED = 500


@dataclass(frozen=True)
class BarChart:
    """A bar chart: its title (a Spanish message id) and (label, value, total or None) bars."""

    title: str
    bars: list[tuple[str, int, int | None]]
    # The labels are lifecycle states, which the page names in the reader's language.
    labels_are_states: bool = False
    # What the bars are and what they count (Spanish message ids), written over the labels and the values.
    category: str | None = None
    counted: str | None = None


@dataclass(frozen=True)
class WeekChart:
    title: str
    weeks: list[date]
    series: dict[str, list[int]]
    counted: str = "Personas recibidas"
    axis: str = "Semana (desde el lunes)"


@dataclass
class Dashboard:
    """What the home page shows one reader; `elsewhere` is the page a reader without a home page goes to."""

    elsewhere: str | None = None
    figures: dict[str, int] = field(default_factory=dict)
    charts: list[BarChart | WeekChart] = field(default_factory=list)
    upcoming: list[reports.FlightFill] = field(default_factory=list)


def dashboard(session: Session, user: User, now: datetime) -> Dashboard:
    """The figures and charts `user` may see at `now`."""
    if not can(user, "reports.aggregate"):
        return Dashboard(elsewhere="/flights")
    if can(user, "audit.read") and not can(user, "case.read"):
        return Dashboard(elsewhere="/monitor")
    view = Dashboard()
    if can(user, "case.read") or can(user, "returnee.read"):
        counted = reports.case_counts(session, user, now.date() if user.agency.kind == "sending_authority" else None)
        view.figures["cases_total"] = sum(counted.by_state.values())
        view.charts.append(BarChart("Casos por estado", [(s, n, None) for s, n in counted.by_state.items()],
                                    labels_are_states=True, category="Estado", counted="Casos"))
        if counted.detention is not None:
            view.charts.append(BarChart("Días en detención de quienes esperan vuelo",
                                        [(label, n, None) for label, n in counted.detention],
                                        category="Días detenido", counted="Personas"))
        if sees_protection(user):
            view.figures["open_concerns"] = reports.open_concerns(session, user)
    if can(user, "verification.decide"):
        waiting = review_queue(session, user, limit=QUEUE_CHARTED)
        view.figures["queue"] = len(waiting)
        ages = reports.queue_ages([request.requested_at for request, _case, _decision in waiting], now)
        view.charts.append(BarChart("Antigüedad de la cola de verificación (días)",
                                    [(label, n, None) for label, n in ages], category="Días en cola",
                                    counted="Solicitudes"))
    if can(user, "flight.read"):
        view.upcoming = reports.upcoming_flights(session, user)
        view.charts.append(BarChart("Ocupación de los próximos vuelos",
                                    [(f.flight.reference, f.passengers, f.flight.seats) for f in view.upcoming
                                     if f.passengers is not None],
                                    category="Vuelo", counted="Pasajeros / asientos"))
        weeks, series = reports.returns_by_week(session, user)
        view.charts.append(WeekChart("Retornos por semana y ruta", weeks, series))
    return view
