"""The index's postings, computed ahead of time into the compiled catalog artifact.

Computing them stems some 20,000 words; a server answers ``tools/list`` long before anyone
searches, and should not pay for that at start-up. ``scripts/compile_catalog.py`` stores them
in ``_catalog.json`` under ``"search"``, and the index decodes them on its first search.

They hold only for the catalog and the search code they came from, so they carry a digest of
the operation ids (in order) and of this package's sources. Anything else (a ``--spec``
catalog, an edited stemmer, a catalog changed in code) gets ``None`` and builds the postings
from the catalog instead; ``tests/test_startup.py`` fails when the artifact's copy is stale.

The section also holds the outcome rules' cue words (see ``_cues``), which let the analyzer
compile only the rules a request could match, and the per-operation facts ranking uses (the
actions each operation's id and summary state, its id words, …), which cost ~15 ms to derive.

Encoding: the terms as a JSON list; each term's posting count and documents as uint16, and the
scores as float64 (exact, so rankings are identical), little-endian in base64. Scores written
as JSON numbers would add ~12 ms to parsing the artifact at every start.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    from stream_mcp.catalog import Catalog
    from stream_mcp.search._examples import ExampleVotes
    from stream_mcp.search._learned import Corrections

# term -> {operation's position: BM25F weight}
Postings = Mapping[str, Mapping[int, float]]

FORMAT = 1
_SOURCES = Path(__file__).resolve().parent


def code_digest(sources: Path = _SOURCES) -> str:
    """A digest of the search package's sources: any change may change the postings."""
    digest = hashlib.sha256()
    for path in sorted(sources.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def operations_digest(operation_ids: Iterable[str]) -> str:
    """Postings name documents by position, so the ids and their order must match."""
    return hashlib.sha256("\n".join(operation_ids).encode()).hexdigest()


def compile_index(catalog: Catalog, *, learn: bool = True) -> dict[str, Any]:
    """What the compiled catalog artifact stores under ``"search"``, for ``catalog``.

    ``learn`` False leaves out the corrections (``_learned``): training them takes some
    seconds, and a test that the rest is current need not repeat it."""
    from stream_mcp.search._examples import ExampleVotes
    from stream_mcp.search._index import _Engine, build_postings, operation_facts
    from stream_mcp.search._training import examples_digest, samples, train

    postings = build_postings(catalog)
    section = encode(catalog.operations, postings)
    cues = decode_cues(section)
    section["facts"] = operation_facts(catalog, postings, cues)
    examples = [op.examples for op in catalog]
    section["examples"] = ExampleVotes.build(examples).to_json()
    if learn:
        rules = _Engine(catalog, postings, cues, section["facts"])
        learned = train(samples(examples, rules.candidates), rules.id_stems)
        section["learned"] = learned.to_json(trained_on=examples_digest(examples))
    return section


def encode(
    operation_ids: Iterable[str], postings: Mapping[str, Mapping[int, float]]
) -> dict[str, Any]:
    """The artifact's ``"search"`` section for ``postings`` over these operations."""
    terms = list(postings)
    counts = [len(postings[t]) for t in terms]
    docs = [doc for t in terms for doc in postings[t]]
    scores = [score for t in terms for score in postings[t].values()]
    from stream_mcp.search._cues import derive_cues
    from stream_mcp.search._vocabulary import OUTCOMES

    return {
        "format": FORMAT,
        "code": code_digest(),
        "operations": operations_digest(operation_ids),
        "terms": terms,
        "counts": pack("H", counts),
        "docs": pack("H", docs),
        "scores": pack("d", scores),
        # the outcome rules' cue words (see _cues): they depend on the code alone
        "cues": derive_cues(pattern for pattern, _ in OUTCOMES),
    }


@dataclass(frozen=True)
class Decoded:
    """A ``"search"`` section checked once against the operations and code it must match."""

    postings: Postings
    cues: dict[str, tuple[str, ...]]
    facts: Mapping[str, Any] | None
    examples: ExampleVotes | None
    learned: Corrections | None


def decode_section(operation_ids: Iterable[str], data: Mapping[str, Any] | None) -> Decoded | None:
    """All the section holds, or ``None`` if absent, malformed, or made for other inputs
    (its cues, facts and examples are only as good as its postings: they share the digests).
    Examples or corrections that do not decode are left out (``None``)."""
    ids = list(operation_ids)
    if not _current(data) or data.get("operations") != operations_digest(ids):
        return None
    try:
        counts = unpack("H", data["counts"])
        docs = unpack("H", data["docs"])
        scores = unpack("d", data["scores"])
        terms = data["terms"]
    except (KeyError, TypeError, ValueError):
        return None
    if not (len(terms) == len(counts) and len(docs) == len(scores) == sum(counts)):
        return None
    facts = data.get("facts")
    from stream_mcp.search._examples import ExampleVotes
    from stream_mcp.search._learned import Corrections

    return Decoded(
        PackedPostings(terms, counts, docs, scores),
        _cue_table(data),
        facts if isinstance(facts, Mapping) else None,
        ExampleVotes.from_json(data.get("examples"), len(ids)),
        Corrections.from_json(data.get("learned"), len(ids)),
    )


def decode(operation_ids: Iterable[str], data: Mapping[str, Any] | None) -> Postings | None:
    """The postings in ``data``, or ``None`` (see :func:`decode_section`)."""
    decoded = decode_section(operation_ids, data)
    return decoded.postings if decoded else None


def decode_facts(
    operation_ids: Iterable[str], data: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    """The per-operation facts ranking uses (see ``_index.operation_facts``), or ``None``."""
    decoded = decode_section(operation_ids, data)
    return decoded.facts if decoded else None


def decode_cues(data: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    """The outcome rules' cues stored in ``data`` (they depend on the code alone, not on the
    operations); empty if absent or made by other code."""
    return _cue_table(data) if _current(data) else {}


def _current(data: Mapping[str, Any] | None) -> TypeGuard[Mapping[str, Any]]:
    """Whether ``data`` is a section in this format, made by this package's code."""
    return (
        isinstance(data, Mapping)
        and data.get("format") == FORMAT
        and data.get("code") == code_digest()
    )


def _cue_table(data: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    cues = data.get("cues")
    if not isinstance(cues, Mapping):
        return {}
    from stream_mcp.search._cues import cue_table

    return cue_table(cues)


class PackedPostings(Mapping[str, Mapping[int, float]]):
    """Decoded postings that build a term's documents when it is first looked up.

    A search reads a few dozen of some 14,000 terms; building a dict for every term up front
    was about a quarter of the first search's time."""

    __slots__ = ("_built", "_docs", "_position", "_scores", "_starts")

    def __init__(
        self, terms: list[str], counts: list[int], docs: list[int], scores: list[float]
    ) -> None:
        self._position = {term: i for i, term in enumerate(terms)}
        self._starts = [0, *accumulate(counts)]
        self._docs = docs
        self._scores = scores
        self._built: dict[str, Mapping[int, float]] = {}

    def __getitem__(self, term: str) -> Mapping[int, float]:
        built = self._built.get(term)
        if built is None:
            i = self._position[term]  # KeyError for an unknown term, as a dict would
            start, end = self._starts[i], self._starts[i + 1]
            built = dict(zip(self._docs[start:end], self._scores[start:end], strict=True))
            self._built[term] = built
        return built

    def __iter__(self) -> Iterator[str]:
        return iter(self._position)

    def __len__(self) -> int:
        return len(self._position)

    def __contains__(self, term: object) -> bool:
        return term in self._position


def pack(typecode: str, values: Iterable[Any]) -> str:
    """``values`` as a little-endian array of ``typecode``, in base64."""
    packed = array(typecode, values)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def unpack(typecode: str, text: str) -> list[Any]:
    """What :func:`pack` wrote; ``ValueError`` (or ``TypeError``) if it is not that."""
    return unpack_array(typecode, text).tolist()  # faster to slice and hash than an array's


def unpack_array(typecode: str, text: str) -> array[Any]:
    """As :func:`unpack`, left an array: for long runs a search reads only a few slices of,
    where converting them all would cost more than it saves."""
    values = array(typecode)
    values.frombytes(base64.b64decode(text, validate=True))
    if sys.byteorder == "big":
        values.byteswap()
    return values
