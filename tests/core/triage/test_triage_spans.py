"""A reason shows the customer's own words: ``original_of`` maps any span of the
normalised text back to them, found by bisection; it must agree with the plain
definition (every token that overlaps the span) everywhere."""

from __future__ import annotations

import pytest

from bot.triage.normalise import Normalised, normalise

TEXTS = [
    "URGENTEEE xq q porfa mñn Ñandú 🙏",
    "No me llegó la BOLETA!!! 😡😡 porfa revisen xfa, es la 3ra vez",
    "hola... ¿me ayudan? aaa eee ooo   ",
    "",
    "🙏",
    "İstanbul ǅ straße ﬁ cuando puedan, sin apuro",
]


def _overlapping(norm: Normalised, start: int, end: int) -> str:
    hit = [i for i, at in enumerate(norm.starts)
           if at + len(norm.tokens[i]) > start and at < end]
    if not hit:
        return ""
    return norm.original[norm.spans[hit[0]][0]:norm.spans[hit[-1]][1]]


@pytest.mark.parametrize("text", TEXTS)
def test_every_span_maps_back_to_the_words_behind_it(text: str) -> None:
    norm = normalise(text)
    size = len(norm.text)
    for start in range(-1, size + 2):
        for end in range(start - 1, size + 3):
            assert norm.original_of(start, end) == _overlapping(norm, start, end), \
                (text, start, end)


def test_a_word_normalised_from_the_cache_is_the_same_word() -> None:
    first = normalise("porfa URGENTEEE mñn")
    again = normalise("porfa URGENTEEE mñn")
    assert first == again
    assert first.tokens == ("por", "favor", "urgente", "manana")
    assert first.original_of(0, 9) == "porfa"
