"""Intent search over the catalog: from "kick bob out of #general" to ``UpdateChannel``.

The index is built on its first search (see ``_lazy``) and is read-only afterwards; for the
built-in catalog its postings come precomputed in the compiled artifact (see ``_compiled``).
Ranking is BM25F: each field of an operation (its id split at camelCase, summary, curated
intents, description, path, the names of its parameters and body fields) has its own weight and
length normalisation, and the per-document term scores are precomputed, so a query costs a few
dictionary look-ups.

Why not ``rank_bm25``: it scores one flat token list per document, so field weights would have
to be faked by repeating tokens (which also breaks length normalisation), and it cannot weight
query terms, which the synonym expansion needs. BM25F over 247 short documents is a few lines.

On top of BM25F, two pieces of chat-domain knowledge from :mod:`stream_mcp.search._vocabulary`:

* query expansion: equivalent phrases (DM ↔ distinct channel) and colloquial ones (kick →
  remove member) add terms at a reduced weight, so the user's own words still count most;
* action agreement: an operation whose id verb matches the request's verb (delete → DeleteX,
  "who is …?" → a query) is boosted, because those verbs are too common for BM25 to weigh.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stream_mcp.catalog import Catalog, Operation
from stream_mcp.errors import ValidationError
from stream_mcp.search._compiled import Postings
from stream_mcp.search._examples import CANDIDATES, ExampleVotes
from stream_mcp.search._lazy import SearchIndex
from stream_mcp.search._learned import Corrections
from stream_mcp.search._query import (
    BULK,
    PLURAL,
    QueryAnalyzer,
    QueryPlan,
    exact_nouns,
    id_words,
    is_bulk,
    operation_actions,
    split_id,
)
from stream_mcp.search._results import (
    MAX_HIT_TOKENS,
    MAX_LIMIT,
    Hit,
    SearchResult,
    fit_summary,
    hit_tokens,
    make_hit,
)
from stream_mcp.search._text import (
    ID_WORD,
    STOPWORDS,
    analyze,
    content_words,
    exact,
    field_name,
    field_terms,
    split_negated,
    split_words,
    stem,
)
from stream_mcp.search._vocabulary import QUESTION_ACTIONS, TESTING_VERBS, UNDOING_VERBS

__all__ = [
    "MAX_HIT_TOKENS",
    "MAX_LIMIT",
    "Hit",
    "QueryAnalyzer",
    "SearchIndex",
    "SearchResult",
    "analyze",
    "build_postings",
    "hit_tokens",
    "id_words",
    "make_hit",
    "operation_actions",
    "operation_facts",
    "operation_fields",
    "split_words",
    "stem",
]

OVERVIEW_EXAMPLES = 3

# BM25F field weights and length-normalisation strengths. Curated text (summary, intents) is
# written for exactly this purpose and counts most; raw field names are noisy and count least.
FIELD_WEIGHTS: Mapping[str, float] = {
    "id": 1.0,
    "id_exact": 3.0,
    "summary": 1.0,
    "intents": 5.0,
    "description": 1.0,
    "path": 0.5,
    "fields": 0.25,
    "field_names": 1.0,
    "group": 0.5,
}
FIELD_B: Mapping[str, float] = {
    "id": 0.3,
    "id_exact": 0.3,
    "summary": 0.75,
    "intents": 0.3,
    "description": 0.5,
    "path": 0.3,
    "fields": 0.75,
    "field_names": 0.0,
    "group": 0.0,
}
K1 = 1.6
ACTION_BOOST = 1.5  # an operation whose verb agrees with the request's
ID_MISS_PENALTY = 0.15  # per word of an operation's id that the request does not mention
# The last noun of an id is its head ("group" in CreateUserGroup): a request that does not
# mention it is about something else ("create a user"), so missing it costs more.
HEAD_MISS_PENALTY = 0.25
BULK_BOOST = 1.25  # a bulk operation, for a request with a bulk cue
BULK_MISS = 0.85  # a bulk operation, for a request without one
# An operation that undoes another (unban, StopWatchingChannel), for a request that does not
# say to undo anything: "shadowban the spammer" is not an unban (see UNDO_CUES).
UNDO_MISS = 0.5
# An operation that undoes another, for a request that says outright to reverse something:
# "grace regrets blocking hank and wants that undone" unblocks him.
REVERSED = 1.5
# An operation whose summary says it is *not* about something the request names: "Delete a
# file uploaded outside any channel" for "delete the file bob uploaded to #support", "never
# creates one" for "create a channel".
DENIED = 0.7
# An operation on one channel (its path or id says so), for a request that names one
# ("#general", "messaging:ops").
IN_CHANNEL = 1.15
# An operation that changes things, for a request with no verb: "archived channels" lists
# them, it does not archive one.
BARE_WRITE = 0.7
# The same, milder, for a question: "who are the moderators?" reads them (but "can bob post
# in #news?" may still be answered by a write's description).
QUESTION_WRITE = 0.85
# An operation whose id has a word the request rules out ("unread totals, not a batch").
RULED_OUT = 0.6
# An operation that does the opposite of what the request asks: adding for "remove …".
OPPOSITE = 0.7
_NONE: frozenset[int] = frozenset()  # no id word of an operation seen
_OPPOSITES: Mapping[str, frozenset[str]] = {
    "create": frozenset({"delete"}),
    "delete": frozenset({"create"}),
}
PATH_BONUS = 10.0  # a request that spells out an operation's route
MIN_SCORE = 1.0  # below this, a match is too weak to be worth showing
MIN_COVERAGE = 0.5  # a strong top hit explains at least this share of the request's words

_PATH = re.compile(r"(?:\b(GET|POST|PUT|PATCH|DELETE)\s+)?(/[\w{}./:-]+)", re.IGNORECASE)


def _route(path: str) -> tuple[str, ...]:
    """Path segments, with every ``{placeholder}`` as "{}"."""
    return tuple("{}" if seg.startswith("{") else seg for seg in path.strip("/").split("/"))


def _route_matches(route: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    """A placeholder on either side matches any value in the other."""
    return len(route) == len(wanted) and all(
        a == b or "{}" in (a, b) for a, b in zip(route, wanted, strict=True)
    )


# --------------------------------------------------------------------------- documents


def _body_field_names(catalog: Catalog, schema: Mapping[str, Any] | None) -> list[str]:
    """Top-level property names of a schema, resolving one ``$ref`` into the components."""
    if not schema:
        return []
    ref = schema.get("$ref")
    if isinstance(ref, str):
        schema = catalog.components.get(ref) or {}
    props = schema.get("properties")
    return list(props) if isinstance(props, dict) else []


def operation_fields(catalog: Catalog, op: Operation) -> dict[str, str]:
    """The text of each indexed field of ``op``.

    Mentions of *other* operations ("use DeleteRole to undo") are dropped from the prose: they
    describe a neighbour, and would pull queries for the neighbour towards this operation.
    """

    def prose(text: str) -> str:
        return ID_WORD.sub(
            lambda m: " " if m[0] in catalog and m[0] != op.operation_id else m[0], text
        )

    names = [p.name for p in op.params]
    for param in op.params:
        if param.json:
            names += _body_field_names(catalog, param.schema)
    names += _body_field_names(catalog, op.body)
    return {
        "id": op.operation_id,
        "summary": prose(op.summary),
        "intents": " . ".join(prose(i) for i in op.intents),
        "description": prose(op.description),
        "path": op.path.replace("{", " ").replace("}", " "),
        "fields": " ".join(dict.fromkeys(names)),
        "group": op.group,
    }


def document_terms(fields: Mapping[str, str]) -> dict[str, Counter[str]]:
    """The terms of each field, plus the id's words in their exact form (see EXACT_WEIGHT)."""
    terms = {name: field_terms(text) for name, text in fields.items()}
    terms["id_exact"] = Counter(exact(w) for w in exact_nouns(fields["id"]))
    terms["field_names"] = Counter(field_name(n) for n in fields["fields"].split() if "_" in n)
    return terms


