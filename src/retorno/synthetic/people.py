"""Synthetic Venezuelan population: names, sexes, birth dates, states of birth and cédulas.

Used for the synthetic identity registry that record linkage is benchmarked against, and
for demo data. Faker has no Venezuelan locale, so the name distributions are built from
a head table of the names most common in Venezuela (frequencies per 100 people, rounded
estimates from published civil-registry rankings) and a long tail taken from Faker's
Spanish-language locales (Colombia with its weights, Mexico and Spain flat).

Everything is vectorised with numpy: people are drawn as indices into small vocabularies
and only turned into strings at the end, so ten million rows take seconds.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pycountry
from faker.providers.person.es_CO import Provider as ColombianNames
from faker.providers.person.es_ES import Provider as SpanishNames
from faker.providers.person.es_MX import Provider as MexicanNames

from retorno import identifiers
from retorno.identifiers import placeholder_document_number

# Share of people per 100 carrying each surname (first or second surname alike).
SURNAME_HEAD: dict[str, float] = {
    "GONZÁLEZ": 4.5, "RODRÍGUEZ": 3.6, "PÉREZ": 3.1, "HERNÁNDEZ": 2.7, "GARCÍA": 2.4,
    "MARTÍNEZ": 2.2, "LÓPEZ": 2.0, "SÁNCHEZ": 1.9, "RAMÍREZ": 1.8, "TORRES": 1.5,
    "DÍAZ": 1.5, "ROJAS": 1.4, "MORENO": 1.2, "CASTILLO": 1.1, "MEDINA": 1.1,
    "GÓMEZ": 1.0, "SUÁREZ": 1.0, "MUÑOZ": 0.9, "PEÑA": 0.9, "FERNÁNDEZ": 0.9,
    "ROMERO": 0.9, "MENDOZA": 0.9, "MARCANO": 0.8, "BRICEÑO": 0.7, "GUERRERO": 0.6,
    "ACOSTA": 0.6, "GUTIÉRREZ": 0.6, "VARGAS": 0.6, "SILVA": 0.6, "RIVAS": 0.6,
    "CONTRERAS": 0.5, "FLORES": 0.5, "GIL": 0.5, "BLANCO": 0.5, "MORALES": 0.5,
    "ÁLVAREZ": 0.5, "JIMÉNEZ": 0.5, "RUIZ": 0.5, "CHÁVEZ": 0.4, "VÁSQUEZ": 0.4,
    "VELÁSQUEZ": 0.4, "CARRILLO": 0.4, "YÉPEZ": 0.3, "LLOVERA": 0.1, "NÚÑEZ": 0.4,
    "ZAMBRANO": 0.3, "QUINTERO": 0.3, "ARAUJO": 0.3, "BARRIOS": 0.3, "CEDEÑO": 0.3,
    "DE LA CRUZ": 0.2, "DEL VALLE": 0.2, "DE SOUSA": 0.15, "DE FREITAS": 0.15,
    "DOS SANTOS": 0.1, "D'ANGELO": 0.05, "D'ALESSANDRO": 0.05, "DE LOS RÍOS": 0.05,
    "MONTES DE OCA": 0.05, "SAN JUAN": 0.05, "PÉREZ-ROJAS": 0.02,
}

# Share of women / men per 100 carrying each given name (first or second position).
FEMALE_HEAD: dict[str, float] = {
    "MARÍA": 12.0, "ANA": 3.0, "CARMEN": 2.5, "JOSEFINA": 1.5, "LUISA": 1.5, "ROSA": 1.5,
    "YOLANDA": 1.0, "DEL VALLE": 2.5, "DEL CARMEN": 2.0, "DE LOS ÁNGELES": 1.5,
    "GABRIELA": 1.2, "ANDREA": 1.2, "DANIELA": 1.2, "VALENTINA": 1.0, "YELITZA": 0.6,
    "YUSMARY": 0.5, "MARIBEL": 0.8, "DAYANA": 0.7, "YOHANA": 0.5, "MILAGROS": 0.7,
    "JOSÉ": 0.2, "ÁNGELA": 0.8, "BEATRIZ": 0.8, "NOHEMÍ": 0.3, "ZULAY": 0.3,
    "MARÍA JOSÉ": 0.0, "EUGENIA": 0.6, "ALEJANDRA": 1.0, "VERÓNICA": 0.8, "FABIOLA": 0.5,
}
MALE_HEAD: dict[str, float] = {
    "JOSÉ": 9.0, "LUIS": 5.0, "CARLOS": 4.0, "JESÚS": 4.0, "JUAN": 3.5, "MIGUEL": 2.5,
    "JORGE": 2.0, "PEDRO": 2.0, "ANTONIO": 2.5, "RAFAEL": 2.0, "FRANCISCO": 1.8,
    "MANUEL": 2.0, "ÁNGEL": 1.8, "DANIEL": 1.5, "DAVID": 1.3, "ALEJANDRO": 1.5,
    "ANDRÉS": 1.2, "EDUARDO": 1.2, "GABRIEL": 1.0, "RICARDO": 1.0, "GREGORIO": 1.0,
    "RAMÓN": 1.2, "ALBERTO": 1.2, "ENRIQUE": 0.8, "JHONNY": 0.3, "YEFERSON": 0.3,
    "WILMER": 0.4, "HÉCTOR": 0.6, "OSCAR": 0.6, "NÉSTOR": 0.4,
}

# Share of people who carry two given names ("MARÍA JOSÉ", "LUIS ALBERTO").
TWO_GIVEN_NAMES_SHARE = 0.6
# Share of the head tables' mass in each name distribution; the rest is the long tail.
HEAD_MASS = 0.75
# Living people with a cédula were born between these years; younger ages are commoner.
FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR = 1925, 2015
AGE_SCALE_YEARS = 30.0
# Cédulas run roughly in order of birth from about a million to about thirty-three million.
FIRST_CEDULA, LAST_CEDULA = 1_000_000, 33_000_000
# People come in sibling groups that share both surnames and the state of birth.
MEAN_SIBLINGS = 2.0
TWIN_SHARE = 0.01


def _title_to_upper(names: object) -> list[str]:
    return [str(name).upper() for name in names]  # type: ignore[attr-defined]


def _vocabulary(head: dict[str, float], tail: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Merge a head table and a long tail into (names as an object array, probabilities)."""
    head = {name: weight for name, weight in head.items() if weight > 0}
    tail = {name: weight for name, weight in tail.items() if name not in head and weight > 0}
    head_total, tail_total = sum(head.values()), sum(tail.values())
    names = list(head) + list(tail)
    weights = [w / head_total * HEAD_MASS for w in head.values()]
    weights += [w / tail_total * (1 - HEAD_MASS) for w in tail.values()]
    probabilities = np.asarray(weights, dtype=np.float64)
    return np.asarray(names, dtype=object), probabilities / probabilities.sum()


