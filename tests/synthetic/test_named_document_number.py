"""`synthetic.people.named_document_number` ends for every drawn number: `100000010` to `100000019` are all
placeholders (a few digits padded with zeros), and moving only the last digit never ended (`retorno bench import
--rows 30000` hung drawing its case file)."""

from __future__ import annotations

import random
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from retorno.identifiers import placeholder_document_number
from retorno.synthetic.people import named_document_number


def _too_long(_signum: int, _frame: FrameType | None) -> None:
    raise TimeoutError("named_document_number did not end within 10 seconds")


@contextmanager
def _within_ten_seconds() -> Iterator[None]:
    """Before, the call never returned: the alarm makes that a failure, not a hung suite."""
    previous = signal.signal(signal.SIGALRM, _too_long)
    signal.alarm(10)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_number_whose_every_last_digit_names_nothing_is_counted_on() -> None:
    assert all(placeholder_document_number(f"10000001{digit}") for digit in "0123456789")
    for drawn in ("100000010", "E10000000", "100000000", "199999999"):
        with _within_ten_seconds():
            named = named_document_number(drawn)
        assert not placeholder_document_number(named), (drawn, named)
        assert named[:1] == drawn[:1] and len(named) >= len(drawn), (drawn, named)


def test_a_number_that_names_a_document_is_kept_and_a_last_digit_moved_first() -> None:
    assert named_document_number("148213907") == "148213907"
    # 123456789 is a run: its last digit moved on, as before, so a seed's other people are unchanged.
    assert named_document_number("123456789") == "123456780"
    rng = random.Random(5)
    with _within_ten_seconds():
        drawn = [named_document_number(str(rng.randint(100_000_000, 199_999_999))) for _ in range(20_000)]
    assert not any(placeholder_document_number(number) for number in drawn)
