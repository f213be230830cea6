"""Typo tolerance: a request word the index does not know, read as a close word it does.

"delte message 42" means DeleteMessage, but "delte" is in no posting. A word is corrected
only when the index and the synonym tables know neither it nor its stem, and only to a word
they do know (the catalog's ids, summaries and curated intents, and the trigger words of the
vocabulary), so a known word is never "corrected" into another.

Edit distances come from RapidFuzz, a maintained C++ library, rather than a hand-rolled
loop. English words the catalog lacks ("lunch", "year", "germany") are a step from catalog
words too, so only the edits typing makes are accepted:

* the first letter is kept, and the word has at least MIN_LENGTH letters;
* one dropped, doubled or swapped letter ("delte", "chanells", "sned"); two for long words;
* a replaced letter only in long words ("moderetion"): in short ones a replaced letter makes
  another word far more often than a typo ("germany" is not "getmany", "john" not "join").

Ties go to the word most operations use. RapidFuzz is imported on the first word that needs
correcting, so requests without unknown words never load it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache

MIN_LENGTH = 4  # "bob", "dav" and "pol" stay as they are: too many words are one step away
LONG = 8  # from this length, two edits, or a replaced letter, still read as a typo
_WORD = re.compile(r"[a-z]+")


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
        from rapidfuzz.distance import OSA, Indel

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
            # Only dropped, added or swapped letters (the same letters: a swap), unless the
            # word is long enough for a replaced one.
            typed = Indel.distance(word, known) == distance or sorted(word) == sorted(known)
            if not (typed or len(word) >= LONG):
                continue
            if distance > 1 and (known.startswith(word) or word.startswith(known)):
                continue  # a word and its derivative ("custom", "customer"), not a typo
            key = (distance, -weights[known], known)
            if best is None or key < best:
                best = key
        return best[2] if best else None
