"""The one-sentence bulletin published for each arrived flight, in Spanish and English.

"207 nacionales aterrizaron en Maiquetía (CCS) procedentes de Villahermosa (VSA) el
30 de diciembre de 2023" — the figure the receiving side announces once it has
confirmed, person by person, who landed.
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_date

from retorno.flights.airports import display_name
from retorno.flights.manifest_data import document_locale

# CLDR plural categories "one" and "other" are the only ones these sentences need; Spanish
# "many" (a million exactly) takes the plural form like "other".
_SENTENCES: dict[str, dict[str, str]] = {
    "es": {
        "one": "{count} nacional aterrizó en {destination} procedente de {origin} el {day}",
        "other": "{count} nacionales aterrizaron en {destination} procedentes de {origin} el {day}",
    },
    "en": {
        "one": "{count} national landed at {destination} from {origin} on {day}",
        "other": "{count} nationals landed at {destination} from {origin} on {day}",
    },
}


def arrival_bulletin(count: int, origin: str, destination: str, arrival_local: date, locale: str) -> str:
    """Sentence announcing how many nationals landed, where from and on which local date."""
    if count < 0:
        raise ValueError(f"the number of arrived nationals cannot be negative, got {count}")
    language = document_locale(locale)
    plural = "one" if language.plural_form(count) == "one" else "other"
    template = _SENTENCES[language.language][plural]
    return template.format(
        count=count,
        destination=f"{display_name(destination, str(language))} ({destination.strip().upper()})",
        origin=f"{display_name(origin, str(language))} ({origin.strip().upper()})",
        day=format_date(arrival_local, "long", locale=language),
    )
