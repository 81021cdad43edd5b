"""Dates are typed in the interface's language (day first in Spanish, month first in English), ISO too."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.web import dates
from tests.factories import case_payload
from tests.web.pages_helpers import csrf, login


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), st.sampled_from(["es", "en"]))
def test_a_day_shown_in_a_field_reads_back_as_the_same_day(day: date, locale: str) -> None:
    shown = dates.shown_day(day, locale)
    assert dates.parse_day(shown, locale) == day and dates.parse_day(day.isoformat(), locale) == day
    moment = datetime(day.year, day.month, day.day, 7, 5)
    assert dates.parse_moment(dates.shown_moment(moment, locale), locale) == moment


def test_each_language_has_its_order() -> None:
    assert dates.parse_day("05/06/2024", "es") == date(2024, 6, 5)
    assert dates.parse_day("05/06/2024", "en") == date(2024, 5, 6)
    assert dates.parse_day("31/02/2024", "es") is None and dates.parse_day("mañana", "es") is None
    assert dates.shown_day(date(2024, 6, 5), "es") == "05/06/2024" and dates.day_hint("es") == "dd/mm/aaaa"
    assert dates.parse_moment("05/06/2024 14:30", "es") == datetime(2024, 6, 5, 14, 30)


def test_a_case_registered_with_dates_typed_in_each_language(client: TestClient, session: Session) -> None:
    login(client, "inm.officer")
    form = client.get("/cases/new").text
    assert 'placeholder="dd/mm/aaaa"' in form and 'type="date"' not in form
    for language, birth, detained in (("es", "17/05/1990", "02/01/2024"), ("en", "05/17/1990", "01/02/2024")):
        client.cookies.set("retorno_lang", language)
        data = {k: v for k, v in case_payload(birth_date=birth, detained_since=detained).items()
                if isinstance(v, str)}
        response = client.post("/cases/new", data={**data, "_day_fields": "birth_date,detained_since",
                                                   "csrf_token": csrf(client, "/cases/new")}, follow_redirects=False)
        assert response.status_code == 303, response.text
        case = session.execute(sa.select(Case).where(Case.agency_reference == data["agency_reference"])).scalar_one()
        assert case.birth_date == date(1990, 5, 17) and case.detained_since == date(2024, 1, 2)
    # A refused form shows the dates again as the reader typed them, in their order.
    client.cookies.set("retorno_lang", "es")
    refused = client.post("/cases/new", data={"birth_date": "17/05/1990", "_day_fields": "birth_date",
                                              "csrf_token": csrf(client, "/cases/new")})
    assert refused.status_code == 422 and 'value="17/05/1990"' in refused.text
