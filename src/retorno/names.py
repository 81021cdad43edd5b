"""Name folding shared by imports, MRZ checks, duplicate detection and record linkage.

ICAO Doc 9303 transliteration drops accents and writes Ñ as N; sending-side lists do the
same inconsistently, so every comparison of names goes through `fold` first.

A name is written in Latin letters at every door (`foreign_letters`); a record stored before that rule may
hold Cyrillic or Greek letters that look like Latin ones (А, Е, О, Ρ...), which `fold` reads as those Latin
letters (`_LOOKALIKES`) instead of dropping them. Duplicate detection also compares names by how Spanish says
them (`phonetic_key`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

# Particles that Spanish surnames carry ("DE LA CRUZ", "DEL VALLE"): kept in the folded
# name but ignored when a comparison key is built, because lists drop them at random.
PARTICLES = frozenset({"DE", "DEL", "LA", "LAS", "LOS", "Y", "E", "DA", "DI", "VAN", "VON", "MC", "MAC"})

_NON_LETTER = re.compile(r"[^A-Z]+")
_SCRIPTS_ALIKE = ("CYRILLIC", "GREEK")
# Unicode's confusables (TS #39) give a capital I and a small L one prototype, "l": in a name, upper-cased, it is I.
_PROTOTYPE_OF_I = "l"
# A Latin small capital (ᴛ, ʜ, ʙ), some Cyrillic and Greek small letters' prototype, reads as its capital.
_SMALL_CAPITAL = re.compile(r"LATIN LETTER SMALL CAPITAL ([A-Z])")


def _latin_letter(glyph: str) -> str | None:
    """The letter A-Z that `glyph` (a confusables prototype) reads as in an upper-cased name, if it is one."""
    if glyph == _PROTOTYPE_OF_I:
        return "I"
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", glyph) if not unicodedata.combining(ch)).upper()
    if len(plain) == 1 and "A" <= plain <= "Z":
        return plain
    small_capital = _SMALL_CAPITAL.fullmatch(unicodedata.name(glyph, "")) if len(glyph) == 1 else None
    return small_capital.group(1) if small_capital else None


@cache
def _lookalikes() -> dict[int, str]:
    """Cyrillic and Greek letters that look like a Latin letter, each to that letter (А to A, Ρ to P, Ѕ to S), from
    Unicode's confusables as the confusable-homoglyphs package holds them; letters with no single Latin look-alike
    (Д, Λ) are not in it. Built once, when a name first holds a letter outside ASCII. None of these letters has a
    Latin letter in its compatibility decomposition: before, `fold` dropped them all, so nothing it read before
    reads otherwise now."""
    from confusable_homoglyphs.confusables import confusables_data  # loads its table: only when first needed

    table: dict[int, str] = {}
    for character, homoglyphs in confusables_data.items():
        if (len(character) != 1 or not character.isalpha()
                or not unicodedata.name(character, "").startswith(_SCRIPTS_ALIKE)):
            continue
        letters = [letter for glyph in homoglyphs if (letter := _latin_letter(glyph["c"])) is not None]
        if letters:
            table[ord(character)] = letters[0]
    return table


def latin_lookalike(text: str) -> str:
    """`text` with each letter outside ASCII written as the ASCII letter it looks like, in its case ('qwеrtyuiоp' with
    a Cyrillic е and о is 'qwertyuiop'; 'Zacarıas' with a dotless ı is 'Zacarias'; 'ñ' is 'n'), and anything else
    kept: what a guesser's list holds for a password (`agencies.service.guessed_soon`)."""
    if text.isascii():
        return text
    written = []
    for character in text.translate(_lookalikes()):
        if character.isascii():
            written.append(character)
            continue
        plain = "".join(ch for ch in unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", character).upper())
                        if not unicodedata.combining(ch)).translate(_lookalikes())
        written.append(plain if plain.isascii() and plain.isalpha() and character.isupper() else
                       plain.lower() if plain.isascii() and plain.isalpha() else character)
    return "".join(written)


def load_lookalikes() -> None:
    """Read Unicode's look-alike letters now (a worker that is starting: `web.app.load_reference_data`)."""
    _lookalikes()


