"""The rows of a case list (CSV or XLSX, the spreadsheets agencies use): its columns and their checks.

The import is all or nothing: `validate` reads the whole file and reports every bad row (row
number as the official sees it, column, value, what was expected); only a report without
errors may be stored. The file is read and each column parsed by the import framework
(`retorno.imports.rows`); this module adds what is particular to case lists: the columns and
their parsers, the checks that need more than one cell (dates against each other and today,
cédulas by nationality, a document's type against its number), households (every household
reference resolves; a minor has an adult in the household) and possible duplicates. Nothing
here touches the database: `travel.load` stores `CaseReport.rows`, keyed by the sending
agency's case reference.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from itertools import compress, repeat
from pathlib import Path
from typing import Any, NamedTuple, overload

import airportsdata
import pycountry

from retorno import identifiers
from retorno.cases.duplicates import ELSEWHERE, Person, PossibleDuplicate, describe_reason, find_duplicates
from retorno.config import Settings
from retorno.imports.rows import MESSAGES as SHARED_MESSAGES
from retorno.imports.rows import Column, ImportReport, InvalidValue, Sheet, parse_date, read_sheet, text
from retorno.imports.rows import reference as own_reference
from retorno.names import fold, foreign_letters, has_letter, mojibake, normal
from retorno.safeguards import IDENTITY_FIELDS, is_minor

MESSAGES: dict[str, tuple[str, str]] = SHARED_MESSAGES | {
    "letters": ("un nombre con letras", "a name with letters"),
    "latin_letters": ("un nombre en letras latinas A-Z (con tildes, Ñ, apóstrofos, guiones y puntos; sin cifras, "
                      "signos ni letras de otro alfabeto), como lo escriben un manifiesto y la zona de lectura "
                      "mecánica de un pasaporte (OACI Doc 9303); hay {letters}",
                      "a name in Latin letters A-Z (accents, Ñ, apostrophes, hyphens and full stops allowed; no "
                      "digits, signs or letters of another alphabet), as a manifest and a passport's machine "
                      "readable zone write it (ICAO Doc 9303); found {letters}"),
    "mojibake": ("un nombre con sus letras: parece texto escrito en UTF-8 y leído como Latin-1 o Windows-1252 (hay "
                 "{found}, como ú se lee Ãº y é Ã©); escriba el nombre de nuevo o guarde el archivo como UTF-8",
                 "a name with its letters: it looks like text written in UTF-8 and read as Latin-1 or Windows-1252 "
                 "(found {found}, as ú reads Ãº and é Ã©); type the name again or save the file as UTF-8"),
    "mojibake_place": ("un lugar con sus letras: parece texto escrito en UTF-8 y leído como Latin-1 o Windows-1252 "
                       "(hay {found}, como ú se lee Ãº y é Ã©); escriba el lugar de nuevo o guarde el archivo como "
                       "UTF-8",
                       "a place with its letters: it looks like text written in UTF-8 and read as Latin-1 or "
                       "Windows-1252 (found {found}, as ú reads Ãº and é Ã©); type the place again or save the file "
                       "as UTF-8"),
    "date_future": ("una fecha que no esté en el futuro (hoy es {today})",
                    "a date that is not in the future (today is {today})"),
    "date_1900": ("una fecha desde el 1900-01-01", "a date from 1900-01-01 on"),
    "before_birth": ("una fecha no anterior al nacimiento ({birth})", "a date not before birth ({birth})"),
    "sex": ("M, F o X (también H, hombre, mujer)", "M, F or X (also male, female)"),
    "country": ("un código de país ISO 3166-1 de 2 o 3 letras (p. ej. VE o VEN)",
                "an ISO 3166-1 country code of 2 or 3 letters (e.g. VE or VEN)"),
    "cedula": ("una cédula venezolana: V o E opcional y de 1 a 9 dígitos sin cero inicial "
               "(p. ej. V-12.345.678)",
               "a Venezuelan cédula: optional V or E, then 1 to 9 digits without a leading zero "
               "(e.g. V-12.345.678)"),
    "cedula_placeholder": ("una cédula real, no una cifra o un grupo corto repetido ni una serie de cifras de 6 "
                           "cifras o más (V11111111, V12345678, V12121212 no nombran a nadie: los registros de una "
                           "persona se vinculan por la cédula); vacío si no se conoce",
                           "a real cédula, not a digit or a short pattern repeated nor a run of digits of 6 digits or "
                           "more (V11111111, V12345678, V12121212 name nobody: one person's records are linked by "
                           "the cédula); empty when it is not known"),
    "ascii_identifier": ("un número de letras latinas (A-Z), cifras (0-9) y signos del teclado, sin letras de "
                         "otros alfabetos: los registros de una persona se vinculan por ese número",
                         "a number of Latin letters (A-Z), digits (0-9) and keyboard signs, without letters of other "
                         "alphabets: one person's records are linked by that number"),
    "relationship": ("titular, conyuge, hijo, padre, hermano u otro",
                     "head, spouse, child, parent, sibling or other"),
    "document_type": ("P (pasaporte), PE (documento de emergencia), ID o ninguno",
                      "P (passport), PE (emergency document), ID or none"),
    "passport_number": ("un número de pasaporte de hasta 9 letras (A-Z) y dígitos",
                        "a passport number of up to 9 letters (A-Z) and digits"),
    "document_number": ("un número de documento de hasta 20 letras (A-Z) y dígitos",
                        "a document number of up to 20 letters (A-Z) and digits"),
    "document_number_placeholder": ("un número de documento real, de 5 caracteres o más, con alguna cifra distinta "
                                    "de 0, que no sea una serie de cifras ni un carácter o un grupo corto repetido "
                                    "(000000000, SINDOC, 123456789, 121212121 no nombran ningún documento: los "
                                    "registros de una persona se vinculan por ese número); vacío si no se conoce",
                                    "a real document number, of 5 characters or more, with a digit other than 0, "
                                    "neither a run of digits nor a character or a short pattern repeated (000000000, "
                                    "SINDOC, 123456789, 121212121 name no document: one person's records are linked "
                                    "by that number); empty when it is not known"),
    "number_without_type": ("un tipo de documento en {column} para este número",
                            "a document type in {column} for this number"),
    "type_without_number": ("el número del documento en {column}", "the document number in {column}"),
    "identity_locked": ("la identidad tal como consta: {case} ya embarcó y su identidad no puede cambiar",
                        "the identity as recorded: {case} has boarded, and their identity cannot change"),
    "identity_decided": ("la identidad tal como consta: la autoridad receptora decidió que {case} no es nacional "
                         "con esa identidad, que ya no cambia",
                         "the identity as recorded: the receiving authority found {case} not a national on it, and "
                         "it no longer changes"),
    "identity_closed": ("la identidad tal como consta: {case} está cerrado (retirado o no apto para volar) y su "
                        "identidad ya no cambia",
                        "the identity as recorded: {case} is closed (withdrawn or unfit to fly), and its identity no "
                        "longer changes"),
    "identity_on_locked_manifest": (
        "la identidad tal como consta: {case} está en el manifiesto bloqueado del vuelo {flight}, y cambiarla lo saca "
        "de él, lo que requiere antes que un supervisor de cada parte apruebe su retiro",
        "the identity as recorded: {case} is on the locked manifest of flight {flight}, and changing it takes them off "
        "it, which needs a supervisor of each side to approve the removal first"),
    "identity_leaves_manifest": (
        "{case} está en el manifiesto del vuelo {flight}: cambiar su identidad abre de nuevo la verificación y lo saca "
        "de él, con su hogar (el caso vuelve a verificación; los demás miembros, a «listo»)",
        "{case} is on the manifest of flight {flight}: changing their identity opens verification again and takes them "
        "off it, with their household (the case back to verification, the other members back to ready)"),
    "case_arrived": ("el valor tal como consta: {case} ya llegó y el lado de envío ya no cambia el caso",
                     "the value as recorded: {case} has arrived, and the sending side no longer changes the case"),
    "nationality_registered": ("la nacionalidad registrada, {registered}: {case} se registró con ella y una "
                               "importación no la cambia, como ninguna otra vía (si era un error, retire el caso "
                               "y registre a la persona de nuevo con otra referencia)",
                               "the registered nationality, {registered}: {case} was registered with it, and an "
                               "import does not change it, as no other door does (if it was wrong, withdraw the "
                               "case and register the person again under another reference)"),
    "airport": ("un código IATA de aeropuerto de 3 letras (p. ej. TAP)",
                "a 3-letter IATA airport code (e.g. TAP)"),
    "language": ("un código de idioma ISO 639 (p. ej. es)", "an ISO 639 language code (e.g. es)"),
    "household_unresolved": ("un hogar que exista: un código de hogar de su agencia (registrado por cualquier vía) "
                             "o compartido por varias filas del archivo, o la referencia de un caso del archivo o "
                             "ya registrado por su agencia (la suya o la del sistema, p. ej. MX-2026-000123); "
                             "este valor no nombra ninguno",
                             "a household that exists: a household code of your agency (registered by any door) or "
                             "shared by rows of the file, or the reference of a case in the file or held by your "
                             "agency (your own or the system's, e.g. MX-2026-000123); this value names none"),
    "minor_alone": ("un adulto del mismo hogar (un menor solo requiere determinación del interés superior)",
                    "an adult of the same household (a minor alone needs a best-interests determination)"),
    "child_not_younger": ("un hijo o hija más joven que el titular del hogar (nacido el {head_birth}, fila {row}); "
                          "revise el parentesco o la fecha de nacimiento",
                          "a child younger than the household's head (born on {head_birth}, row {row}); check the "
                          "relationship or the birth date"),
    "parent_not_older": ("un padre o una madre mayor que el titular del hogar (nacido el {head_birth}, fila {row}); "
                         "revise el parentesco o la fecha de nacimiento",
                         "a parent older than the household's head (born on {head_birth}, row {row}); check the "
                         "relationship or the birth date"),
    "minor_spouse": ("un cónyuge mayor de edad: un menor registrado como cónyuge o pareja es un caso que revisar "
                     "en la evaluación de protección",
                     "a spouse of age: a minor recorded as a spouse or partner is a case for the protection "
                     "screening to look at"),
    "duplicate": ("otra persona (posible duplicado {other}: {reason}); lo decide una persona",
                  "a different person (possible duplicate {other}: {reason}); a person decides"),
    "system_shaped": ("la referencia propia de su agencia: {reference} tiene la forma de una referencia del sistema "
                      "(PP-AAAA-NNNNNN), la que Retorno da a cada caso, y no es la de ningún caso de su agencia",
                      "your agency's own reference: {reference} is in the form of a system reference (CC-YYYY-NNNNNN), "
                      "the one Retorno gives each case, and is that of no case of your agency"),
    "system_reference_of": ("la referencia propia de su agencia: {reference} es la referencia del sistema de su caso "
                            "de referencia propia {agency_reference}; escriba esa en esta columna",
                            "your agency's own reference: {reference} is the system reference of your case whose own "
                            "reference is {agency_reference}; write that one in this column"),
    "household_ambiguous": ("un valor que nombre un solo hogar: {name} es a la vez la referencia del sistema de su "
                            "caso de referencia propia {agency_reference} y un código de hogar de su agencia "
                            "registrado antes de que se rechazaran los códigos con esa forma; escriba la referencia "
                            "propia de un miembro del hogar que quiere nombrar",
                            "a value that names one household: {name} is both the system reference of your case "
                            "whose own reference is {agency_reference} and a household code of your agency "
                            "registered before codes of that form were refused; write the own reference of a member "
                            "of the household you mean"),
    "household_names_two": ("un valor que nombre un solo hogar: {name} es a la vez la referencia de un caso (de "
                            "este archivo o de su agencia) y el código de otro hogar de su agencia; escriba el código "
                            "del hogar que quiere nombrar, o dé al caso otra referencia",
                            "a value that names one household: {name} is both the reference of a case (of this file "
                            "or of your agency) and the code of another household of your agency; write the code of "
                            "the household you mean, or give the case another reference"),
    "household_code_slash": ("un código de hogar sin «/»: las demás agencias leen cada hogar como AGENCIA/CÓDIGO, y "
                             "{name} se leería como el hogar de otra agencia",
                             "a household code without '/': other agencies read each household as AGENCY/CODE, and "
                             "{name} would read as another agency's household"),
    "household_on_locked_manifest": (
        "un hogar que pueda crecer: {name} tiene a un miembro en el manifiesto cerrado del vuelo {flight}, del que un "
        "nuevo miembro lo sacaría, y eso requiere antes que un supervisor de cada parte apruebe su retiro",
        "a household that may grow: {name} has a member on the locked manifest of flight {flight}, whom a new member "
        "would take off it, which needs a supervisor of each side to approve the removal first"),
    "household_leaves_manifest": (
        "un nuevo miembro del hogar {name}, cuyos miembros están en el manifiesto del vuelo {flight}: importar esta "
        "fila los saca de él (vuelven a «listo») para que el hogar viaje junto; se planifica de nuevo con el hogar "
        "entero",
        "a new member of household {name}, whose members are on the manifest of flight {flight}: importing this row "
        "takes them off it (back to ready) so that the household travels together; plan it again with the whole "
        "household"),
    "household_boarded": (
        "un hogar que pueda crecer: {household} tiene miembros que embarcaron en el vuelo {flight} (van de camino o ya "
        "llegaron) y nadie se le une; registre el caso en un hogar propio",
        "a household that may grow: {household} has members who boarded flight {flight} (on their way or home) and "
        "nobody joins it; register the case in a household of its own"),
    "household_person_boarded": (
        "un hogar que pueda crecer: un miembro de {household} embarcó en un vuelo por otro registro de su persona (va "
        "de camino o ya llegó) y nadie se le une; registre el caso en un hogar propio",
        "a household that may grow: a member of {household} boarded a flight by another record of their person (on "
        "their way or home) and nobody joins it; register the case in a household of its own"),
    "household_two_heads": ("un solo titular por hogar: las filas {rows} son titulares del mismo hogar",
                            "one head per household: rows {rows} are heads of the same household"),
    "household_without_head": ("un titular del hogar en una de sus filas: ningún caso del hogar que esta fila forma "
                               "o integra es su titular (parentesco «titular»)",
                               "a head of the household on one of its rows: no case of the household this row makes "
                               "or joins is its head (relationship 'head')"),
    "household_moved": ("el hogar en que está el caso, {household}: una reimportación no cambia un caso de hogar "
                        "(se corrige en la página del caso)",
                        "the household the case is in, {household}: a re-import does not move a case between "
                        "households (it is corrected on the case's page)"),
    "household_has_head": ("un parentesco distinto de «titular»: el hogar {household} ya tiene titular ({head}), y un "
                           "hogar tiene uno",
                           "a relationship other than 'head': household {household} has its head already ({head}), "
                           "and a household has one"),
    "household_correction_state": (
        "el parentesco que consta: {case} está en un manifiesto, o ya embarcó, y su hogar solo se corrige mientras "
        "espera fuera de todo manifiesto, antes de embarcar (un supervisor, en la página del caso)",
        "the relationship as recorded: {case} is on a manifest, or has boarded, and their household is corrected only "
        "while they wait off every manifest, before boarding (by a supervisor, on the case's page)"),
    "household_head_leaves": ("«titular»: el caso es el titular del hogar {household}, que se quedaría sin él",
                              "'head': the case is the head of household {household}, which would have none"),
    # What a row is a possible duplicate of ("de el" is "del" in Spanish: red team round 55, F4).
    "row": ("de la fila {row}", "of row {row}"),
    "held_case": ("del caso registrado {reference}", "of held case {reference}"),
    "elsewhere_case": ("de un caso que otra agencia tiene registrado", "of a case another agency holds"),
    "elsewhere_alike": ("se parecen", "they are alike"),
    "no_rows": ("al menos una fila de casos", "at least one case row"),
}


class CaseRow(NamedTuple):
    """A valid row of the case list, normalised (dates parsed, codes as stored, names as typed).

    Its fields after `row_number` are the columns' (`COLUMNS`, in that order), then `is_minor`.
    """

    row_number: int
    case_reference: str
    household_reference: str | None
    relationship: str | None
    given_names: str
    first_surname: str
    second_surname: str | None
    sex: str
    birth_date: date
    place_of_birth: str | None
    country_of_birth: str | None
    nationality: str
    national_id: str | None
    document_type: str | None
    document_number: str | None
    held_at: str
    nearest_airport: str | None
    detained_since: date
    language: str
    contact: str | None
    notes: str | None
    is_minor: bool


class CaseRows(Sequence[CaseRow]):
    """The valid rows of a case list, held column by column; a CaseRow is made when a row is read.

    A hundred thousand row objects alive at once would be followed by the garbage collector at
    every pass; lists of plain values are not. Writers take the columns (`column`) as they are.
    """

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        self._columns = columns
        self._ordered = [columns[name] for name in CaseRow._fields]

    def column(self, name: str) -> list[Any]:
        """The values of field `name`, one per row."""
        return self._columns[name]

    def select(self, keep: Sequence[bool]) -> CaseRows:
        """The rows whose flag in `keep` is true."""
        return CaseRows({name: list(compress(values, keep)) for name, values in self._columns.items()})

    def __len__(self) -> int:
        return len(self._ordered[0])

    @overload
    def __getitem__(self, index: int) -> CaseRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[CaseRow]: ...
    def __getitem__(self, index: int | slice) -> CaseRow | list[CaseRow]:
        if isinstance(index, slice):
            return list(self)[index]
        return CaseRow._make(values[index] for values in self._ordered)

    def __iter__(self) -> Iterator[CaseRow]:
        # tuple.__new__ straight from C: no Python call per row.
        return map(tuple.__new__, repeat(CaseRow), zip(*self._ordered, strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CaseRows):
            return self._columns == other._columns
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class LockedIdentity:
    """A held case whose person has boarded (`lifecycle.identity_locked`) or was found not a national: its reference
    and identity as stored."""

    reference: str
    identity: dict[str, Any]  # each of safeguards.IDENTITY_FIELDS
    # Why it is locked: boarded ("identity_locked"), found not a national ("identity_decided"), closed: withdrawn or
    # unfit to fly ("identity_closed"), or on a locked manifest without both sides' consent to taking them off it
    # ("identity_on_locked_manifest", naming `flight`).
    code: str = "identity_locked"
    flight: str = ""
    # Not locked, but told: a passenger of a manifest not locked, whom a change of identity takes off it with their
    # household ("identity_leaves_manifest", a warning: red team round 42, L1).
    warns: bool = False


# The column of the row that declares each identity field of a case (the same name unless said here).
_IDENTITY_COLUMN = {name: name for name in IDENTITY_FIELDS} | {"declared_document_number": "document_number"}


@dataclass
class CaseReport(ImportReport[CaseRow]):
    """A checked case list: its rows, every problem, and the possible duplicates (each also a warning)."""

    duplicates: list[PossibleDuplicate] = field(default_factory=list)


_EARLIEST = EARLIEST_DATE = date(1900, 1, 1)
# ASCII digits only ([0-9], not \d, which takes every script's digits): the text is folded first (`identifiers.fold`).
_CEDULA = re.compile(r"(?:([VE])\s*-?\s*)?([1-9][0-9]{0,8}|[1-9][0-9]{0,2}(?:\.[0-9]{3}){1,2})")
_DOCUMENT_NUMBER = re.compile(r"[A-Z0-9]{1,20}")
_SPACES_AND_HYPHENS = re.compile(r"[\s-]")
_PASSPORT_NUMBER = re.compile(r"[A-Z0-9]{1,9}")

_SEX = {"M": "M", "H": "M", "HOMBRE": "M", "MASCULINO": "M", "MALE": "M", "F": "F", "MUJER": "F",
        "FEMENINO": "F", "FEMALE": "F", "X": "X"}
_RELATIONSHIP = {"TITULAR": "head", "HEAD": "head", "CONYUGE": "spouse", "ESPOSO": "spouse",
                 "ESPOSA": "spouse", "SPOUSE": "spouse", "HIJO": "child", "HIJA": "child", "CHILD": "child",
                 "PADRE": "parent", "MADRE": "parent", "PARENT": "parent", "HERMANO": "sibling",
                 "HERMANA": "sibling", "SIBLING": "sibling", "OTRO": "other", "OTRA": "other",
                 "OTHER": "other"}
_DOCUMENT_TYPE: dict[str, str | None] = {
    "P": "P", "PASAPORTE": "P", "PASSPORT": "P", "PE": "PE", "EMERGENCIA": "PE", "EMERGENCY": "PE",
    "ID": "ID", "NONE": None, "NINGUNO": None, "NINGUNA": None}


@cache
def _country_codes() -> dict[str, str]:
    """ISO 3166-1 alpha-2 and alpha-3 codes, each mapped to alpha-3."""
    codes: dict[str, str] = {}
    for country in pycountry.countries:
        codes[country.alpha_2] = codes[country.alpha_3] = country.alpha_3
    return codes


@cache
def _language_codes() -> dict[str, str]:
    """ISO 639 codes (alpha-2 and alpha-3), each mapped to the shortest code of the language.

    Read from pycountry's own table of languages without making its objects (several times as long, paid by
    each process's first import)."""
    with open(Path(pycountry.DATABASE_DIR) / "iso639-3.json", encoding="utf-8") as table:
        languages = json.load(table)["639-3"]
    codes: dict[str, str] = {}
    for language in languages:
        short = language.get("alpha_2") or language["alpha_3"]
        codes[language["alpha_3"]] = short
        codes[short] = short
    return codes