def _bm25f_postings(docs: Sequence[Mapping[str, Counter[str]]]) -> Postings:
    """term → {doc: BM25F score}, precomputed because the documents never change."""
    n = len(docs)
    avg_len = {
        name: max(1.0, sum(sum(d[name].values()) for d in docs) / max(1, n))
        for name in FIELD_WEIGHTS
    }
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(set().union(*(set(terms) for terms in doc.values())))
    postings: dict[str, dict[int, float]] = {}
    for i, doc in enumerate(docs):
        pseudo: dict[str, float] = {}
        for name, terms in doc.items():
            length = sum(terms.values())
            norm = 1.0 - FIELD_B[name] + FIELD_B[name] * length / avg_len[name]
            for term, tf in terms.items():
                pseudo[term] = pseudo.get(term, 0.0) + FIELD_WEIGHTS[name] * tf / norm
        for term, weight in pseudo.items():
            idf = math.log(1.0 + (n - df[term] + 0.5) / (df[term] + 0.5))
            postings.setdefault(term, {})[i] = idf * weight / (K1 + weight)
    return postings


def build_postings(catalog: Catalog) -> Postings:
    """The BM25F postings of ``catalog``, from its text: the slow part of building an index."""
    return _bm25f_postings([document_terms(operation_fields(catalog, op)) for op in catalog])


