"""Name folding shared by imports, MRZ checks, duplicate detection and record linkage.

ICAO Doc 9303 transliteration drops accents and writes Ñ as N; sending-side lists do the
same inconsistently, so every comparison of names goes through `fold` first.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Particles that Spanish surnames carry ("DE LA CRUZ", "DEL VALLE"): kept in the folded
# name but ignored when a comparison key is built, because lists drop them at random.
PARTICLES = frozenset({"DE", "DEL", "LA", "LAS", "LOS", "Y", "E", "DA", "DI", "VAN", "VON", "MC", "MAC"})

_NON_LETTER = re.compile(r"[^A-Z]+")


@lru_cache(maxsize=200_000)
def _fold(text: str) -> str:
    # Decompose first so that accents become separate marks we can drop; removing
    # non-letters before this step would turn MUÑOZ into MUOZ.
    decomposed = unicodedata.normalize("NFKD", text.upper())
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
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