def _tail(weighted: dict[str, float], *flat_lists: object) -> dict[str, float]:
    """Long-tail weights: Colombian names with their weights, others at the smallest weight."""
    tail = {name.upper(): float(weight) for name, weight in weighted.items()}
    floor = min(tail.values())
    for names in flat_lists:
        for name in _title_to_upper(names):
            tail.setdefault(name, floor)
    return tail


SURNAMES, SURNAME_P = _vocabulary(
    SURNAME_HEAD, _tail(ColombianNames.last_names, MexicanNames.last_names, SpanishNames.last_names)
)
FEMALE_NAMES, FEMALE_P = _vocabulary(
    FEMALE_HEAD,
    _tail(
        ColombianNames.first_names_female, MexicanNames.first_names_female, SpanishNames.first_names_female
    ),
)
MALE_NAMES, MALE_P = _vocabulary(
    MALE_HEAD,
    _tail(ColombianNames.first_names_male, MexicanNames.first_names_male, SpanishNames.first_names_male),
)
# ISO 3166-2:VE subdivision names, upper case as the registry writes them.
STATES = np.asarray(
    sorted(sub.name.upper() for sub in pycountry.subdivisions.get(country_code="VE")), dtype=object
)
# Population weight per state (rough 2011-census shares): Zulia, Miranda and Carabobo lead.
_STATE_WEIGHT = {
    "ZULIA": 13.0, "MIRANDA": 10.0, "CARABOBO": 8.0, "DISTRITO CAPITAL": 7.0, "LARA": 6.5,
    "ARAGUA": 6.0, "ANZOÁTEGUI": 5.5, "BOLÍVAR": 5.5, "TÁCHIRA": 4.3, "SUCRE": 3.3,
    "PORTUGUESA": 3.2, "MONAGAS": 3.2, "FALCÓN": 3.2, "MÉRIDA": 3.0, "BARINAS": 2.9,
    "GUÁRICO": 2.7, "TRUJILLO": 2.4, "YARACUY": 2.2, "APURE": 1.7, "NUEVA ESPARTA": 1.7,
    "LA GUAIRA": 1.2, "COJEDES": 1.1, "AMAZONAS": 0.5, "DELTA AMACURO": 0.6,
    "DEPENDENCIAS FEDERALES": 0.01,
}
STATE_P = np.asarray([_STATE_WEIGHT.get(str(state), 1.0) for state in STATES])
STATE_P = STATE_P / STATE_P.sum()
_FEMALE_PARTICLE = np.asarray([str(name).startswith(("DE ", "DEL ")) for name in FEMALE_NAMES])
_MALE_PARTICLE = np.asarray([str(name).startswith(("DE ", "DEL ")) for name in MALE_NAMES])
_EPOCH = np.datetime64("1970-01-01", "D")