# --------------------------------------------------------------------------- the index


@dataclass(frozen=True)
class _Facts:
    """What ranking needs to know of each operation, from its id and summary alone: the
    actions they state, the id words a request should mention, whether it acts in bulk, and
    what its summary says it is not. Derived in ~15 ms, so the artifact stores them."""

    actions: list[frozenset[str]]
    id_words: list[tuple[frozenset[str], ...]]
    bulk: list[bool]
    denies: list[frozenset[str]]

    @classmethod
    def derive(cls, ops: Sequence[Operation], analyzer: QueryAnalyzer) -> _Facts:
        return cls(
            actions=[
                operation_actions(op.operation_id) | analyzer.opening_actions(op.summary)
                for op in ops
            ],
            id_words=[id_words(op.operation_id) for op in ops],
            bulk=[is_bulk(op.summary) for op in ops],
            denies=[
                frozenset(t.removeprefix("!") for t in split_negated(op.summary)[1]) for op in ops
            ],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "actions": [sorted(a) for a in self.actions],
            "id_words": [[sorted(alts) for alts in words] for words in self.id_words],
            "bulk": self.bulk,
            "denies": [sorted(d) for d in self.denies],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], count: int) -> _Facts | None:
        """The stored facts, or ``None`` if any part is missing or malformed."""
        try:
            facts = cls(
                actions=[frozenset(_strings(a)) for a in data["actions"]],
                id_words=[
                    tuple(frozenset(_strings(alts)) for alts in words) for words in data["id_words"]
                ],
                bulk=[_flag(flag) for flag in data["bulk"]],
                denies=[frozenset(_strings(d)) for d in data["denies"]],
            )
        except (KeyError, TypeError, ValueError):
            return None
        sizes = {len(facts.actions), len(facts.id_words), len(facts.bulk), len(facts.denies)}
        return facts if sizes == {count} else None


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not a flag")
    return value


def _strings(values: Any) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError("not a list of strings")
    return values


def operation_facts(
    catalog: Catalog, postings: Postings, cues: Mapping[str, tuple[str, ...]] | None = None
) -> dict[str, Any]:
    """The artifact's copy of the per-operation facts (see ``_Facts``) for ``catalog``."""
    vocabulary = frozenset(t for t in postings if " " not in t)
    return _Facts.derive(list(catalog), QueryAnalyzer(vocabulary, None, cues)).to_json()


