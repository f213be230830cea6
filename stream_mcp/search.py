"""Intent search over the catalog: from "kick bob out of #general" to ``UpdateChannel``.

The index is built once at start-up and is read-only afterwards. Ranking is BM25F: each field
of an operation (its id split at camelCase, summary, curated intents, description, path, the
names of its parameters and body fields) has its own weight and length normalisation, and the
per-document term scores are precomputed, so a query costs a few dictionary look-ups.

Why not ``rank_bm25``: it scores one flat token list per document, so field weights would have
to be faked by repeating tokens (which also breaks length normalisation), and it cannot weight
query terms, which the synonym expansion needs. BM25F over 195 short documents is a few lines.

On top of BM25F, two pieces of chat-domain knowledge from :mod:`stream_mcp.synonyms`:

* query expansion: equivalent phrases (DM ↔ distinct channel) and colloquial ones (kick →
  remove member) add terms at a reduced weight, so the user's own words still count most;
* action agreement: an operation whose id verb matches the request's verb (delete → DeleteX,
  "who is …?" → a query) is boosted, because those verbs are too common for BM25 to weigh.
"""

from __future__ import annotations

import difflib
import heapq
import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from stream_mcp.catalog import Catalog, Operation
from stream_mcp.errors import ValidationError
from stream_mcp.synonyms import (
    ACTION_WORDS,
    EQUIVALENTS,
    ID_QUALIFIERS,
    IMPLIES,
    OPERATION_ACTIONS,
    QUANTIFIERS,
    QUESTION_ACTIONS,
    QUESTION_WORDS,
    VERB_ALIASES,
)

MAX_LIMIT = 20
MAX_HIT_TOKENS = 80  # a hit as compact JSON, at about 4 bytes per token
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
EQUIVALENT_WEIGHT = 0.3  # the best of a phrase's equivalents, e.g. "dm" for "direct message"
IMPLIED_WEIGHT = 0.7  # each catalog term implied by a colloquial phrase ("kick")
EXACT_WEIGHT = 0.5  # an id word in the same form, e.g. plural "channels" → DeleteChannels
BIGRAM_WEIGHT = 0.5  # adjacent word pairs reward phrases ("user group") over scattered words
ACTION_BOOST = 1.5  # an operation whose verb agrees with the request's
NAME_WEIGHT = 0.4  # "bob" in "unmute bob" is probably a user (see QueryAnalyzer)
PHRASE_GAP = 1  # words allowed between the words of a synonym trigger
ID_MISS_PENALTY = 0.15  # per word of an operation's id that the request does not mention
PATH_BONUS = 10.0  # a request that spells out an operation's route
MIN_SCORE = 1.0  # below this, a match is too weak to be worth showing

