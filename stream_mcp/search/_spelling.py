"""Typo tolerance: a request word the index does not know, read as a close word it does.

"delte message 42" means DeleteMessage, but "delte" is in no posting. A word is corrected
only when the index and the synonym tables know neither it nor its stem, and only to a word
they do know (the catalog's ids, summaries and curated intents, and the trigger words of the
vocabulary), so a known word is never "corrected" into another.

Edit distances come from RapidFuzz, a maintained C++ library, rather than a hand-rolled
loop. English words the catalog lacks ("ready", "john", "world") are a step from catalog
words too, so only the edits typing makes are accepted (see ``_slip``):

* the first letter is kept (unless only the first two are swapped: "emssage"), and the word
  has at least MIN_LENGTH letters;
* one dropped, doubled or swapped letter ("delte", "sendd", "sned"), a letter replaced by
  its neighbour on the keyboard ("chsnnel"), or in a word of six letters or more a vowel by
  another ("segmant", a spelling slip); not any other added or replaced letter, which
  makes another word far more often than a typo ("ready" is not "read", "john" not "join");
* in long words, whose neighbours are rarer, one edit of any kind, or two slips, or two
  edits of any kind after the same first four letters ("schedual", "permisions").

Ties go to the word most operations use. RapidFuzz is imported on the first word that needs
correcting, so requests without unknown words never load it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache

MIN_LENGTH = 4  # "bob", "dav" and "pol" stay as they are: too many words are one step away
LONG = 8  # from this length, any one edit, or two slips, still reads as a typo
NEIGHBOURS = 5  # from this length, a letter replaced by its neighbour on the keyboard too
VOWELS = 6  # from this length, a vowel replaced by another ("segmant"): spelling, not typing
PREFIX = 4  # a long word that starts like a known one may differ from it by any two edits
_WORD = re.compile(r"[a-z]+")
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEYS = {c: (r, i) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}


def _adjacent(a: str, b: str) -> bool:
    """Keys next to each other on a QWERTY keyboard, in a row or between rows."""
    (ra, ia), (rb, ib) = _KEYS.get(a, (9, 0)), _KEYS.get(b, (-9, 0))
    return (ra == rb and abs(ia - ib) == 1) or (abs(ra - rb) == 1 and ia - ib in (0, 1, -1))


class Speller:
    """Corrects words against known words, each with a usage weight.

    ``words`` may be a function giving them: it is called on the first word to correct, so an
    index whose requests are spelt right never pays for the list (nor for RapidFuzz).
    """

    def __init__(self, words: Mapping[str, int] | Callable[[], Mapping[str, int]]) -> None:
        self._source = words
        self._table: tuple[dict[str, int], dict[str, list[str]]] | None = None
        # Immutable inputs, so a word's correction never changes; the cache keeps repeated
        # names ("alice", "mallory") from costing a look-up each time.
        self.correct = lru_cache(maxsize=4096)(self._correct)

    def _known(self) -> tuple[dict[str, int], dict[str, list[str]]]:
        """The known words with their weights, and those words by first letter."""
        table = self._table
        if table is None:  # built once; a concurrent first call builds the same table
            source = self._source
            weights = dict(source() if callable(source) else source)
            by_first: dict[str, list[str]] = {}
            for word in sorted(weights):
                if _WORD.fullmatch(word) and len(word) >= MIN_LENGTH - 1:
                    by_first.setdefault(word[0], []).append(word)
            table = self._table = (weights, by_first)
        return table

    def _correct(self, word: str) -> str | None:
        """The known word ``word`` is most likely a typo of, or ``None``."""
        if len(word) < MIN_LENGTH or not _WORD.fullmatch(word):
            return None
        weights, by_first = self._known()
        if word in weights:
            return None
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        limit = 2 if len(word) >= LONG else 1
        candidates = process.extract(
            word,
            by_first.get(word[0], ()),
            scorer=OSA.distance,
            score_cutoff=limit,
            limit=None,
        )
        best: tuple[int, int, str] | None = None
        for known, distance, _ in candidates:
            if not _slip(word, known, distance):
                continue
            key = (distance, -weights[known], known)
            if best is None or key < best:
                best = key
        if best is None:
            # the first two letters swapped ("emssage"), the one slip that changes the first
            # letter and still keeps every letter of the word
            swapped = word[1] + word[0] + word[2:]
            return swapped if swapped in weights else None
        return best[2]


def _slip(word: str, known: str, distance: int) -> bool:
    """Whether typing ``known`` could have produced ``word``, ``distance`` edits away.

    Each edit must be a typing slip: a dropped letter ("delte"), two swapped ones ("sned"),
    a doubled one ("sendd"), or a letter replaced by its neighbour on the keyboard
    ("chsnnel"). Any other added or replaced letter makes another word far more often than a
    typo ("ready" is not "read", "john" not "join"), except in a long word, which may have
    one edit of any kind, two slips, or two edits after the same first PREFIX letters
    ("schedual"), but not be another word's derivative ("customer" is no typo of "custom").
    """
    from rapidfuzz.distance import Levenshtein

    if distance > (2 if len(word) >= LONG else 1):
        return False
    if distance > 1 and (known.startswith(word) or word.startswith(known)):
        return False
    if sorted(word) == sorted(known):
        return True  # swapped letters
    if len(word) >= LONG and (distance == 1 or word[:PREFIX] == known[:PREFIX]):
        return True  # in a long word, one slip of any kind, or two after a sure start
    ops = Levenshtein.editops(word, known)
    if len(ops) > distance:
        return False
    for op in ops:
        if op.tag == "delete":  # a letter too many: only a doubled one
            i = op.src_pos
            if word[i] not in word[max(0, i - 1) : i] + word[i + 1 : i + 2]:
                return False
        elif op.tag == "replace" and not (
            (len(word) >= NEIGHBOURS and _adjacent(word[op.src_pos], known[op.dest_pos]))
            or (len(word) >= VOWELS and {word[op.src_pos], known[op.dest_pos]} <= set("aeiou"))
        ):
            return False
    return True  # and "insert": a dropped letter


def same_letters(typed: str, known: str) -> bool:
    """Whether ``typed`` has exactly the letters of ``known``, only two swapped or one doubled
    ("remvoe", "bann"): such a correction is no guess, unlike a dropped or replaced letter,
    where another word may have been meant."""
    if sorted(typed) == sorted(known):
        return True
    return len(typed) == len(known) + 1 and any(
        typed[i] == typed[i + 1] and typed[:i] + typed[i + 1 :] == known
        for i in range(len(typed) - 1)
    )