class _Engine:
    """The built index: BM25F postings plus the per-operation facts ranking uses."""

    def __init__(
        self,
        catalog: Catalog,
        postings: Postings,
        cues: Mapping[str, tuple[str, ...]] | None = None,
        facts: Mapping[str, Any] | None = None,
        examples: ExampleVotes | None = None,
        learned: Corrections | None = None,
    ) -> None:
        self._catalog = catalog
        self._examples = examples
        self._learned = learned
        self._postings = postings
        self._ops = list(catalog)
        self._vocabulary = frozenset(t for t in postings if " " not in t)
        self._analyzer = QueryAnalyzer(self._vocabulary, self._spellings, cues)
        known = _Facts.from_json(facts, len(self._ops)) if facts is not None else None
        derived = known or _Facts.derive(self._ops, self._analyzer)
        self._op_actions = derived.actions
        self._id_words = derived.id_words
        self._bulk = derived.bulk
        self._id_verbs = [stem(split_id(op.operation_id)[0]) for op in self._ops]
        self._id_stems = [frozenset(map(stem, split_words(op.operation_id))) for op in self._ops]
        testing = {stem(v) for v in TESTING_VERBS}
        # what changes things: not a read, nor a test that answers a question
        self._writes = [
            actions.isdisjoint(QUESTION_ACTIONS) and verb not in testing
            for actions, verb in zip(self._op_actions, self._id_verbs, strict=True)
        ]
        verbs = set(self._id_verbs)
        self._undoes = [
            v in UNDOING_VERBS or (v.startswith("un") and v[2:] in verbs) for v in self._id_verbs
        ]
        # what another operation undoes: ban (unban), mute (unmute), block (unblock)
        undone = {v[2:] for v in verbs if v.startswith("un")}
        self._undone = [v in undone for v in self._id_verbs]
        # term → (doc, index of the id word it stands for), to count covered id words fast
        self._id_word_index: dict[str, list[tuple[int, int]]] = {}
        for doc, words in enumerate(self._id_words):
            for i, alts in enumerate(words):
                for term in alts:
                    self._id_word_index.setdefault(term, []).append((doc, i))
        self._summaries = [fit_summary(op) for op in self._ops]
        self._in_channel = [
            "/channels/{type}/{id}" in op.path or "channel" in split_words(op.operation_id)
            for op in self._ops
        ]
        self._denies = derived.denies
        self._routes = [(op.method, _route(op.path)) for op in self._ops]
        self._groups = ", ".join(sorted(catalog.groups()))

    def _spellings(self) -> Counter[str]:
        """Words a typo may be read as, each with how many operations use it: the words of
        the ids, summaries and curated intents (descriptions' rarer words are seldom meant),
        to which the analyzer adds the words of its vocabulary tables."""
        words: Counter[str] = Counter()
        for op in self._ops:
            text = " ".join((op.operation_id, op.summary, *op.intents))
            words.update({w for w in split_words(text) if w not in STOPWORDS})
        return words

    def search(self, query: str, limit: int = 5) -> SearchResult:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise ValidationError(
                f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit!r}", field="limit"
            )
        if not isinstance(query, str):
            raise ValidationError("query must be a string", field="query")
        if not query.strip():
            return SearchResult(query=query, overview=self.overview())
        plan = self._analyzer.plan(query)
        routes = self._path_matches(query)
        best = self._ranked(plan, routes, max(limit, CANDIDATES))
        votes: Mapping[int, float] = {}
        if self._examples is not None and best:
            votes = self._examples.votes(query)
            best = self._examples.rerank(query, best, votes)
        if self._learned is not None:
            best = self._learned.adjust(query, best)
        best = ExampleVotes.suggest(best[:limit], votes, limit)
        hits = [self._hit(doc, score) for doc, score in best]
        if not hits:
            return SearchResult(query=query, message=self._no_match_message(query))
        read_as = " ".join(f"Read {typed!r} as {fix!r}." for typed, fix in plan.corrections)
        top = best[0][0]
        if top not in routes and not self.is_strong(plan, top):
            message = " ".join(filter(None, (read_as, self._weak_message(query))))
            return SearchResult(query=query, hits=hits, message=message, weak=True)
        return SearchResult(query=query, hits=hits, message=read_as or None)

    @property
    def id_stems(self) -> list[frozenset[str]]:
        """Per operation, the stems of its id's words."""
        return self._id_stems

    def candidates(self, query: str) -> list[tuple[int, float]]:
        """The rules' ``CANDIDATES`` best (operation, score) for ``query``, before the
        examples have their say: what the corrections are trained on."""
        return self._ranked(self._analyzer.plan(query), self._path_matches(query), CANDIDATES)

    def _ranked(
        self, plan: QueryPlan, routes: Mapping[int, float], limit: int
    ) -> list[tuple[int, float]]:
        scores = self.scores(plan)
        for doc, bonus in routes.items():
            scores[doc] = scores.get(doc, 0.0) + bonus
        best = heapq.nlargest(limit, scores.items(), key=lambda kv: (kv[1], -kv[0]))
        return [(doc, score) for doc, score in best if score >= MIN_SCORE]

    def is_strong(self, plan: QueryPlan, doc: int) -> bool:
        """Whether ``doc`` answers the request rather than sharing a stray word with it.

        It must explain at least MIN_COVERAGE of the request's content words, and if it matches
        only one, also agree with the request's verb or be named by it (a word of its id). Values
        (numbers, URLs) are not content words; unknown words count as names, so as explained,
        only when the request frames them: "add bob, carol and dave to #general" is strong,
        "weather in paris tomorrow" is not.
        """

        def has(term: str) -> bool:
            return doc in self._postings.get(term, ())

        matched = sum(1 for term, alts in plan.words if has(term) or any(map(has, alts)))
        total = len(plan.words) + (0 if plan.framed else plan.names)
        if not matched or matched / max(1, total) < MIN_COVERAGE:
            return False
        return (
            matched > 1
            or bool(self._op_actions[doc] & plan.actions)
            or self._id_verbs[doc] in plan.terms
            or any(alts & plan.terms for alts in self._id_words[doc])
        )

    def scores(self, plan: QueryPlan) -> dict[int, float]:
        """Document → score for a query plan (documents that match nothing are absent)."""
        total: dict[int, float] = {}
        for slot in plan.slots:
            best: dict[int, float] = {}
            for terms, weight in slot:
                for doc, value in self._phrase_scores(terms).items():
                    if weight * value > best.get(doc, 0.0):
                        best[doc] = weight * value
            for doc, value in best.items():
                total[doc] = total.get(doc, 0.0) + value
        covered: dict[int, set[int]] = {}
        for term in plan.terms | plan.roles:
            for doc, word in self._id_word_index.get(term, ()):
                covered.setdefault(doc, set()).add(word)
        wanted = plan.actions & _OPPOSITES.keys()
        opposed = _OPPOSITES[min(wanted)] if len(wanted) == 1 else frozenset()
        # The per-operation tables and the plan's flags as locals: this loop runs for every
        # operation a request matched, a few hundred times a search.
        op_actions, id_words, id_stems = self._op_actions, self._id_words, self._id_stems
        batch, undoes, undone = self._bulk, self._undoes, self._undone
        channel_scoped, writes, denies = self._in_channel, self._writes, self._denies
        actions, bulk, reverses, excluded = plan.actions, plan.bulk, plan.reverses, plan.excluded
        in_channel = "channel" in plan.named
        write_factor = BARE_WRITE if plan.bare else QUESTION_WRITE if plan.asks else 1.0
        for doc, score in total.items():
            doc_actions = op_actions[doc]
            if doc_actions & actions:
                score *= ACTION_BOOST
            if bulk != PLURAL and batch[doc]:
                score *= BULK_BOOST if bulk == BULK else BULK_MISS
            words = id_words[doc]
            seen = covered.get(doc, _NONE)
            missing = len(words) - len(seen)
            if words and len(words) - 1 not in seen:
                missing -= 1
                score *= 1.0 - HEAD_MISS_PENALTY
            score *= (1.0 - ID_MISS_PENALTY) ** missing
            if undoes[doc] and not plan.undo:
                score *= UNDO_MISS
            elif reverses and undoes[doc]:
                score *= REVERSED
            if reverses and undone[doc]:
                score *= OPPOSITE  # what is to be undone is not done again
            if in_channel and channel_scoped[doc]:
                score *= IN_CHANNEL
            if writes[doc]:
                score *= write_factor
            if excluded and id_stems[doc] & excluded:
                score *= RULED_OUT
            if denies[doc] & plan.said:
                score *= DENIED
            if opposed and doc_actions & opposed and not doc_actions & wanted:
                score *= OPPOSITE
            total[doc] = score
        return total

    def _hit(self, doc: int, score: float) -> Hit:
        op = self._ops[doc]
        auth = "user" if op.user_token else "server"
        return Hit(
            op.operation_id,
            self._summaries[doc],
            auth,
            op.read_only,
            op.destructive,
            round(score, 2),
        )

    def _path_matches(self, query: str) -> dict[int, float]:
        """Operations whose route the request spells out ("POST /channels/{type}/{id}/hide",
        or with real values, "/channels/messaging/general/hide"); the method, if given, too."""
        found: dict[int, float] = {}
        for method, path in _PATH.findall(query):
            wanted = _route(path)
            for doc, (op_method, route) in enumerate(self._routes):
                if _route_matches(route, wanted) and method.upper() in ("", op_method):
                    found[doc] = PATH_BONUS * (2.0 if method else 1.0)
        return found

    def _phrase_scores(self, terms: tuple[str, ...]) -> Mapping[int, float]:
        """A phrase scores the mean of its terms, so it weighs like a single word."""
        if len(terms) == 1:
            return self._postings.get(terms[0], {})
        out: dict[int, float] = {}
        for term in terms:
            for doc, value in self._postings.get(term, {}).items():
                out[doc] = out.get(doc, 0.0) + value / len(terms)
        return out

    # ----------------------------------------------------------------- fallbacks

    def overview(self) -> list[dict[str, Any]]:
        """Categories with counts and a few example ids: the map, not the territory.

        Examples are the plainest members: ids naming the category's own noun ("messages" →
        GetMessage, SendMessage), callable with a user token, shortest first.
        """
        out = []
        for group, ids in sorted(self._catalog.groups().items()):
            noun = stem(group)

            def plainness(op_id: str, noun: str = noun) -> tuple[bool, bool, int]:
                op = self._catalog.operations[op_id]
                return (noun not in analyze(op_id), not op.user_token, len(op_id))

            examples = sorted(ids, key=plainness)[:OVERVIEW_EXAMPLES]
            out.append({"group": group, "count": len(ids), "examples": examples})
        return out

    def _weak_message(self, query: str) -> str:
        return (
            f"No strong match for {query.strip()!r}: the hits share only incidental words with "
            "it, so check before using one. Say what to do and to what (e.g. 'send a message "
            "to #general'), or use broader words such as message, channel, member, user, "
            f"reaction, ban, mute, upload, push or poll, or a category: {self._groups}."
        )

    def _no_match_message(self, query: str) -> str:
        """Say so, offer spellings close to unknown words, and name broader words to try."""
        from rapidfuzz import fuzz, process

        words = sorted(
            {w for op in self._ops for w in split_words(f"{op.operation_id} {op.summary}")}
            - STOPWORDS
        )
        close: list[str] = []
        for word in content_words(query):
            if stem(word) not in self._vocabulary:
                matches = process.extract(word, words, scorer=fuzz.ratio, limit=2, score_cutoff=75)
                close += [match for match, _, _ in matches]
        groups = ", ".join(sorted(self._catalog.groups()))
        parts = [f"No operation matches {query.strip()!r}."]
        if close:
            parts.append(f"Did you mean: {', '.join(dict.fromkeys(close))}?")
        parts.append(
            "Try broader words such as message, channel, member, user, reaction, ban, mute, "
            f"upload, push or poll, or a category: {groups}."
        )
        return " ".join(parts)
