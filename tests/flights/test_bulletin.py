from datetime import date

import pytest

from retorno.flights.airports import UnknownAirport
from retorno.flights.bulletin import arrival_bulletin

LANDED = date(2023, 12, 30)


def test_spanish_bulletin():
    assert (
        arrival_bulletin(207, "VSA", "CCS", LANDED, "es")
        == "207 nacionales aterrizaron en Maiquetía (CCS) procedentes de Villahermosa (VSA) "
        "el 30 de diciembre de 2023"
    )


def test_english_bulletin():
    assert (
        arrival_bulletin(207, "VSA", "CCS", LANDED, "en")
        == "207 nationals landed at Maiquetía (CCS) from Villahermosa (VSA) on 30 December 2023"
    )


def test_one_national_is_singular():
    assert (
        arrival_bulletin(1, "TAP", "CCS", LANDED, "es")
        == "1 nacional aterrizó en Maiquetía (CCS) procedente de Tapachula (TAP) el 30 de diciembre de 2023"
    )
    assert (
        arrival_bulletin(1, "TAP", "CCS", LANDED, "en")
        == "1 national landed at Maiquetía (CCS) from Tapachula (TAP) on 30 December 2023"
    )


def test_locale_with_territory_uses_its_date_format_and_place_names():
    assert (
        arrival_bulletin(130, "mex", "mar", date(2024, 1, 2), "en_US")
        == "130 nationals landed at Maracaibo (MAR) from Mexico City (MEX) on January 2, 2024"
    )
    assert arrival_bulletin(2, "HRL", "VLN", date(2024, 1, 2), "es-VE").endswith(
        "aterrizaron en Valencia (VLN) procedentes de Harlingen (HRL) el 2 de enero de 2024"
    )


def test_impossible_inputs_are_refused():
    with pytest.raises(ValueError, match="negative"):
        arrival_bulletin(-1, "VSA", "CCS", LANDED, "es")
    with pytest.raises(UnknownAirport):
        arrival_bulletin(3, "ZZZ", "CCS", LANDED, "es")
    with pytest.raises(ValueError, match="no flight-document texts"):
        arrival_bulletin(3, "VSA", "CCS", LANDED, "de")
