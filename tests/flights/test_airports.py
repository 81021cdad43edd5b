from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retorno.flights.airports import (
    UnknownAirport,
    airport,
    display_name,
    to_local,
    to_utc,
    zone_abbreviation,
)


def test_airport_is_found_by_iata_code_whatever_its_case():
    caracas = airport(" ccs ")
    assert caracas.iata == "CCS"
    assert "Maiquetia" in caracas.name
    assert caracas.city == "Caracas"
    assert caracas.country == "VE"
    assert caracas.tz == "America/Caracas"


@pytest.mark.parametrize("code", ["ZZZ", "", "CC", "CCSX"])
def test_unknown_airport_is_a_value_error_that_names_the_code(code):
    with pytest.raises(UnknownAirport, match="unknown airport code") as raised:
        airport(code)
    assert isinstance(raised.value, ValueError)


def test_to_local_converts_an_instant_to_each_airport_wall_clock():
    landing = datetime(2023, 12, 30, 19, 30, tzinfo=UTC)
    caracas = to_local(landing, "CCS")
    assert (caracas.hour, caracas.minute, caracas.utcoffset()) == (15, 30, timedelta(hours=-4))
    assert to_local(landing, "VSA").hour == 13
    # A naive value is an instant in UTC, as the database stores it.
    assert to_local(datetime(2023, 12, 30, 19, 30), "CCS") == caracas


def test_to_utc_reads_a_wall_clock_time_at_the_airport():
    assert to_utc(datetime(2023, 12, 30, 8, 15), "VSA") == datetime(2023, 12, 30, 14, 15, tzinfo=UTC)
    assert to_utc(datetime(2023, 12, 30, 15, 30), "CCS") == datetime(2023, 12, 30, 19, 30, tzinfo=UTC)


def test_to_utc_refuses_times_the_clocks_skip_and_takes_the_first_of_repeated_ones():
    with pytest.raises(ValueError, match="does not exist at HRL"):
        to_utc(datetime(2024, 3, 10, 2, 30), "HRL")
    # 01:30 happens twice at Harlingen on 3 November 2024; the first is still daylight time (UTC-5).
    assert to_utc(datetime(2024, 11, 3, 1, 30), "HRL") == datetime(2024, 11, 3, 6, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="without a time zone"):
        to_utc(datetime(2024, 1, 1, tzinfo=UTC), "HRL")


@given(
    instant=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
    code=st.sampled_from(["CCS", "VSA", "TAP", "MEX", "MAR", "HRL", "ELP"]),
)
def test_local_time_converts_back_to_the_same_instant(instant, code):
    local = to_local(instant, code)
    if local.fold:
        # The second pass of a repeated hour is the one wall-clock reading to_utc cannot tell apart.
        return
    assert to_utc(local.replace(tzinfo=None), code) == instant.replace(tzinfo=UTC)


def test_zone_abbreviation_spells_numeric_zones_as_utc_offsets():
    assert zone_abbreviation(to_local(datetime(2023, 12, 30, 12), "VSA")) == "CST"
    assert zone_abbreviation(to_local(datetime(2023, 12, 30, 12), "CCS")) == "UTC-04"
    assert zone_abbreviation(to_local(datetime(2023, 7, 1, 12), "HRL")) == "CDT"


@pytest.mark.parametrize(
    ("code", "locale", "expected"),
    [
        ("CCS", "es", "Maiquetía"),
        ("CCS", "en", "Maiquetía"),
        ("VSA", "es", "Villahermosa"),
        ("TAP", "en", "Tapachula"),
        ("MEX", "es", "Ciudad de México"),
        ("MEX", "es-VE", "Ciudad de México"),
        ("MEX", "en_US", "Mexico City"),
        ("HRL", "es", "Harlingen"),
        ("MAR", "es", "Maracaibo"),
        ("VLN", "es", "Valencia"),
        ("BLA", "es", "Barcelona"),
        ("MUN", "es", "Maturín"),
        ("BOG", "es", "Bogota"),
    ],
)
def test_display_name_is_the_name_people_use(code, locale, expected):
    assert display_name(code, locale) == expected


def test_display_name_of_an_unknown_airport_is_refused():
    with pytest.raises(UnknownAirport):
        display_name("ZZZ", "es")