@lru_cache(maxsize=200_000)
def _fold(text: str) -> str:
    if not text.isascii():
        # Look-alike letters as typed (a Greek ν reads as v, its capital as N), then those an accent or the
        # upper case leaves (Ά, Ё).
        text = text.translate(_lookalikes())
    # Decompose first so that accents become separate marks we can drop; removing
    # non-letters before this step would turn MUÑOZ into MUOZ. Decompose before upper-casing too: a mathematical
    # or Fraktur small letter (𝐢, 𝔦) has no capital of its own, and only its decomposition (i) has one; upper-cased
    # first, it stayed small and was dropped (red team round 5, C-F1: 𝐒𝐢𝐟𝐨𝐧𝐭𝐞𝐬 folded to "S").
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).upper())
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    if not ascii_only.isascii():
        ascii_only = ascii_only.translate(_lookalikes())
    ascii_only = ascii_only.replace("ß", "SS").replace("Æ", "AE").replace("Ø", "O").replace("Œ", "OE")
    return _NON_LETTER.sub(" ", ascii_only).strip()


def fold(text: str | None) -> str:
    """Upper-case `text`, drop accents (Ñ becomes N), and turn anything not A-Z into single spaces."""
    # Cached: a case list repeats the same given names and surnames thousands of times.
    return _fold(text) if text else ""


# Apostrophes, straight or typographic, that ICAO Doc 9303 Part 3 omits from a name (O'BRIEN -> OBRIEN).
APOSTROPHES = "'\u2019\u2018\u02bc\u0060\u00b4"
_APOSTROPHE = re.compile(f"[{APOSTROPHES}]")


def icao_words(text: str | None) -> list[str]:
    """A name's words transliterated as ICAO Doc 9303 Part 3 writes them in a machine readable zone.

    Apostrophes are omitted; every other punctuation mark (hyphen, comma, full stop...) separates
    words; letters are folded (`fold`). The MRZ and the PAXLST both write names this way.
    """
    return fold(_APOSTROPHE.sub("", text or "")).split()


def key(text: str | None) -> str:
    """Comparison key of a name: folded, particles removed, words joined by single spaces."""
    return " ".join(word for word in fold(text).split() if word not in PARTICLES)


# Particles a list may write joined to the surname they precede ("DELAROSA" for "DE LA ROSA"); the conjunctions
# (Y, E) join nothing.
_GLUED = PARTICLES - {"Y", "E"}


def glued_key(text: str | None) -> str:
    """Comparison key of a name with its particles joined to the word they precede, as a list that writes
    "Delarosa" for "De La Rosa" has it ("DE LA ROSA" and "DELAROSA" both give DELAROSA); a particle with no word
    after it, and the conjunctions, are left out as `key` leaves them."""
    words: list[str] = []
    pending = ""
    for word in fold(text).split():
        if word in _GLUED:
            pending += word
        elif word not in PARTICLES:
            words.append(pending + word)
            pending = ""
    return " ".join(words)


# Marks a name may hold besides its letters: a space, apostrophes (`APOSTROPHES`; one of them, U+02BC, is a modifier
# letter), a hyphen and a full stop.
_NOT_LETTERS = frozenset(APOSTROPHES + " -.")
# What a letter of a name may be once its accents are dropped (NFKD): A-Z, or a letter `fold` maps (ß Æ Ø Œ).
_PLAIN_LETTER = re.compile("[A-Za-zßÆæØøŒœ]+")
# Letters named in one message at most.
_MOST_NAMED = 5


def normal(text: str) -> str:
    """A person's name as every door stores it: compatibility forms read as the plain letters they are (NFKC:
    mathematical and Fraktur letters, full-width and circled ones, Roman numerals, ligatures, long s, ℓ, and spaces of
    other widths), composed (NFC), with runs of white space made one ASCII space, and stripped. A name stored as typed
    in 𝐒𝐢𝐟𝐨𝐧𝐭𝐞𝐬 compared with nothing, and its machine readable zone wrote S (red team round 5, C-F1)."""
    return " ".join(unicodedata.normalize("NFC", unicodedata.normalize("NFKC", text)).split())


def _latin(character: str) -> bool:
    """Whether `character` of a name (composed, NFC) may stand in it: a Latin letter with its accents composed into
    it (`_PLAIN_LETTER`), or a space, apostrophe, hyphen or full stop; never a mark (Unicode's categories Mn, Mc and
    Me) standing apart."""
    if character in _NOT_LETTERS:
        return True
    if unicodedata.category(character).startswith("M"):
        return False
    plain = "".join(c for c in unicodedata.normalize("NFKD", character) if not unicodedata.combining(c))
    return _PLAIN_LETTER.fullmatch(plain) is not None


