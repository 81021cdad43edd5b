"""Names as compared: look-alike letters of other alphabets, the Latin-letters rule, and names as Spanish says them."""

from __future__ import annotations

import re
import unicodedata

import pytest

from retorno.documents.mrz import icao_name_field
from retorno.names import _lookalikes, fold, foreign_letters, normal, phonetic_key, phonetic_word


@pytest.mark.parametrize(("typed", "folded"), [
    # Red team round 5 (A-F2): Cyrillic А Е Ј О Ѕ and Greek Ρ Ε Ν Α Ο Τ Ι Ζ were dropped, leaving LJNDR JS.
    ("АLЕЈАNDRО ЈЕЅÚЅ", "ALEJANDRO JESUS"),
    ("RОDRÍGUЕZ NÚÑЕZ", "RODRIGUEZ NUNEZ"),
    ("ΡΕΝΑ ΟRΤΙΖ", "PENA ORTIZ"),
    # Small letters as they look (Greek ν is v, its capital Ν is N), an accent on a look-alike (Ё).
    ("Mаrіа νictor", "MARIA VICTOR"),
    ("ЁLENA", "ELENA"),
    # Latin as before: accents, Ñ, full-width letters, ß.
    ("José Ñúñez", "JOSE NUNEZ"),
    ("ＪＯＳＥ", "JOSE"),
    ("Strauß", "STRAUSS"),
])
def test_fold_reads_look_alike_letters_as_the_latin_ones(typed: str, folded: str) -> None:
    assert fold(typed) == folded


def test_the_look_alikes_are_only_letters_fold_dropped_before() -> None:
    """Record linkage folds names too: what folded to a Latin letter before still folds to it, and each look-alike
    (all Cyrillic or Greek) folded to nothing."""
    table = _lookalikes()
    assert len(table) > 100
    for point, letter in table.items():
        character = chr(point)
        assert unicodedata.name(character).startswith(("CYRILLIC", "GREEK")), character
        assert re.fullmatch("[A-Z]", letter)
        before = "".join(c for c in unicodedata.normalize("NFKD", character.upper()) if not unicodedata.combining(c))
        assert not re.search("[A-Z]", before), character
    assert {table[ord(c)] for c in "АЕОРСНКТВМХ"} == set("AEOPCHKTBMX")
    assert table[ord("І")] == table[ord("Ι")] == "I"  # Unicode's prototype is a small L: in a name, a capital I


@pytest.mark.parametrize("name", ["José Ángel", "Núñez", "O'Brien", "D’Angelo", "Ma\u02bcria", "Pérez-Gil", "J. Luis",
                                  "Straße", "ＪＯＳＥ", "Çağlar", "Ærø", "Jose\u0301", "Nguyễn",
                                  "Nguye\u0302\u0303n"])
def test_latin_names_are_latin(name: str) -> None:
    assert foreign_letters(name) == ""


def test_other_alphabets_letters_are_named() -> None:
    assert foreign_letters("ΡΕΝΑ") == ("U+03A1 GREEK CAPITAL LETTER RHO, U+0395 GREEK CAPITAL LETTER EPSILON, "
                                       "U+039D GREEK CAPITAL LETTER NU, U+0391 GREEK CAPITAL LETTER ALPHA")
    assert foreign_letters("АLЕЈАNDRО") == ("U+0410 CYRILLIC CAPITAL LETTER A, U+0415 CYRILLIC CAPITAL LETTER IE, "
                                            "U+0408 CYRILLIC CAPITAL LETTER JE, U+041E CYRILLIC CAPITAL LETTER O")
    assert foreign_letters("Иван Петрович").endswith("(+6)")  # eleven letters
    assert "ARABIC" in foreign_letters("محمد")


@pytest.mark.parametrize(("written", "said"), [
    ("QUINTERO", "KINTERO"), ("KINTERO", "KINTERO"), ("VILLEGAS", "BIYEGAS"), ("BIYEGAS", "BIYEGAS"),
    ("ANTHONY", "ANTONI"), ("HERNANDEZ", "ERNANDES"), ("CISNEROS", "SISNEROS"), ("ROSSANA", "ROSANA"),
    ("WUILMER", "UILMER"), ("WILMER", "UILMER"), ("XIOMARA", "SIOMARA"), ("MAYRA", "MAIRA"), ("YOLANDA", "YOLANDA"),
    ("CHAVEZ", "CHABES"), ("GUILLERMO", "GIYERMO"), ("GERARDO", "YERARDO"), ("PHILIP", "FILIP"),
    ("ACCION", "AKSION"), ("JOHNNY", "YONI"),
    # Red team round 5 (C-F5): JH as Venezuela writes it, said as Spanish writes Y.
    ("JHONNY", "YONI"), ("JHOAN", "YOAN"), ("JHONATHAN", "YONATAN"), ("JHON", "YON"), ("YONNY", "YONI"),
    # Red team round 9 (M1): J as Y (and G before E or I, said as J), with an H or a doubled letter besides; Y before
    # a vowel past a silent H; an I beginning a word or between vowels before a vowel as Y.
    ("JOHANNA", "YOANA"), ("YOHANA", "YOANA"), ("YHOANA", "YOANA"), ("JHOANNA", "YOANA"), ("JENNIFER", "YENIFER"),
    ("YENIFFER", "YENIFER"), ("YHONATAN", "YONATAN"), ("JEFFERSON", "YEFERSON"), ("MARJORIE", "MARYORIE"),
    ("GIMENEZ", "YIMENES"), ("JIMENEZ", "YIMENES"), ("IOLANDA", "YOLANDA"), ("HIERRO", "YERO"),
    ("DAIANA", "DAYANA"), ("MAYRA", "MAIRA"), ("YSABEL", "ISABEL"), ("MARIA", "MARIA"),
])
def test_a_word_as_spanish_says_it(written: str, said: str) -> None:
    assert phonetic_word(written) == said


