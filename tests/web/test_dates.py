"""Dates are typed in the pages as YYYY-MM-DD in every language, as at every other door (red team round 16, F5:
pages once read the language's order, day first in Spanish and month first in English, and '19900304' besides)."""

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
    assert shown == day.isoformat() and dates.parse_day(shown, locale) == day
    moment = datetime(day.year, day.month, day.day, 7, 5)
    assert dates.parse_moment(dates.shown_moment(moment, locale), locale) == moment


def test_one_form_in_every_language() -> None:
    for locale in ("es", "en"):
        assert dates.parse_day("2024-06-05", locale) == date(2024, 6, 5)
        for typed in ("05/06/2024", "5-6-2024", "05.06.2024", "20240605", "2024-6-5", "2024-02-30", "mañana"):
            assert dates.parse_day(typed, locale) is None, (typed, locale)
        assert dates.parse_moment("2024-06-05 14:30", locale) == datetime(2024, 6, 5, 14, 30)
        assert dates.parse_moment("05/06/2024 14:30", locale) is None
    assert dates.shown_day(date(2024, 6, 5), "es") == "2024-06-05" and dates.day_hint("es") == "aaaa-mm-dd"
    assert dates.day_hint("en") == "yyyy-mm-dd"


def test_a_case_registered_with_dates_typed_in_each_language(client: TestClient, session: Session) -> None:
    login(client, "inm.officer")
    form = client.get("/cases/new").text
    assert 'placeholder="aaaa-mm-dd"' in form and 'type="date"' not in form
    for language in ("es", "en"):
        client.cookies.set("retorno_lang", language)
        data = {k: v for k, v in case_payload(birth_date="1990-05-17", detained_since="2024-01-02").items()
                if isinstance(v, str)}
        response = client.post("/cases/new", data={**data, "_day_fields": "birth_date,detained_since",
                                                   "csrf_token": csrf(client, "/cases/new")}, follow_redirects=False)
        assert response.status_code == 303, response.text
        case = session.execute(sa.select(Case).where(Case.agency_reference == data["agency_reference"])).scalar_one()
        assert case.birth_date == date(1990, 5, 17) and case.detained_since == date(2024, 1, 2)
    # A refused form shows the dates again as the reader typed them.
    client.cookies.set("retorno_lang", "es")
    refused = client.post("/cases/new", data={"birth_date": "1990-05-17", "_day_fields": "birth_date",
                                              "csrf_token": csrf(client, "/cases/new")})
    assert refused.status_code == 422 and 'value="1990-05-17"' in refused.text