def named_document_number(drawn: str) -> str:
    """A drawn document number that names a document: its last digit moved on while the number is one that names
    none (`identifiers.placeholder_document_number`: 123456789, 121212121...), which every door refuses; when no last
    digit does (`100000010` to `100000019` are all a few digits padded with zeros), its digits counted on until one
    does (before, the loop never ended: `retorno bench import` of 30,000 rows drew such a number and hung). No other
    draw is made, so a seed gives the same people, numbers and all, but for those few."""
    number = drawn
    for _ in range(10):
        if not placeholder_document_number(number):
            return number
        number = number[:-1] + str((int(number[-1]) + 1) % 10)
    prefix = number.rstrip("0123456789")
    digits = number[len(prefix):]
    count = int(digits)
    while placeholder_document_number(number):
        count += 1
        number = prefix + str(count).zfill(len(digits))
    return number


def format_cedula(number: int) -> str:
    """Write a cédula number the way the registry shows it ("V-12345678")."""
    return f"V-{number}"


class PopulationSampler:
    """Draws synthetic Venezuelan people; the same seed always gives the same people."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def sexes(self, n: int) -> np.ndarray:
        """Draw sexes ('F' or 'M', about half each) as an object array."""
        return np.where(self.rng.random(n) < 0.505, "F", "M").astype(object)

    def given_names(self, sexes: np.ndarray) -> np.ndarray:
        """Draw one or two given names per person, from the distribution for each one's sex."""
        female = sexes == "F"
        first, first_particle = self._names_by_sex(female)
        second, _ = self._names_by_sex(female)
        # Particle names ("DEL VALLE") only ever come second, after MARÍA or JOSÉ.
        first = np.where(first_particle, np.where(female, "MARÍA", "JOSÉ"), first)
        two = ((self.rng.random(len(sexes)) < TWO_GIVEN_NAMES_SHARE) | first_particle) & (first != second)
        return np.where(two, first + " " + second, first)

    def _names_by_sex(self, female: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One given name per person and whether it is a particle name like "DEL CARMEN"."""
        n = len(female)
        female_pick = self.rng.choice(len(FEMALE_NAMES), n, p=FEMALE_P)
        male_pick = self.rng.choice(len(MALE_NAMES), n, p=MALE_P)
        names = np.where(female, FEMALE_NAMES[female_pick], MALE_NAMES[male_pick])
        particle = np.where(female, _FEMALE_PARTICLE[female_pick], _MALE_PARTICLE[male_pick])
        return names, particle

    def surnames(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw (first surname, second surname) pairs, each from the surname distribution."""
        first = SURNAMES[self.rng.choice(len(SURNAMES), n, p=SURNAME_P)]
        second = SURNAMES[self.rng.choice(len(SURNAMES), n, p=SURNAME_P)]
        return first, second

    def birth_states(self, n: int) -> np.ndarray:
        """Draw states of birth (ISO 3166-2:VE names) weighted by population."""
        return STATES[self.rng.choice(len(STATES), n, p=STATE_P)]

    def birth_dates(self, n: int) -> np.ndarray:
        """Draw birth dates (numpy datetime64[D]) with more young people than old."""
        years = np.arange(FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR + 1)
        weights = np.exp(-(LAST_BIRTH_YEAR - years) / AGE_SCALE_YEARS)
        year = self.rng.choice(years, n, p=weights / weights.sum())
        starts = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
        day_of_year = (self.rng.random(n) * 365).astype(np.int64)
        return starts + day_of_year.astype("timedelta64[D]")

    def cedulas(self, birth_dates: np.ndarray) -> np.ndarray:
        """Assign unique cédula numbers that rise with birth date, as the real series does."""
        n = len(birth_dates)
        order = np.argsort(birth_dates, kind="stable")
        # Sorted draws plus their rank are strictly increasing, hence unique, and stay in range.
        draws = np.sort(self.rng.integers(0, LAST_CEDULA - FIRST_CEDULA - n, n))
        numbers = np.empty(n, dtype=np.int64)
        numbers[order] = FIRST_CEDULA + draws + np.arange(n)
        # V11111111, V12345678 name nobody and are refused at every door (`identifiers.placeholder_cedula`): such a
        # draw becomes the next number free (red team round 17, O-F1 neighbour).
        taken = set(numbers.tolist())
        for index in np.flatnonzero([identifiers.placeholder_cedula(f"V{number}") for number in numbers.tolist()]):
            number = int(numbers[index])
            while number in taken or identifiers.placeholder_cedula(f"V{number}"):
                number += 1
            taken.add(number)
            numbers[index] = number
        return numbers

    def sample_columns(self, n: int) -> dict[str, np.ndarray]:
        """Draw `n` people as columns: siblings share both surnames and the state of birth.

        Keys: given_names, first_surname, second_surname, sex, birth_date (datetime64[D]),
        birth_state, cedula (int64, unique).
        """
        sizes = self.rng.geometric(1 / MEAN_SIBLINGS, n)
        families = min(int(np.searchsorted(np.cumsum(sizes), n)) + 1, n)
        family_of = np.repeat(np.arange(families), sizes[:families])[:n]
        first, second = self.surnames(families)
        states = self.birth_states(families)
        family_births = self.birth_dates(families)
        # Siblings are born within about a dozen years of each other; a few are twins.
        offsets = self.rng.integers(-2200, 2200, n).astype("timedelta64[D]")
        twins = self.rng.random(n) < TWIN_SHARE
        offsets = np.where(twins, np.timedelta64(0, "D"), offsets)
        birth_dates = family_births[family_of] + offsets
        # A sibling who would be born after the last year is born that much earlier instead.
        too_late = birth_dates > np.datetime64(f"{LAST_BIRTH_YEAR}-12-31", "D")
        birth_dates[too_late] = family_births[family_of][too_late] - offsets[too_late]
        sexes = self.sexes(n)
        return {
            "given_names": self.given_names(sexes),
            "first_surname": first[family_of],
            "second_surname": second[family_of],
            "sex": sexes,
            "birth_date": birth_dates,
            "birth_state": states[family_of],
            "cedula": self.cedulas(birth_dates),
        }

    def sample_people(self, n: int) -> list[dict[str, object]]:
        """Draw `n` people as dicts (birth_date a `date`, cédula written "V-12345678")."""
        columns = self.sample_columns(n)
        days = (columns["birth_date"] - _EPOCH).astype(np.int64)
        epoch = date(1970, 1, 1).toordinal()
        return [
            {
                "given_names": str(columns["given_names"][i]),
                "first_surname": str(columns["first_surname"][i]),
                "second_surname": str(columns["second_surname"][i]),
                "sex": str(columns["sex"][i]),
                "birth_date": date.fromordinal(epoch + int(days[i])),
                "birth_state": str(columns["birth_state"][i]),
                "cedula": format_cedula(int(columns["cedula"][i])),
            }
            for i in range(n)
        ]