def test_a_names_phonetic_key_leaves_particles_out() -> None:
    assert phonetic_key("José Gregorio de la Cruz") == "YOSE GREGORIO KRUS"
    assert phonetic_key(None) == ""


# Red team round 5 (C-F1): compatibility forms of Latin letters were stored as typed, and mathematical ones folded to
# almost nothing (𝐒𝐢𝐟𝐨𝐧𝐭𝐞𝐬 to "S": upper-cased before they were decomposed, they stayed small and were dropped).
PLAIN_FORMS = [
    ("𝐒𝐢𝐟𝐨𝐧𝐭𝐞𝐬", "Sifontes"), ("𝑺𝒊𝒇𝒐𝒏𝒕𝒆𝒔", "Sifontes"), ("𝔖𝔦𝔣𝔬𝔫𝔱𝔢𝔰", "Sifontes"), ("Ｃａｒｌｏｓ", "Carlos"),
    ("Ⓒarlos", "Carlos"), ("Ⅽarlos", "Carlos"), ("Carloſ", "Carlos"), ("Carℓos", "Carlos"), ("Deﬁna", "Defina"),
    ("Carlos\u1680Jose", "Carlos Jose"), ("Carlos\u00a0Jose", "Carlos Jose"), ("Carlos\u3000Jose", "Carlos Jose"),
    ("  Ana   María ", "Ana María"), ("Jose\u0301", "José"),
]
# Letters a machine readable zone cannot write (IPA, dotless, small capitals), digits and signs.
NOT_LATIN = [
    ("Cᴀrlos", "U+1D00"), ("Cɑrlos", "U+0251"), ("ɡregorio", "U+0261"), ("Carlıos", "U+0131"), ("Caʀlos", "U+0280"),
    # Red team round 79 (F7): signs written above the line that `normal` read as letters, Mª José stored as Ma José.
    ("Mª José", "U+00AA FEMININE ORDINAL INDICATOR"), ("Juan Nº", "U+00BA MASCULINE ORDINAL INDICATOR"),
    ("ᴬna", "U+1D2C MODIFIER LETTER CAPITAL A"), ("Anaₐ", "U+2090 LATIN SUBSCRIPT SMALL LETTER A"),
    ("Cꭤrlos", "U+AB64"), ("ȷose", "U+0237"), ("Carl0s", "U+0030 DIGIT ZERO"), ("Carlos\u2800", "U+2800"),
    ("Carlos_Jose", "U+005F"), ("Carlos (Jose)", "U+0028"),
    # Red team round 6 (F3): accents stacked on a letter beyond the one it carries, or a mark on no letter.
    ("Del Rio\u0301\u0301\u0301", "U+0301 COMBINING ACUTE ACCENT"), ("Nun\u0303\u0308ez", "U+0308"),
    ("\u0301Ana", "U+0301"),
    # Red team round 24 (Z-F9): an overlay on a letter is no accent (o with a long solidus looks like ø), nor is any
    # mark that composes with no letter into a Latin letter with its accent.
    ("Fecesi\u0335ba", "U+0335 COMBINING SHORT STROKE OVERLAY"), ("Quixofe\u0338ba", "U+0338 COMBINING LONG SOLIDUS"),
    ("Ana\u20e5", "U+20E5"), ("Nu\u0354n\u0303ez", "U+0354"), ("Q\u0301uintero", "U+0301"),
]


@pytest.mark.parametrize(("typed", "stored"), PLAIN_FORMS)
def test_a_name_is_stored_in_its_plain_letters(typed: str, stored: str) -> None:
    assert normal(typed) == stored
    assert foreign_letters(typed) == ""


@pytest.mark.parametrize(("typed", "named"), NOT_LATIN)
def test_letters_a_machine_readable_zone_cannot_write_are_refused(typed: str, named: str) -> None:
    assert named in foreign_letters(typed)


def test_mathematical_letters_fold_whole() -> None:
    """A record stored as typed before the rule is compared, and written in a machine readable zone, whole."""
    for typed in ("𝐒𝐢𝐟𝐨𝐧𝐭𝐞𝐬", "𝑺𝒊𝒇𝒐𝒏𝒕𝒆𝒔", "𝔖𝔦𝔣𝔬𝔫𝔱𝔢𝔰", "Ｓｉｆｏｎｔｅｓ"):
        assert fold(typed) == "SIFONTES"
    assert fold("𝐌𝐢𝐜𝐡𝐚𝐞𝐥 𝐀𝐧𝐭𝐡𝐨𝐧𝐲") == "MICHAEL ANTHONY"
    assert icao_name_field("𝐒𝐢𝐟𝐨𝐧𝐭𝐞𝐬 Lugo", "Gregorio", 30) == "SIFONTES<LUGO<<GREGORIO<<<<<<<"