_A_LETTER = re.compile(r"[^\W\d_]")


def has_letter(text: str) -> bool:
    """Whether a name (as `normal` stores it) holds a letter: one of apostrophes, hyphens, full stops and spaces alone
    ("'''", "-") prints as nothing on a manifest and a machine readable zone, and gives the comparison of one person's
    records nothing to compare (red team round 78, F1: the API took them; the import refused them)."""
    return bool(_A_LETTER.search(text))


# Compatibility forms that NFKC (`normal`) reads as a letter but that are written above or below a line: the ordinal
# indicators ª and º (Mª for María, Nº), superscript and subscript letters (ᴬ, ₐ). Stored as read, Mª José became
# "Ma José" (red team round 79, F7): another name, which a manifest and a machine readable zone print as if it were
# hers. A letter in another style (𝐒, Ⓒ, a Roman numeral Ⅽ, red team round 5, C-F1), written wide (Ｊ) or joined
# (ﬁ) is that letter, and is read as it.
_SIGN_FORMS = ("<super>", "<sub>")


def _letter_sign(character: str) -> bool:
    """Whether `character` (as typed) is a sign `normal` would read as a letter (`_SIGN_FORMS`)."""
    return not character.isascii() and unicodedata.decomposition(character).startswith(_SIGN_FORMS)


def foreign_letters(text: str | None) -> str:
    """The characters of a person's name (read as `normal` stores it) that are not Latin letters, named by code point
    and Unicode name (the first few), or '' when there is none. A Latin letter is one a passport's machine readable
    zone can write: A-Z with its accents (Ñ, Ç), or ß, Æ, Ø, Œ (`fold`); besides them a name holds spaces,
    apostrophes, hyphens and full stops. A name on a manifest, a PAXLST and a machine readable zone is written so
    (ICAO Doc 9303), and a Cyrillic or Greek letter that looks like a Latin one (А, Ρ) makes a name that reads the
    same and compares otherwise, so every door refuses one (`cases.service.validate_input`, `cases.rows`). So are
    digits and signs (Carl0s, a Braille blank), and the Latin letters that are no letter A-Z with accents: IPA ɑ and
    ɡ, dotless ı and ȷ, small capitals (ᴀ, ʀ).

    A mark (a combining character) is a name's only as an accent of a Latin letter: one that NFC composes with its
    letter into a letter of its own (José typed as Jose and U+0301 is stored José; e with a circumflex and a tilde,
    ễ). Any mark NFC leaves standing apart is refused and named: a second accent stacked on a letter beyond the one
    it carries (Rió́́, red team round 6, F3), a mark on no letter (a space, a hyphen, the start), an accent Unicode
    composes with no such letter (Q́), and a mark that is no accent at all, an overlay (s with a short stroke, o with a
    long solidus that looks like ø: red team round 24, Z-F9) or one that encloses."""
    if not text or (text.isascii() and not re.search(r"[^A-Za-z '\-.]", text)):
        return ""
    signs = [character for character in text if _letter_sign(character)]
    stored = normal(text)
    found = dict.fromkeys([*signs, *(character for character in stored if not _latin(character))])
    named = [f"U+{ord(character):04X} {unicodedata.name(character, '')}".rstrip() for character in found]
    shown = ", ".join(named[:_MOST_NAMED])
    return shown if len(named) <= _MOST_NAMED else f"{shown} (+{len(named) - _MOST_NAMED})"


# UTF-8 read as Latin-1 or Windows-1252 ("mojibake"): the lead byte of a UTF-8 letter of Latin-1's range, C2 or C3,
# read as Â or Ã, then its continuation byte (80-BF) read as a sign or letter of Latin-1's upper half (º, ª, µ, ©, ±,
# a no-break or soft hyphen) or as what Windows-1252 puts at 80-9F (‰, ‘, Š, Œ...): ú reads Ãº, é Ã©, Ñ Ã‘, Ê ÃŠ;
# and â€ (E2 80), the start of a curly quote or a dash (’ reads â€™). No name in Spanish, Portuguese or English
# has either: Ã and Â are followed by a letter A-Z there (JOÃO, Ângela).
_MOJIBAKE = re.compile("[ÂÃ][\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]|â€.?")


