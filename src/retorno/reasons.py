"""The one rule for a written reason, and the words that say nothing.

A reason is read later by a monitor, an auditor, the other side; a guardian's name is read by whoever hands the child
over. Both are refused at every door when they say nothing (`written_reason`, `telling`).
"""

from __future__ import annotations

import re
import unicodedata

from retorno.errors import InvalidInput, Message
from retorno.names import fold

# The one rule for a written reason, wherever an override or a decision takes one (a protection resolution, a
# removal, a cancellation, a split, a rejection, a disable, a best-interests determination's summary, a decision on
# a possible duplicate, a withdrawal): `written_reason`. A reason is read later by a monitor, an auditor, the other
# side: "x" or ".........." says nothing, so it is refused at every door, in one sentence.
REASON_LENGTH = 10
WRITTEN_REASON = Message("a written reason is needed: at least 10 characters and two words that say why (not one "
                         "character repeated)")


re_letters = re.compile(r"[^\W\d_]+")
# Words that say nothing of why, or name nobody, in the forms officials type to get past a required field ('n/a',
# 'test test test', 'sin motivo alguno', 'lorem ipsum', 'asdf qwer', 'a determinar', 'no one', 'Нет'), folded as
# `said_words` folds them. Red team round 39: such reasons closed an asylum claim and split families, such a guardian
# let a child be approved alone.
_SAYS_NOTHING = ("""
OK OKAY NA NO NOT NONE NOTHING NADA NINGUNO NINGUNA NINGUN NADIE NOBODY ONE SIN WITHOUT REASON REASONS GIVEN MOTIVO
MOTIVOS RAZON RAZONES ALGUNO ALGUNA ALGUN ALL TODO BECAUSE PORQUE POR QUE YES TEST TESTING TESTS PRUEBAS ASDF ASDFG
ASDFGH QWER QWERT QWERTY ZXCV ZXCVB HJKL LOREM IPSUM DOLOR SIT AMET ABC ABCD FOO BAR BAZ BLAH ETC NULL NIL VOID NIHIL
UNKNOWN DESCONOCIDO DESCONOCIDA IGNORADO IGNORADA PENDIENTE PENDING TBD TBC DETERMINAR DETERMINED DETERMINE DEFINIR
DEFINED ASIGNAR ASSIGNED ASIGNADO APLICA APPLICABLE APPLY KEINER KEINE PERSONNE NESSUNO NINGUEM NAO THE FOR PARA
НЕТ НИКТО НИЧЕГО НИЕТ لا أحد 无 没有 なし
""")
SAYS_NOTHING = frozenset(_SAYS_NOTHING.split())
_LATIN_VOWELS = frozenset("AEIOUY")


def said_words(text: str) -> list[str]:
    """The words of `text`: runs of letters, a Latin one folded (upper case, no accents), another script's in upper
    case."""
    words = []
    for token in re_letters.findall(text):
        latin = all("LATIN" in unicodedata.name(letter, "") for letter in token)
        words.append(fold(token).replace(" ", "") if latin else token.upper())
    return words


def telling(word: str, nothing: frozenset[str] = SAYS_NOTHING) -> bool:
    """Whether a word (`said_words`) may tell something: three letters or more (two in another script), two different,
    a vowel if it is in Latin letters (not 'zxcv', 'xxxx'), and not one of `nothing`."""
    latin = word.isascii()
    if not latin:
        return len(word) >= 2 and word not in nothing
    return (len(word) >= 3 and len(set(word)) > 1 and word not in nothing
            and (not latin or any(letter in _LATIN_VOWELS for letter in word)))


def is_written_reason(text: str | None) -> bool:
    """Whether `text` is a written reason: at least REASON_LENGTH characters once stripped, at least two different
    words holding a letter (any alphabet's: Spanish's accents count), not one character repeated, and a word that
    tells something (`telling`: 'n/a n/a n/a', 'test test test' or 'sin motivo alguno' tell nothing)."""
    typed = (text or "").strip()
    # Two different words: one typed twice ('error error') says one word (red team round 51a, F4).
    words = {fold(word) for word in typed.split() if any(character.isalpha() for character in word)}
    return (len(typed) >= REASON_LENGTH and len(words) >= 2
            and len({character for character in typed if not character.isspace()}) > 1
            and any(telling(word) for word in said_words(typed)))


def written_reason(text: str | None, *, code: str = "reason_required") -> str:
    """`text` stripped, if it is a written reason (`is_written_reason`); otherwise refused (422, `code`)."""
    if text is None or not is_written_reason(text):
        raise InvalidInput([WRITTEN_REASON], code=code)
    return text.strip()
