"""Training the corrections of ``_learned`` from the labelled requests: only when the
catalog is compiled (``scripts/compile_catalog.py``), since it needs the engine's candidates
for every request and takes seconds. The constants are discussed in ``_learned``."""

from __future__ import annotations

import hashlib
import random
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from stream_mcp.search._examples import ExampleVotes
from stream_mcp.search._learned import SCALE, Candidates, Corrections, learned_terms

EPOCHS = 5  # passes over the requests
RATE = 0.05  # a step, as a share of the top candidate's score
MARGIN = 0.1  # how far ahead of the best wrong candidate the right one must be
FOLDS = 8  # for the votes a request meets in training
KEEP = 0.01  # smaller averaged weights are dropped
MIN_REQUESTS = 5  # a term fewer requests hold says more about its writer than its operation
_LIMIT = 32767  # the stored integers are 16-bit


@dataclass(frozen=True)
class Sample:
    """One labelled request as training sees it."""

    terms: tuple[str, ...]
    candidates: tuple[tuple[int, float], ...]  # scores as shares of the top one
    gold: frozenset[int]


def examples_digest(examples: Iterable[Sequence[str]]) -> str:
    """What the corrections were trained on: every operation's example requests, in order."""
    digest = hashlib.sha256()
    for doc, texts in enumerate(examples):
        for text in texts:
            digest.update(f"{doc}\0{text}\0".encode())
    return digest.hexdigest()


def labelled(examples: Sequence[Sequence[str]]) -> dict[str, frozenset[int]]:
    """Each distinct request (lower-cased, spaces collapsed) → the operations it is labelled
    with, as :class:`ExampleVotes` counts them."""
    owners: dict[str, set[int]] = {}
    for doc, texts in enumerate(examples):
        for text in texts:
            owners.setdefault(" ".join(text.lower().split()), set()).add(doc)
    return {text: frozenset(docs) for text, docs in owners.items()}


def samples(examples: Sequence[Sequence[str]], rules: Callable[[str], Candidates]) -> list[Sample]:
    """Every labelled request with the candidates the engine gives it, each reranked by the
    votes of the requests outside its fold."""
    requests = labelled(examples)
    fold = {text: zlib.crc32(text.encode()) % FOLDS for text in requests}
    terms = {text: learned_terms(text) for text in requests}
    held = Counter(term for text in requests for term in terms[text])
    usable = {term for term, n in held.items() if n >= MIN_REQUESTS}
    out: list[Sample] = []
    for part in range(FOLDS):
        others: list[list[str]] = [[] for _ in examples]
        for text, docs in requests.items():
            if fold[text] != part:
                for doc in docs:
                    others[doc].append(text)
        votes = ExampleVotes.build(others)
        for text, gold in requests.items():
            if fold[text] != part:
                continue
            candidates = votes.rerank(text, rules(text))
            if not candidates or candidates[0][1] <= 0:
                continue
            top = candidates[0][1]
            out.append(
                Sample(
                    tuple(sorted(usable & terms[text])),
                    tuple((doc, score / top) for doc, score in candidates),
                    gold,
                )
            )
    return out


def train(
    data: Sequence[Sample], names: Sequence[frozenset[str]] = (), *, seed: int = 0
) -> Corrections:
    """An averaged perceptron: when a request's operation is not ``MARGIN`` ahead of the best
    wrong candidate, its terms' weights move ``RATE`` towards it and away from that one.

    ``names[doc]`` are the stems of operation ``doc``'s id, which get no weight for it: the
    rules already read them, and a learner left to weigh them learns to distrust an
    operation's own name wherever the rules leaned on it ("flag a message" is still a flag)."""
    weights: dict[tuple[str, int], float] = {}
    totals: dict[tuple[str, int], float] = {}  # step-weighted updates, for the average
    order = list(data)
    rng = random.Random(seed)
    step = 1
    for _ in range(EPOCHS):
        rng.shuffle(order)
        for sample in order:
            step += 1
            if not any(doc in sample.gold for doc, _ in sample.candidates):
                continue
            scored = [
                (score + sum(weights.get((t, doc), 0.0) for t in sample.terms), doc)
                for doc, score in sample.candidates
            ]
            right = max(s for s in scored if s[1] in sample.gold)
            wrong = max((s for s in scored if s[1] not in sample.gold), default=None)
            if wrong is None or right[0] >= wrong[0] + MARGIN:
                continue
            for term in sample.terms:
                for doc, sign in ((right[1], RATE), (wrong[1], -RATE)):
                    if doc < len(names) and term in names[doc]:
                        continue
                    key = (term, doc)
                    weights[key] = weights.get(key, 0.0) + sign
                    totals[key] = totals.get(key, 0.0) + step * sign
    table: dict[str, dict[int, int]] = {}
    for key in sorted(weights):
        average = weights[key] - totals[key] / step
        if abs(average) >= KEEP:
            kept = max(-_LIMIT, min(_LIMIT, round(average * SCALE)))
            table.setdefault(key[0], {})[key[1]] = kept
    return Corrections.from_table(table)