@cache
def _airport_codes() -> frozenset[str]:
    """The IATA codes of airportsdata's airports, read from its table without making a record of each airport's
    eleven fields (five times as long, paid by each process's first import)."""
    with open(Path(airportsdata.__file__).parent / "airports.csv", encoding="utf-8", newline="") as table:
        rows = csv.reader(table)
        column = next(rows).index("iata")
        return frozenset(row[column] for row in rows) - {""}


def load_codes() -> None:
    """Read the countries', languages' and airports' codes now (a worker that is starting:
    `web.app.load_reference_data`)."""
    _country_codes()
    _language_codes()
    _airport_codes()


def known_airport(code: str) -> bool:
    """Whether `code` is the IATA code of an airport of the reference (airportsdata), wherever it is entered."""
    return code in _airport_codes()


def _name(value: str) -> str:
    if found := mojibake(value):  # as typed: `normal` reads the º of Ãº as o (red team round 11, RE8811 F2)
        raise InvalidValue("mojibake", found=found)
    stored = normal(value)  # as every door stores a name (red team round 5, C-F1)
    if not has_letter(stored):
        raise InvalidValue("letters")
    if found := foreign_letters(value):  # as typed: `normal` reads Mª as Ma (red team round 79, F7)
        raise InvalidValue("latin_letters", letters=found)
    return stored