def mojibake(text: str | None) -> str:
    """The pairs of `text` (as typed, before `normal`, which reads º as o) that are a UTF-8 letter read as Latin-1 or
    Windows-1252 (Ãº for ú), joined by ', ', or '' when there is none (red team round 11, RE8811 F2: a UTF-8 file
    read as Latin-1 stored Raúl as RaÃol, compared with nobody and rewrote verified identities)."""
    if not text or text.isascii():
        return ""
    pairs = dict.fromkeys(_MOJIBAKE.findall(text))
    return ", ".join("".join(c if c.isprintable() else f"<U+{ord(c):04X}>" for c in pair) for pair in pairs)


_VOWELS = frozenset("AEIOU")
# Letters said as another wherever they are.
_SOUND = {"V": "B", "Z": "S", "W": "U"}


def _vowel_after(word: str, index: int) -> bool:
    """Whether the letter after `word[index]` that is said (an H is silent) is a vowel."""
    rest = word[index + 1:].lstrip("H")
    return bool(rest) and rest[0] in _VOWELS


@lru_cache(maxsize=100_000)
def phonetic_word(word: str) -> str:
    """A folded word (A-Z) as Spanish says it, for comparing spellings of one name: V as B, Z as S, C before E or I
    as S and before anything else as K (CH kept), QU before E or I as K, GU before E or I as G and G before them as
    J, and J, JH and LL as Y (JHONNY and JOHNNY as YONI, JOHANNA as YOANA: the English J Venezuela says and writes
    Y; a Spanish J is folded alike on both sides, JOSE as YOSE), Y not before a vowel as I and an I before a vowel at
    the start of a word or between vowels as Y (an H between them silent: YHONATAN, IOLANDA, DAIANA), W as U, X first
    as S and else as KS, PH as F, H silent (TH as T), and a letter doubled once (KINTERO for QUINTERO, BIYEGAS for
    VILLEGAS, ANTONI for ANTHONY, ERNANDES for HERNANDEZ). Any combination of these spellings of a word gives one
    word (red team round 9, M1: JOHANNA and YOHANA differed in their J)."""
    sounds: list[str] = []
    length = len(word)
    index = 0
    while index < length:
        letter = word[index]
        after = word[index + 1] if index + 1 < length else ""
        step = 1
        if letter == "C":
            if after == "H":
                sound, step = "CH", 2
            else:
                sound = "S" if after in ("E", "I") else "K"
        elif letter in ("Q", "G"):
            silent_u = after == "U" and index + 2 < length and word[index + 2] in ("E", "I")
            if letter == "Q":
                sound, step = "K", 2 if silent_u else 1
            elif silent_u:
                sound, step = "G", 2
            else:
                # G before E or I as J, which is said as Y (`J` below): GIMENEZ, JIMENEZ.
                sound = "Y" if after in ("E", "I") else "G"
        elif letter == "L" and after == "L":
            sound, step = "Y", 2
        elif letter == "J":
            # JHON, JHONNY, JHOAN, JHONATHAN: Venezuela writes the English J so, and Spanish writes it Y (YONI); and
            # JOHANNA, JENNIFER, JEFFERSON, MARJORIE as Spanish writes them, YOHANA, YENIFER, YEFERSON, MARYORI.
            sound, step = "Y", 2 if after == "H" else 1
        elif letter == "Y" or (letter == "I" and (not sounds or sounds[-1] in _VOWELS)):
            # Y before a vowel (an H between them silent: YHONATAN, YHOANA) is said as Y, and so is an I beginning
            # the word or between vowels (IOLANDA for YOLANDA, HIERRO for YERRO, DAIANA for DAYANA); Y before
            # anything else as I (MAYRA, YSABEL).
            sound = "Y" if _vowel_after(word, index) else "I"
        elif letter == "P" and after == "H":
            sound, step = "F", 2
        elif letter == "X":
            sound = "S" if index == 0 else "KS"
        elif letter == "H":
            sound = ""
        else:
            sound = _SOUND.get(letter, letter)
        if sound and not (sounds and sounds[-1] == sound):
            sounds.append(sound)
        index += step
    return "".join(sounds)


def phonetic_key(text: str | None) -> str:
    """`key` of a name with each word as Spanish says it (`phonetic_word`)."""
    return " ".join(map(phonetic_word, key(text).split()))