# --------------------------------------------------------------------------- text analysis

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[a-z0-9]+")
_SNAKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
_PATH = re.compile(r"(?:\b(GET|POST|PUT|PATCH|DELETE)\s+)?(/[\w{}./:-]+)", re.IGNORECASE)
_DOUBLE = re.compile(r"([b-df-hj-np-tv-z])\1$")
_ID_WORD = re.compile(r"\b[A-Z][a-z]+(?:[A-Z0-9][A-Za-z0-9]*)+\b")
# Names that say what they name: "#general" and "messaging:general" are channels, "@alice" a user.
_REFERENCES = (
    ("channel", re.compile(r"(?<![\w#])#[\w-]+|\b[a-z]+:[\w!-]+")),
    ("user", re.compile(r"(?<![\w@])@[\w.-]+")),
)
_STOPWORD_TEXT = """
    a an the to of in on for at by with from into onto out about as and or but so if then than
    is are was were be been being am do does did done can could should would will shall may might
    must i me my mine we us our you your he him his she her it its they them their this that these
    those there here what which who whom whose when where why how please just also any some each
    every via per let lets want need like to too very s t endpoint api
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Stopwords still count inside synonym and action triggers: "like" is filler in "something
# like" but a chat verb in "like this message", and "who" asks for a list ("who is banned").
_IRREGULAR = {"typing": "typing", "news": "news", "status": "status", "alias": "alias"}


def split_words(text: str) -> list[str]:
    """Lower-case words, with camelCase ids split ("GetOrCreateChannel" → get, or, create, …)."""
    return _WORD.findall(_CAMEL.sub(" ", text).lower())


def stem(word: str) -> str:
    """A light English stemmer: enough to equate ban/banned/bans and delete/deleting/deletes.

    It is applied identically to documents and queries, so stems only need to agree, not be
    words. "typing" is kept whole so a typing indicator does not look like a channel type.
    """
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if _DOUBLE.search(word):
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def _useful(word: str) -> bool:
    return len(word) > 1 or word.isdigit()


def content_words(text: str) -> list[str]:
    return [w for w in split_words(text) if w not in STOPWORDS and _useful(w)]


def analyze(text: str) -> list[str]:
    """Stems of the meaningful words of ``text``, in order."""
    return [stem(w) for w in content_words(text)]


def _bigrams(terms: Sequence[str]) -> list[str]:
    return [f"{a} {b}" for a, b in pairwise(terms)]


def _compounds(words: Sequence[str]) -> list[str]:
    """Adjacent words written as one ("block list" → "blocklist"), as people often do."""
    return [stem(a + b) for a, b in pairwise(words)]


def _exact(word: str) -> str:
    """An unstemmed id word, so a plural in the request can prefer a bulk operation."""
    return "=" + word


NAME = "someone"  # what phrase rules see in place of a name


def _route(path: str) -> tuple[str, ...]:
    """Path segments, with every ``{placeholder}`` as "{}"."""
    return tuple("{}" if seg.startswith("{") else seg for seg in path.strip("/").split("/"))


def _route_matches(route: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    """A placeholder on either side matches any value in the other."""
    return len(route) == len(wanted) and all(
        a == b or "{}" in (a, b) for a, b in zip(route, wanted, strict=True)
    )


def _replace_references(query: str) -> tuple[str, set[str]]:
    """Replace "#general" by "channel" and "@alice" by "user": the name itself means nothing."""
    kinds: set[str] = set()
    for kind, pattern in _REFERENCES:
        query, count = pattern.subn(f" {kind} ", query)
        if count:
            kinds.add(kind)
    return query, kinds


def _phrase_stems(phrase: str) -> tuple[str, ...]:
    """Stems of a trigger phrase, keeping stopwords ("who", "like") that matter in phrases."""
    return tuple(stem(w) for w in split_words(phrase) if _useful(w))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked operation, small enough to list many of in an agent's context."""

    operation_id: str
    summary: str
    auth: str  # "user" when a user token may call it, else "server"
    read_only: bool
    destructive: bool
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation_id": self.operation_id,
            "summary": self.summary,
            "auth": self.auth,
            "read_only": self.read_only,
            "destructive": self.destructive,
            "score": self.score,
        }


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Ranked hits; or a ``message`` when nothing matched; or an ``overview`` for no query."""

    query: str
    hits: list[Hit] = field(default_factory=list)
    message: str | None = None
    overview: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"query": self.query, "hits": [h.to_dict() for h in self.hits]}
        if self.message is not None:
            data["message"] = self.message
        if self.overview is not None:
            data["overview"] = self.overview
        return data


def compact_json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def hit_tokens(hit: Hit) -> int:
    """The size budget measure: bytes of the compact JSON, four to a token."""
    return math.ceil(len(compact_json(hit.to_dict()).encode()) / 4)


def make_hit(op: Operation, score: float) -> Hit:
    """A hit whose summary is cut, on a word boundary, to keep it within the token budget."""
    auth = "user" if op.user_token else "server"
    return Hit(
        op.operation_id, fit_summary(op), auth, op.read_only, op.destructive, round(score, 2)
    )


def fit_summary(op: Operation) -> str:
    """The one-line summary, cut so that a hit with any score up to 999999.99 fits the budget."""
    summary = " ".join(op.summary.split())
    widest = Hit(op.operation_id, summary, "server", False, False, 999999.99)
    excess = len(compact_json(widest.to_dict()).encode()) - MAX_HIT_TOKENS * 4
    if excess <= 0:
        return summary
    raw = summary.encode()
    keep = raw[: max(0, len(raw) - excess - len(b"..."))].decode(errors="ignore")
    cut = keep.rsplit(" ", 1)[0] if " " in keep else keep
    return cut.rstrip(" ,;:") + "..."


# --------------------------------------------------------------------------- query analysis

# One scoring slot: alternative phrases with their weights. A document scores the best
# alternative (a phrase scores the mean of its terms), so equivalents never add up.
Slot = tuple[tuple[tuple[str, ...], float], ...]


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """What a request asks for: weighted term slots, and the action of its verb."""

    slots: tuple[Slot, ...]
    actions: frozenset[str]
    terms: frozenset[str] = frozenset()  # every term in any slot


@dataclass(frozen=True, slots=True)
class _Rule:
    """When ``trigger`` (stems, in order) occurs in a query, ``payload`` applies."""

    trigger: tuple[str, ...]
    payload: Any


class _PhraseTable:
    """Phrase rules keyed by their first stem, so matching costs one look-up per word."""

    def __init__(self, rules: Sequence[_Rule]) -> None:
        self._by_first: dict[str, list[_Rule]] = {}
        for rule in rules:
            if rule.trigger:
                self._by_first.setdefault(rule.trigger[0], []).append(rule)

    def trigger_words(self) -> set[str]:
        return {s for rules in self._by_first.values() for r in rules for s in r.trigger}

    def matches(self, stems: Sequence[str]) -> list[tuple[int, _Rule]]:
        """(position, rule) for each rule whose trigger occurs in ``stems``, in order.

        A few words may come between those of a trigger: "make bob an admin" matches the
        trigger "make admin".
        """
        found = []
        for i, s in enumerate(stems):
            for rule in self._by_first.get(s, ()):
                if len(rule.trigger) == 1 or _in_order(rule.trigger[1:], stems[i + 1 :]):
                    found.append((i, rule))
        return found


def _in_order(needle: Sequence[str], haystack: Sequence[str]) -> bool:
    """``needle`` occurs in ``haystack`` in order, with at most PHRASE_GAP words between."""
    start = 0
    for word in needle:
        window = haystack[start : start + PHRASE_GAP + 1]
        if word not in window:
            return False
        start += window.index(word) + 1
    return True


class QueryAnalyzer:
    """Turns a request into a :class:`QueryPlan` using the chat-domain tables.

    ``vocabulary`` is every word stem the index knows; a request word outside it is most
    likely a name ("unmute bob"), and in chat the named thing is most often a user.
    """

    def __init__(self, vocabulary: frozenset[str]) -> None:
        self._vocabulary = vocabulary
        equivalents = []
        for group in EQUIVALENTS:
            phrases = [tuple(analyze(p)) for p in group]
            for phrase, own in zip(group, phrases, strict=True):
                others = tuple(dict.fromkeys(p for p in phrases if p and p != own))
                equivalents.append(_Rule(_phrase_stems(phrase), others))
        self._equivalents = _PhraseTable(equivalents)
        self._implied = _PhraseTable(
            [_Rule(_phrase_stems(c), tuple(analyze(canonical))) for c, canonical in IMPLIES]
        )
        self._verbs = _PhraseTable(
            [
                _Rule(_phrase_stems(phrase), frozenset(actions))
                for actions, phrases in ACTION_WORDS
                for phrase in phrases
            ]
        )
        self._action_words = frozenset(
            stem(p) for _, phrases in ACTION_WORDS for p in phrases if " " not in p
        )
        self._quantifiers = frozenset(stem(q) for q in QUANTIFIERS)
        self._known = frozenset(
            s
            for table in (self._equivalents, self._implied, self._verbs)
            for s in table.trigger_words()
        )
        self._verb_aliases = {stem(a): stem(b) for a, b in VERB_ALIASES}
        self._questions = _PhraseTable(
            [_Rule(_phrase_stems(q), frozenset(QUESTION_ACTIONS)) for q in QUESTION_WORDS]
        )

    def plan(self, query: str) -> QueryPlan:
        query, kinds = _replace_references(query)
        words = content_words(query)
        own = [stem(w) for w in words]
        names = [w for w, s in zip(words, own, strict=True) if self._is_name(w, s)]
        # Phrase rules see names as "someone": "remove bob from …" matches "remove someone from".
        stems = [stem(NAME) if w in names else stem(w) for w in split_words(query) if _useful(w)]
        slots: dict[Slot, None] = {}
        for word, term in zip(words, own, strict=True):
            slots[(((term,), 1.0),)] = None
            slots[(((_exact(word),), EXACT_WEIGHT),)] = None
        slots.update(dict.fromkeys((((pair,), BIGRAM_WEIGHT),) for pair in _bigrams(own)))
        for before, word in pairwise(split_words(query)):
            if before in self._quantifiers and not word.endswith("s"):
                slots[(((_exact(word + "s"),), EXACT_WEIGHT),)] = None  # "every user": users
        for name in _SNAKE.findall(query.lower()):
            slots[(((_field_name(name),), 1.0),)] = None
        for _, rule in self._equivalents.matches(stems):
            slots[tuple((phrase, EQUIVALENT_WEIGHT) for phrase in rule.payload)] = None
        implied: list[str] = []
        for _, rule in self._implied.matches(stems):
            implied += rule.payload
        for term in dict.fromkeys(implied):
            if term not in own:
                slots[(((term,), IMPLIED_WEIGHT),)] = None
        if names:
            kinds.add("user")  # an unknown word is most likely a name, and most names are users
        if {"user", "channel"} <= kinds | set(own):
            kinds.add("member")  # "bob" and "#general" together: bob's membership
        for kind in sorted(kinds - set(own)):
            exact = _exact(kind + "s" if kind == "user" and len(names) > 1 else kind)
            slots[(((kind,), NAME_WEIGHT), ((exact,), NAME_WEIGHT))] = None
        terms = frozenset(t for slot in slots for phrase, _ in slot for t in phrase)
        actions = self.actions(stems) | self._leading_verb(query)
        return QueryPlan(tuple(slots), actions, terms)

    def _is_name(self, word: str, stemmed: str) -> bool:
        """A word neither the catalog nor the synonym tables know: "bob", "acme", "vip"."""
        return word.isalpha() and stemmed not in self._vocabulary and stemmed not in self._known

    def _leading_verb(self, query: str) -> frozenset[str]:
        """The request's first word as a verb ("ban bob" → Ban), or its alias ("report" → Flag).

        Small words before it are skipped ("please ban bob"), except verbs like "like".
        """
        lead = [
            w for w in split_words(query) if w not in STOPWORDS or stem(w) in self._verb_aliases
        ]
        if not lead:
            return frozenset()
        first = stem(lead[0])
        if first in self._action_words:  # "show", "get": already an action class
            return frozenset()
        return frozenset(_verb(v) for v in (first, self._verb_aliases.get(first, first)))

    def opening_actions(self, text: str) -> frozenset[str]:
        """The action of the verb ``text`` opens with: a summary's "Create or replace users"
        makes UpdateUsers a create as well as an update."""
        stems = [stem(w) for w in split_words(text) if _useful(w)]
        if stems[:1] == ["read"]:
            return frozenset({"read"})
        return frozenset().union(*(r.payload for i, r in self._verbs.matches(stems) if i == 0))

    def actions(self, stems: Sequence[str]) -> frozenset[str]:
        """The action a request asks for: a leading question reads or lists; else its first verb.

        "all" or "every" after a read verb ("show every permission") asks for a list.
        """
        for position, rule in self._questions.matches(stems):
            if position == 0:
                return rule.payload
        found = sorted(self._verbs.matches(stems), key=lambda f: (f[0], -len(f[1].trigger)))
        actions = found[0][1].payload if found else frozenset()
        if "read" in actions and not self._quantifiers.isdisjoint(stems):
            actions |= {"list"}
        return actions


def _id_nouns(operation_id: str) -> list[str]:
    """The words of an id after its CRUD verb: "GetBlockedUsers" → blocked, users."""
    words = split_words(operation_id)
    return words[1:] if words[0] in dict(OPERATION_ACTIONS) else words


def id_words(operation_id: str) -> tuple[frozenset[str], ...]:
    """The words a request should mention to mean this operation, each with the compounds that
    also count ("BlockList" is matched by "blocklist"). Qualifiers like "partial" are left out:
    people rarely say them, and the verb is scored separately."""
    words = split_words(operation_id)[1:]  # the first word is the verb, scored on its own
    nouns = [w for w in words if w not in STOPWORDS and w not in ID_QUALIFIERS]
    out = []
    for i, noun in enumerate(nouns):
        alts = {stem(noun), _exact(noun)}
        if i > 0:
            alts.add(stem(nouns[i - 1] + noun))
        if i + 1 < len(nouns):
            alts.add(stem(noun + nouns[i + 1]))
        out.append(frozenset(alts))
    return tuple(out)


def _verb(stemmed: str) -> str:
    return "verb:" + stemmed


def operation_actions(operation_id: str) -> frozenset[str]:
    """What an operation does, from the verb its id starts with (GetReactions reads a list)."""
    words = split_words(operation_id)
    actions = {_verb(stem(words[0])), *dict(OPERATION_ACTIONS).get(words[0], ())}
    if "read" in actions and words[-1].endswith("s") and not words[-1].endswith("ss"):
        actions.add("list")
    return frozenset(actions)


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
        return _ID_WORD.sub(
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
    terms = {name: _field_terms(text) for name, text in fields.items()}
    terms["id_exact"] = Counter(_exact(w) for w in _id_nouns(fields["id"]))
    terms["field_names"] = Counter(_field_name(n) for n in fields["fields"].split() if "_" in n)
    return terms


def _field_name(name: str) -> str:
    """A snake_case field name as one term: agents often ask by name ("add_members")."""
    return "_" + name.lower()


def _field_terms(text: str) -> Counter[str]:
    """Unigrams, bigrams and compounds of one field; pairs never cross a sentence or phrase."""
    terms: Counter[str] = Counter()
    for chunk in re.split(r"[.;,()\n]", text):
        words = content_words(chunk)
        stems = [stem(w) for w in words]
        terms.update(stems)
        terms.update(_bigrams(stems))
        terms.update(_compounds(words))
    return terms


def _bm25f_postings(docs: Sequence[Mapping[str, Counter[str]]]) -> dict[str, dict[int, float]]:
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
        for term, tf in pseudo.items():
            idf = math.log(1.0 + (n - df[term] + 0.5) / (df[term] + 0.5))
            postings.setdefault(term, {})[i] = idf * tf / (K1 + tf)
    return postings


# --------------------------------------------------------------------------- the index


class SearchIndex:
    """BM25F index over a catalog's operations. Immutable once built; safe to share."""

    def __init__(self, catalog: Catalog, postings: dict[str, dict[int, float]]) -> None:
        self._catalog = catalog
        self._postings = postings
        self._ops = list(catalog)
        self._vocabulary = frozenset(t for t in postings if " " not in t)
        self._analyzer = QueryAnalyzer(self._vocabulary)
        self._op_actions = [
            operation_actions(op.operation_id) | self._analyzer.opening_actions(op.summary)
            for op in self._ops
        ]
        self._id_words = [id_words(op.operation_id) for op in self._ops]
        # term → (doc, index of the id word it stands for), to count covered id words fast
        self._id_word_index: dict[str, list[tuple[int, int]]] = {}
        for doc, words in enumerate(self._id_words):
            for i, alts in enumerate(words):
                for term in alts:
                    self._id_word_index.setdefault(term, []).append((doc, i))
        self._summaries = [fit_summary(op) for op in self._ops]
        self._routes = [(op.method, _route(op.path)) for op in self._ops]

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> SearchIndex:
        docs = [document_terms(operation_fields(catalog, op)) for op in catalog]
        return cls(catalog, _bm25f_postings(docs))

    def search(self, query: str, limit: int = 5) -> SearchResult:
        """Rank operations for a natural-language request."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise ValidationError(
                f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit!r}", field="limit"
            )
        if not isinstance(query, str):
            raise ValidationError("query must be a string", field="query")
        if not query.strip():
            return SearchResult(query=query, overview=self.overview())
        scores = self.scores(self._analyzer.plan(query))
        for doc, bonus in self._path_matches(query).items():
            scores[doc] = scores.get(doc, 0.0) + bonus
        best = heapq.nlargest(limit, scores.items(), key=lambda kv: (kv[1], -kv[0]))
        hits = [self._hit(doc, score) for doc, score in best if score >= MIN_SCORE]
        if not hits:
            return SearchResult(query=query, message=self._no_match_message(query))
        return SearchResult(query=query, hits=hits)

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
        for term in plan.terms:
            for doc, word in self._id_word_index.get(term, ()):
                covered.setdefault(doc, set()).add(word)
        for doc in total:
            if self._op_actions[doc] & plan.actions:
                total[doc] *= ACTION_BOOST
            missing = len(self._id_words[doc]) - len(covered.get(doc, ()))
            total[doc] *= (1.0 - ID_MISS_PENALTY) ** missing
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

    def _no_match_message(self, query: str) -> str:
        """Say so, offer spellings close to unknown words, and name broader words to try."""
        words = sorted(
            {w for op in self._ops for w in split_words(f"{op.operation_id} {op.summary}")}
            - STOPWORDS
        )
        close: list[str] = []
        for word in content_words(query):
            if stem(word) not in self._vocabulary:
                close += difflib.get_close_matches(word, words, n=2, cutoff=0.75)
        groups = ", ".join(sorted(self._catalog.groups()))
        parts = [f"No operation matches {query.strip()!r}."]
        if close:
            parts.append(f"Did you mean: {', '.join(dict.fromkeys(close))}?")
        parts.append(
            "Try broader words such as message, channel, member, user, reaction, ban, mute, "
            f"upload, push or poll, or a category: {groups}."
        )
        return " ".join(parts)