def _code(table: dict[str, str], message: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        code = table.get(value.upper()) or table.get(fold(value))
        if code is None:
            raise InvalidValue(message)
        return code

    return parse


def _country(value: str) -> str:
    try:
        return _country_codes()[value.upper()]
    except KeyError:
        raise InvalidValue("country") from None


def known_language(code: str) -> bool:
    """Whether `code` is an ISO 639 code (alpha-2 or alpha-3) of a language, as the import reads it."""
    return code.lower() in _language_codes()


def _language(value: str) -> str:
    try:
        return _language_codes()[value.lower()]
    except KeyError:
        raise InvalidValue("language") from None


def _airport(value: str) -> str:
    code = value.upper()
    if len(code) != 3 or not known_airport(code):
        raise InvalidValue("airport")
    return code


def _document_type(value: str) -> str | None:
    try:
        return _DOCUMENT_TYPE[fold(value).replace(" ", "")]
    except KeyError:
        raise InvalidValue("document_type") from None


def _document_number(value: str) -> str:
    value = identifiers.fold(value)  # a full-width or Arabic-Indic digit is that digit (red team round 5, A-F1)
    # Spaces and hyphens taken out (a number of letters and digits alone has none: no expression run for it).
    number = value.upper() if value.isalnum() else _SPACES_AND_HYPHENS.sub("", value).upper()
    if not _DOCUMENT_NUMBER.fullmatch(number):
        raise InvalidValue("document_number")
    if identifiers.placeholder_document_number(number):
        # 000000000, SINDOC, 123456789: every record declaring one was the same person (red team rounds 16, F1;
        # 17, O-F1).
        raise InvalidValue("document_number_placeholder")
    return number


def normalise_cedula(value: str) -> str:
    """The Venezuelan cédula as stored: prefix V or E then the digits ('V-12.345.678' -> 'V12345678'), in ASCII
    whatever digits it was typed in ('V7１35786' -> 'V7135786': `identifiers.fold`)."""
    match = _CEDULA.fullmatch(identifiers.fold(value).strip().upper())
    if not match:
        raise InvalidValue("cedula")
    prefix, digits = match.groups()
    cedula = (prefix or "V") + digits.replace(".", "")
    if identifiers.placeholder_cedula(cedula):
        # V11111111, V12345678, V12121212: every record holding one was the same person (red team round 17, O-F1).
        raise InvalidValue("cedula_placeholder")
    return cedula


def national_id_of(value: str, nationality: object) -> str:
    """A national ID as stored: a Venezuelan's as a cédula (`normalise_cedula`), another's upper-case, folded to ASCII
    (`identifiers.fold`); refused (`InvalidValue`) if it is not one, or still holds something else than ASCII: records
    are linked by equality of it, which one number written in two alphabets would escape."""
    if nationality == "VEN":
        return normalise_cedula(value)
    folded = identifiers.fold(value).strip().upper()
    if not folded.isascii():
        raise InvalidValue("ascii_identifier")
    return folded


COLUMNS: tuple[Column, ...] = (
    # Longest texts: anything longer is almost always two cells run together.
    Column("case_reference", "referencia", "case_reference", True, own_reference, max_length=64),
    Column("household_reference", "hogar", "household_reference", False, own_reference, max_length=64),
    Column("relationship", "parentesco", "relationship", False, _code(_RELATIONSHIP, "relationship")),
    Column("given_names", "nombres", "given_names", True, _name),
    Column("first_surname", "primer_apellido", "first_surname", True, _name),
    Column("second_surname", "segundo_apellido", "second_surname", False, _name),
    Column("sex", "sexo", "sex", True, _code(_SEX, "sex")),
    Column("birth_date", "fecha_nacimiento", "birth_date", True, parse_date),
    Column("place_of_birth", "lugar_nacimiento", "place_of_birth", False),
    Column("country_of_birth", "pais_nacimiento", "country_of_birth", False, _country),
    Column("nationality", "nacionalidad", "nationality", True, _country),
    # Checked against the nationality once every column is read (a cédula is Venezuelan).
    Column("national_id", "cedula", "national_id", False),
    Column("document_type", "tipo_documento", "document_type", False, _document_type),
    Column("document_number", "numero_documento", "document_number", False, _document_number),
    Column("held_at", "lugar_custodia", "held_at", True),
    Column("nearest_airport", "aeropuerto_cercano", "nearest_airport", False, _airport),
    Column("detained_since", "fecha_ingreso", "detained_since", True, parse_date),
    Column("language", "idioma", "language", False, _language, default="es"),
    Column("contact", "telefono", "contact", False),
    Column("notes", "observaciones", "notes", False, text, max_length=2000),
)


def _check_dates(sheet: Sheet, today: date) -> None:
    """No date in the future or before 1900; detention not before birth."""
    births = sheet.values["birth_date"]
    for name in ("birth_date", "detained_since"):
        column = sheet.values[name]
        wrong = {day for day in set(column) if isinstance(day, date) and (day > today or day < _EARLIEST)}
        for index in [i for i, day in enumerate(column) if day in wrong] if wrong else ():
            day = column[index]
            assert isinstance(day, date)
            sheet.drop(index, name)
            if day > today:
                sheet.error(index, name, "date_future", today=sheet.date_text(today))
            else:
                sheet.error(index, name, "date_1900")
    detained = sheet.values["detained_since"]
    for index, (since, born) in enumerate(zip(detained, births, strict=True)):
        if since is not None and born is not None and since < born:  # type: ignore[operator]
            assert isinstance(born, date)
            sheet.drop(index, "detained_since")
            sheet.error(index, "detained_since", "before_birth", birth=sheet.date_text(born))


def _check_national_ids(sheet: Sheet) -> None:
    """A Venezuelan's national ID is a cédula, stored as prefix and digits; others as typed, upper-case, folded to
    ASCII and refused if still not ASCII (`national_id_of`)."""
    ids, nationalities = sheet.values["national_id"], sheet.values["nationality"]
    for index, (national_id, nationality) in enumerate(zip(ids, nationalities, strict=True)):
        if national_id is None:
            continue
        assert isinstance(national_id, str)
        try:
            ids[index] = national_id_of(national_id, nationality)
        except InvalidValue as invalid:
            sheet.error(index, "national_id", invalid.code, national_id)


def _check_documents(sheet: Sheet) -> None:
    """A document number needs its type, a type needs its number; a passport number has at most 9 characters."""
    numbers, kinds = sheet.values["document_number"], sheet.values["document_type"]
    typed = sheet.cells.get("document_number")
    bad_numbers, bad_kinds = sheet.invalid.get("document_number", set()), sheet.invalid.get("document_type", set())
    kind_label, number_label = sheet.labels["document_type"], sheet.labels["document_number"]
    for index, (number, kind) in enumerate(zip(numbers, kinds, strict=True)):
        if number is None and kind is None:
            continue
        # An unreadable document type has been reported already; the number alone says nothing more.
        if isinstance(number, str) and kind is None and index not in bad_kinds:
            sheet.error(index, "document_number", "number_without_type", column=kind_label)
        elif kind == "P" and isinstance(number, str) and not _PASSPORT_NUMBER.fullmatch(number):
            sheet.error(index, "document_number", "passport_number")
        elif isinstance(kind, str) and number is None and index not in bad_numbers and not (
                typed is not None and typed[index].strip()):
            sheet.error(index, "document_number", "type_without_number", "", column=number_label)


def _check_locked_identities(sheet: Sheet, locked: Mapping[str, LockedIdentity]) -> None:
    """A row naming a held case of a person who has boarded may not change their identity: each changed cell is an
    error, as `travel.service.update_case` would refuse the row (reported with every other bad row)."""
    if not locked:
        return
    in_file = {name: column for name, column in _IDENTITY_COLUMN.items() if column in sheet.position_of}
    for index, reference in enumerate(sheet.values["case_reference"]):
        held = locked.get(reference) if isinstance(reference, str) else None
        if held is None:
            continue
        if "nationality" in in_file and sheet.values["nationality"][index] not in (None, held.identity["nationality"]):
            # Refused at its nationality cell (`nationality_registered`): the row's other cells are read as another
            # nationality's (a cédula as typed), not as this case's.
            continue
        for field_name, column in in_file.items():  # a column the file does not have changes nothing
            value = sheet.values[column][index]
            if value is None and sheet.typed(index, column):
                continue  # a bad cell, already reported as such
            if value != held.identity[field_name]:
                tell = sheet.warning if held.warns else sheet.error
                tell(index, column, held.code, case=held.reference, flight=held.flight)


def _check_arrived(sheet: Sheet, arrived: Mapping[str, LockedIdentity]) -> None:
    """A row naming a held case of a person who has arrived changes nothing of it: the sending side's work ends at
    arrival (`travel.service.ensure_editable`), so each changed cell is an error reported with every other bad row,
    not a refusal of the whole file. `arrived`: by the agency's own reference, the case's other declared fields as
    stored, by column (its identity is `_check_locked_identities`')."""
    for index, reference in enumerate(sheet.values["case_reference"]):
        held = arrived.get(reference) if isinstance(reference, str) else None
        if held is None:
            continue
        for column, stored in held.identity.items():
            if column not in sheet.position_of:
                continue  # a column the file does not have changes nothing
            value = sheet.values[column][index]
            if value is None and sheet.typed(index, column):
                continue  # a bad cell, already reported as such
            if value != stored:
                sheet.error(index, column, "case_arrived", case=held.reference)


def _check_nationalities(sheet: Sheet, registered: Mapping[str, tuple[str, str]]) -> None:
    """A row naming a held case keeps the nationality it was registered with (agency reference -> its case's
    reference and nationality): a nationality names the state whose authority verifies and receives the person,
    which no door changes (the API's and the pages' edits have no such field), so a re-import does not either."""
    if not registered:
        return
    for index, reference in enumerate(sheet.values["case_reference"]):
        held = registered.get(reference) if isinstance(reference, str) else None
        nationality = sheet.values["nationality"][index]
        if held is not None and nationality is not None and nationality != held[1]:
            sheet.error(index, "nationality", "nationality_registered", case=held[0], registered=held[1])


def _rows(sheet: Sheet, today: date) -> CaseRows:
    """The rows without an error so far."""
    births = sheet.values["birth_date"]
    minor: dict[object, bool] = {born: is_minor(born, today) for born in set(births) if isinstance(born, date)}
    columns = {column.field: sheet.values[column.field] for column in COLUMNS}
    rows = CaseRows({"row_number": sheet.row_numbers, **columns, "is_minor": [minor.get(born) for born in births]})
    valid = set(sheet.valid())
    if len(valid) < len(sheet):
        rows = rows.select([index in valid for index in range(len(sheet))])
    return rows


def linked(households: Sequence[str | None], references: Sequence[str]) -> Callable[[str], str]:
    """The groups that household references make: a row joins the group of the code or case it names (each group
    named by the root its members' `root` returns; also `travel.households.plan`'s)."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for household, reference in zip(households, references, strict=True):
        if household is not None:
            parent[root(reference)] = root(household)
    return root


# Names of places, refused as the names of people are when they read as UTF-8 read as Latin-1 (red team round 12, F8).
_PLACE_FIELDS = ("place_of_birth", "held_at")


def _check_places(sheet: Sheet) -> None:
    """A place of birth or custody that reads as UTF-8 read as Latin-1 or Windows-1252 (MÃ©rida) is refused at its
    cell, as typed (`names.mojibake`); a column is looked at cell by cell only when it holds such a pair at all."""
    for name in _PLACE_FIELDS:
        cells = sheet.cells.get(name)
        if not cells or not mojibake("\x00".join(cells)):
            continue
        for index, cell in enumerate(cells):
            if found := mojibake(cell):
                sheet.error(index, name, "mojibake_place", found=found)
                sheet.drop(index, name)


def _read_own_system_references(sheet: Sheet, aliases: Mapping[str, str], own: Mapping[str, object]) -> None:
    """A referencia in the form of a system reference (`identifiers.system_shaped`, any country's) is no agency's own
    reference (red team round 11, RE8811 F1), refused at its cell. The system reference of a case of the agency
    (`aliases`: system reference -> own reference) is refused naming that case's own reference, to write instead: read
    as that case, a row meant as a new person's (the red team's) would rewrite the identity of the case it names. An
    own reference held from before the rule (`own`) that is no case's system reference is still its case's."""
    if not identifiers.any_system_shaped(sheet.values["case_reference"]):
        return
    for index, reference in enumerate(sheet.values["case_reference"]):
        if not isinstance(reference, str) or not identifiers.system_shaped(reference):
            continue
        alias = aliases.get(reference.strip().upper())
        if alias is not None:
            sheet.error(index, "case_reference", "system_reference_of", reference=reference, agency_reference=alias)
        elif reference not in own:
            sheet.error(index, "case_reference", "system_shaped", reference=reference)
        else:
            continue
        sheet.drop(index, "case_reference")


def _read_system_references(sheet: Sheet, aliases: Mapping[str, str], codes: Collection[str]) -> None:
    """A household cell naming a held case by its system reference (MX-2026-000123, as the pages and the API name
    it) names it as the agency's own reference does (`aliases`: system reference -> own reference). A cell in the
    form of a system reference names only that: the agency's case of that system reference, never a row of the file,
    a household code or an own reference held from before the rule (red team round 11, RE8811 F1: a child's row named
    MX-2026-001249, an agency reference the official had just given, and joined the household of the case whose
    system reference it is); one that is none is refused at its cell (`household_unresolved`).

    No household code of that form is made any more (`cases.service.validate_input`, red team round 12, F3); one of
    the agency's `codes` made before keeps its name when it is no case's system reference, and is refused at its
    cell when it is also one (`household_ambiguous`): a case is never picked over a household code, nor the other
    way round, without a word."""
    named = sheet.values["household_reference"]
    if not identifiers.any_system_shaped(named):
        return
    for index, name in enumerate(named):
        if not isinstance(name, str) or not identifiers.system_shaped(name):
            continue
        alias = aliases.get(name.strip().upper())
        if alias is not None and name in codes:
            sheet.error(index, "household_reference", "household_ambiguous", name=name, agency_reference=alias)
            sheet.drop(index, "household_reference")
        elif name in codes:
            continue
        elif alias is None:
            sheet.error(index, "household_reference", "household_unresolved", name)
            sheet.drop(index, "household_reference")
        else:
            named[index] = alias


def _check_household_codes(sheet: Sheet, first_row_of: Mapping[str, int], codes: Collection[str],
                           known: Callable[[str], bool] | None,
                           households_of: Callable[[Sequence[str]], Mapping[str, str | None]] | None) -> None:
    """A household cell names one household, never one of two (red team round 20, V-F1 and its neighbours):

    - a value that is the reference of a case (a row of the file, or a case the agency holds) and the code of another
      household of the agency is refused at its cell (`household_names_two`): read as the case, the rows joined the
      case's household while the official meant the code's, or a new household was made under that code and joined
      the stranger family that had it (two heads, a stranger the adult of its children);
    - a new household code holding '/' is refused at its cell (`household_code_slash`): other agencies read a
      household as AGENCY/CODE (`flights.outputs.household_shown`), so a code MX-INM/H00449 of MX-SRE read, to MX-SRE,
      as MX-INM's family, and a child put in it was shown as a member of that family. A code with '/' made before the
      rule is still named (`known`)."""
    named = sheet.values["household_reference"]
    cells = {name for name in named if isinstance(name, str)}
    if not cells:
        return
    coded = cells.intersection(codes)
    # A case held (a row of the file may be one, re-imported) named by the code of its own household names one.
    held = households_of(sorted(coded)) if coded and households_of is not None else {}
    two = {name for name in coded if (held[name] != name if name in held else name in first_row_of)}
    slashed = {name for name in cells - coded if "/" in name and name not in first_row_of
               and not (known is not None and known(name))}
    for index, name in enumerate(named) if two or slashed else ():
        if name in two:
            sheet.error(index, "household_reference", "household_names_two", name=name)
        elif name in slashed:
            sheet.error(index, "household_reference", "household_code_slash", name=name)
        else:
            continue
        sheet.drop(index, "household_reference")


def _check_households_aboard(sheet: Sheet, locked: Mapping[str, str], taken: Mapping[str, str],
                             held: Collection[str]) -> None:
    """A new row naming a household with a member on a locked manifest, whom the newcomer would take off it without
    both sides' consent (`locked`, by the household's names, to the flight), is refused at its cell: with every other
    bad row, not alone once they are mended (red team round 20, V-F2). One naming a household with a member on another
    manifest of a flight not yet flown (`taken`) is warned of at its cell: the newcomer takes them off it, as a
    registration does, and a check-only report says so first (red team round 32b, F2). A held case's row (`held`: a
    re-import) is no newcomer."""
    if not locked and not taken:
        return
    for index, (name, reference) in enumerate(zip(sheet.values["household_reference"], sheet.values["case_reference"],
                                                  strict=True)):
        if not isinstance(name, str) or reference in held:
            continue
        if name in locked:
            sheet.error(index, "household_reference", "household_on_locked_manifest", name=name, flight=locked[name])
            sheet.drop(index, "household_reference")
        elif name in taken:
            sheet.warning(index, "household_reference", "household_leaves_manifest", name=name, flight=taken[name])


def _check_households(sheet: Sheet, rows: CaseRows, first_row_of: dict[str, int],
                      known_case_reference: Callable[[str], bool] | None) -> None:
    """Every household reference resolves; every minor has an adult in the household (a warning).

    A household reference is a code the members share, or the reference of a case in the file or
    already held, or a household held (`known_case_reference` tells both); a household is the rows these
    references link.
    """
    named = sheet.values["household_reference"]
    uses = Counter(named)
    uses.pop(None, None)
    reaches_held: set[str] = set()
    unresolved: set[object] = set()
    for household, count in uses.items():
        if count > 1 or household in first_row_of:
            continue
        if known_case_reference is not None and known_case_reference(str(household)):
            reaches_held.add(str(household))
        else:
            unresolved.add(household)
    for index in [i for i, household in enumerate(named) if household in unresolved] if unresolved else ():
        sheet.error(index, "household_reference", "household_unresolved", str(named[index]))
    households, references = rows.column("household_reference"), rows.column("case_reference")
    # When no row names another row's case, a household is its code and a row without one is alone.
    root = linked(households, references) if not first_row_of.keys().isdisjoint(uses) else str
    groups = [root(household or reference) for household, reference in zip(households, references, strict=True)]
    # One head per household among the file's rows (those held too are counted when the rows are written,
    # `travel.load`): each head row of a household with two is named (red team round 20, V-F2: the whole file was
    # refused naming no row, and only once every other bad row was mended).
    heads_of: dict[str, list[int]] = {}
    for group, relationship, row_number in zip(groups, rows.column("relationship"), rows.column("row_number"),
                                               strict=True):
        if relationship == "head":
            heads_of.setdefault(group, []).append(row_number)
    two_heads = [numbers for numbers in heads_of.values() if len(numbers) > 1]
    if two_heads:
        index_of = {row_number: index for index, row_number in enumerate(sheet.row_numbers)}
        for numbers in two_heads:
            for number in numbers:
                sheet.error(index_of[number], "relationship", "household_two_heads",
                            rows=", ".join(map(str, numbers)))
    # A household the file alone makes (none of its rows a held case, none naming a held case or household) has its
    # head among its rows: each row of one without is refused at its relationship (red team round 42, M1: two rows
    # naming each other as their household, neither a head, were refused whole at the write, 422
    # household_without_head, after a check-only report that showed nothing wrong). One joining what is held is
    # counted with what is held when the rows are written (`travel.load`).
    known = known_case_reference or (lambda _name: False)
    touches_held = {group for group, household, reference in zip(groups, households, references, strict=True)
                    if known(reference) or (household is not None and household not in first_row_of
                                            and known(household))}
    headless = {group for group, household in zip(groups, households, strict=True) if household is not None}
    # A group with a household cell that names nothing is refused at that cell already.
    unresolved_groups = {group for group, household in zip(groups, households, strict=True) if household in unresolved}
    # A bad row (refused for another cell, so not among `rows`) may be the group's head, when its relationship says
    # head or cannot be read: its group waits for it mended. One that says it is another member is no head (red team
    # round 86, F2: a child's row with a bad date kept another child's headless household from being named).
    with_bad = {root(str(household or reference)) for household, reference, relationship in (
        (sheet.values["household_reference"][index], sheet.values["case_reference"][index],
         sheet.values["relationship"][index]) for index in sheet.bad)
        if (household or reference) and relationship in (None, "head")}
    headless -= touches_held | heads_of.keys() | unresolved_groups | with_bad
    if headless:
        index_of = {row_number: index for index, row_number in enumerate(sheet.row_numbers)}
        for group, row_number in zip(groups, rows.column("row_number"), strict=True):
            if group in headless:
                sheet.error(index_of[row_number], "relationship", "household_without_head")
    _check_relationships(sheet, rows, groups, heads_of)
    minors = rows.column("is_minor")
    # Households with an adult, in the file or among the cases held: whose adults the file does not show, and the
    # write's checks read (`travel.service`), as a held case re-imported keeps its household (red team round 67, F3: a
    # re-import without the household column warned every child held of being alone, and officials learn to ignore a
    # warning that is always there).
    cared_for = set(compress(groups, [not minor for minor in minors]))
    cared_for.update(map(root, reaches_held))
    cared_for.update(touches_held)
    alone = [index for index in compress(range(len(rows)), minors) if groups[index] not in cared_for]
    if alone:
        index_of = {row_number: index for index, row_number in enumerate(sheet.row_numbers)}
        for index in alone:
            sheet.warning(index_of[rows.column("row_number")[index]], "household_reference", "minor_alone",
                          households[index] or "")


def _check_relationships(sheet: Sheet, rows: CaseRows, groups: Sequence[str], heads_of: Mapping[str, list[int]]
                         ) -> None:
    """A relationship that the ages contradict is worth a look (a warning; red team round 67, F4): a child not
    younger than the household's head, a parent not older than the head (the head's row in the file), a minor
    recorded as a spouse."""
    births = rows.column("birth_date")
    numbers = rows.column("row_number")
    position = {number: index for index, number in enumerate(numbers)}
    head_birth = {group: births[position[found[0]]] for group, found in heads_of.items() if len(found) == 1}
    index_of = {row_number: index for index, row_number in enumerate(sheet.row_numbers)}
    for group, relationship, born, minor, number in zip(groups, rows.column("relationship"), births,
                                                        rows.column("is_minor"), numbers, strict=True):
        head = head_birth.get(group)
        if relationship == "spouse" and minor:
            sheet.warning(index_of[number], "relationship", "minor_spouse")
        elif head is None:
            continue
        elif relationship == "child" and born <= head:
            sheet.warning(index_of[number], "relationship", "child_not_younger", head_birth=head.isoformat(),
                          row=heads_of[group][0])
        elif relationship == "parent" and born >= head:
            sheet.warning(index_of[number], "relationship", "parent_not_older", head_birth=head.isoformat(),
                          row=heads_of[group][0])


def _flag_duplicates(sheet: Sheet, rows: Sequence[CaseRow], held: Sequence[Person], locale: str
                     ) -> list[PossibleDuplicate]:
    """Possible duplicates among the rows and against held cases, each a warning on its row."""
    duplicates = find_duplicates(rows, held)
    if not duplicates:
        return duplicates
    index_of = {row_number: index for index, row_number in enumerate(sheet.row_numbers)}
    # From the columns when the rows are held so: a hundred thousand row objects are not made for it.
    reference_on_row = dict(zip(rows.column("row_number"), rows.column("case_reference"), strict=True)) \
        if isinstance(rows, CaseRows) else {row.row_number: row.case_reference for row in rows}
    for duplicate in duplicates:
        reason = describe_reason(duplicate.reason, locale)
        if duplicate.other_row_number is not None:
            other = (sheet.say("row", row=duplicate.other_row_number)
                     + f" ({duplicate.other_case_reference})")
        elif (duplicate.other_case_reference or "").startswith(ELSEWHERE):
            # Another country's agency's: named to nobody, and not compared field by field either (the comparison
            # confirmed, row by row, a guessed name and birth date of a person held there: red team round 5, B-F1).
            other, reason = sheet.say("elsewhere_case"), sheet.say("elsewhere_alike")
        else:
            other = sheet.say("held_case", reference=duplicate.other_case_reference)
        sheet.warning(index_of[duplicate.row_number], "case_reference", "duplicate",
                      reference_on_row[duplicate.row_number], other=other, reason=reason)
    return duplicates


def validate(data: bytes, filename: str, *, today: date,
             known_case_reference: Callable[[str], bool] | None = None,
             held: Sequence[Person] = (), locked: Mapping[str, LockedIdentity] | None = None,
             locale: str = "es", max_unpacked: int = Settings.max_unpacked_bytes) -> CaseReport:
    """Read and check a whole case list; the report says which rows are bad and why (never raises).

    `known_case_reference` tells whether a household cell names something held, a case by the agency's reference or
    a household by its code (so a household may point at it); `held` are the cases already held, for duplicate
    detection; `locked` the held cases of people who have boarded, by the agency's own reference (a row may not
    change their identity); `locale` is the language of the `expected` texts; `max_unpacked` the installation's bound on
    what a workbook unpacks to. Import `report.rows` only when `report.ok`.
    """
    checked = check(data, filename, today=today, known_case_reference=known_case_reference, held=held,
                    locked=locked, locale=locale, max_unpacked=max_unpacked)
    checked.find_duplicates()
    return checked.report


@dataclass
class CheckedCases:
    """A case list checked but for its possible duplicates: `report` says whether it may be stored, and
    `find_duplicates` completes it (warnings only, so a writer may look for them while the rows are written)."""

    report: CaseReport
    _sheet: Sheet | None
    _held: Sequence[Person]
    _locale: str

    def refuse(self, row_number: int, name: str, code: str, /, **params: object) -> None:
        """An error the writer finds against what is held before it writes (`travel.households.problems`), at row
        `row_number`'s cell of field `name` as typed, in the report with every other problem; none where that cell
        has an error already."""
        sheet = self._sheet
        assert sheet is not None, "refuse before find_duplicates"
        label = sheet.labels[name]
        if any(problem.row_number == row_number and problem.column == label and problem.severity == "error"
               for problem in sheet.problems):
            return
        sheet.error(sheet.row_numbers.index(row_number), name, code, None, **params)

    def refused_names(self) -> set[str]:
        """The household cells and case references of the rows refused so far (`travel.households.problems`)."""
        sheet = self._sheet
        assert sheet is not None, "refused_names before find_duplicates"
        households, references = sheet.values["household_reference"], sheet.values["case_reference"]
        return {str(value) for index in sheet.bad for value in (households[index], references[index]) if value}

    def compare_also(self, held: Sequence[Person]) -> None:
        """More held cases to compare the rows with (another country's alike to a row, `travel.load`), before
        `find_duplicates`."""
        self._held = [*self._held, *held]

    def find_duplicates(self) -> None:
        """Add the possible duplicates to the report, each a warning on its row (once; no database is used)."""
        sheet, self._sheet = self._sheet, None
        if sheet is None:
            return
        rows = self.report.rows
        assert isinstance(rows, CaseRows)
        self.report.duplicates = _flag_duplicates(sheet, rows, self._held, self._locale)
        sheet.finish()  # the report's problems, with these warnings, in reading order again


def check(data: bytes, filename: str, *, today: date, known_case_reference: Callable[[str], bool] | None = None,
          held: Sequence[Person] = (), locked: Mapping[str, LockedIdentity] | None = None,
          arrived: Mapping[str, LockedIdentity] | None = None,
          nationalities: Mapping[str, tuple[str, str]] | None = None,
          system_references: Mapping[str, str] | None = None, household_codes: Collection[str] = (),
          households_of: Callable[[Sequence[str]], Mapping[str, str | None]] | None = None,
          households_aboard: tuple[Mapping[str, str], Mapping[str, str]] = ({}, {}),
          locale: str = "es", max_unpacked: int = Settings.max_unpacked_bytes) -> CheckedCases:
    """`validate` in two steps: every check that decides whether the file may be stored, and then (by
    `CheckedCases.find_duplicates`) the possible duplicates, which only warn. The report is `validate`'s once
    both are done. `arrived`: the held cases of people who have arrived, their other declared fields by column
    (`_check_arrived`). `nationalities`: the held cases' registered nationalities by the agency's own reference
    (with their case's reference), which a row may not change. `system_references`: the held cases' system
    references, each to the agency's own reference, so a household cell may name a held case by either;
    `household_codes`: the agency's household codes (one of a system reference's form names its household only when
    it is no case's system reference); `households_of`: of the agency's own references given, those of cases it holds,
    each with its household's code (`_check_household_codes`); `households_aboard`: the agency's households a newcomer
    may not join now, then those a newcomer takes off a manifest, each by its code and its members' own references, to
    the flight a member is on (`_check_households_aboard`)."""
    sheet = read_sheet(data, filename, COLUMNS, locale=locale, messages=MESSAGES, sheets=("CASOS", "CASES"),
                       max_unpacked=max_unpacked)
    if not sheet.readable:
        return CheckedCases(CaseReport([], sheet.finish()), None, held, locale)
    _read_own_system_references(sheet, system_references or {}, nationalities or {})
    _check_dates(sheet, today)
    _check_places(sheet)
    _check_national_ids(sheet)
    _check_documents(sheet)
    _check_locked_identities(sheet, locked or {})
    _check_arrived(sheet, arrived or {})
    _check_nationalities(sheet, nationalities or {})
    first_row_of = sheet.unique("case_reference")
    _read_system_references(sheet, system_references or {}, household_codes)
    _check_household_codes(sheet, first_row_of, household_codes, known_case_reference, households_of)
    _check_households_aboard(sheet, *households_aboard, (nationalities or {}).keys())
    rows = _rows(sheet, today)
    _check_households(sheet, rows, first_row_of, known_case_reference)
    return CheckedCases(CaseReport(rows, sheet.finish(), absent=sheet.absent(), encoding=sheet.encoding), sheet, held,
                        locale)


def parse_relationship(value: str) -> str:
    """A relationship to the household's head as its code (head, spouse, child, parent, sibling, other)."""
    return _code(_RELATIONSHIP, "relationship")(value)
