"""Query analysis: a request becomes weighted term slots plus the action its verb asks for.

The chat-domain tables in :mod:`stream_mcp.search._vocabulary` are compiled here into phrase rules:
equivalents and implied phrases add terms at reduced weights, so the user's own words still
count most; action words and question openings say what kind of operation is wanted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from types import MappingProxyType
from typing import Any

from stream_mcp.search._text import (
    NAME,
    SNAKE,
    STOPWORDS,
    analyze,
    bigrams,
    content_words,
    exact,
    field_name,
    phrase_stems,
    replace_references,
    split_negated,
    split_words,
    stem,
    useful,
)
from stream_mcp.search._vocabulary import (
    ACTION_WORDS,
    BULK_CUES,
    BULK_MARKERS,
    EQUIVALENTS,
    ID_QUALIFIERS,
    IDIOMS,
    IMPLIES,
    OPERATION_ACTIONS,
    POLITE_MODALS,
    POLITE_WORDS,
    QUANTIFIERS,
    QUESTION_ACTIONS,
    QUESTION_WORDS,
    VERB_ALIASES,
)

EQUIVALENT_WEIGHT = 0.3  # the best of a phrase's equivalents, e.g. "dm" for "direct message"
IMPLIED_WEIGHT = 0.7  # each catalog term implied by a colloquial phrase ("kick")
EXACT_WEIGHT = 0.5  # an id word in the same form, e.g. plural "channels" → DeleteChannels
BIGRAM_WEIGHT = 0.5  # adjacent word pairs reward phrases ("user group") over scattered words
NAME_WEIGHT = 0.4  # "bob" in "unmute bob" is probably a user (see QueryAnalyzer)
PHRASE_GAP = 1  # words allowed between the words of a synonym trigger


# An id's verb → the actions it implies; read-only, built once rather than per id.
_ID_VERBS = MappingProxyType(dict(OPERATION_ACTIONS))

# A count of things: "100 users", "30 stale channels", "10k banned terms" (not "message 42").
_COUNT = re.compile(
    r"\b(?:[2-9]|\d{2,}k?|all)\s+(?:(?:the|my|our|your|their|these|those|of)\s+)*"
    r"(?:[a-z]+\s+)?[a-z]+s\b"
)
# How strongly a request asks for many things: a cue, only a plural noun, or neither.
NO_BULK, PLURAL, BULK = 0, 1, 2


# One scoring slot: alternative phrases with their weights. A document scores the best
# alternative (a phrase scores the mean of its terms), so equivalents never add up.
Slot = tuple[tuple[tuple[str, ...], float], ...]


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """What a request asks for: weighted term slots, and the action of its verb."""

    slots: tuple[Slot, ...]
    actions: frozenset[str]
    terms: frozenset[str] = frozenset()  # every term in any slot
    bulk: int = NO_BULK  # whether it asks to act on many things at once (see BULK_CUES)
    # For judging match strength: each non-name content word with the terms it expands to,
    # how many words look like names, and whether a verb or #/@ reference frames them.
    words: tuple[tuple[str, frozenset[str]], ...] = ()
    names: int = 0
    framed: bool = False


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
                equivalents.append(_Rule(phrase_stems(phrase), others))
        self._equivalents = _PhraseTable(equivalents)
        self._implied = _PhraseTable(
            [_Rule(phrase_stems(c), tuple(analyze(canonical))) for c, canonical in IMPLIES]
        )
        self._verbs = _PhraseTable(
            [
                _Rule(phrase_stems(phrase), frozenset(actions))
                for actions, phrases in ACTION_WORDS
                for phrase in phrases
            ]
        )
        self._read_words = frozenset(
            stem(p)
            for actions, phrases in ACTION_WORDS
            if set(actions) <= {"read", "list"}
            for p in phrases
            if " " not in p
        )
        self._quantifiers = frozenset(stem(q) for q in QUANTIFIERS)
        self._known = frozenset(
            s
            for table in (self._equivalents, self._implied, self._verbs)
            for s in table.trigger_words()
        )
        self._verb_aliases = {stem(a): stem(b) for a, b in VERB_ALIASES}
        self._idioms = tuple(
            (re.compile(rf"\b{re.escape(idiom)}\b", re.IGNORECASE), plain)
            for idiom, plain in IDIOMS
        )
        self._bulk = _PhraseTable([_Rule(phrase_stems(c), True) for c in BULK_CUES])
        self._questions = _PhraseTable(
            [_Rule(phrase_stems(q), frozenset(QUESTION_ACTIONS)) for q in QUESTION_WORDS]
        )

    def plan(self, query: str) -> QueryPlan:
        query = self._rewrite_idioms(query)
        query, negated_terms = split_negated(query)
        query, kinds = replace_references(query)
        references = bool(kinds)
        words = content_words(query)
        own = [stem(w) for w in words]
        names = [w for w, s in zip(words, own, strict=True) if self._is_name(w, s)]
        # Phrase rules see names as "someone": "remove bob from …" matches "remove someone from".
        stems = [stem(NAME) if w in names else stem(w) for w in split_words(query) if useful(w)]
        slots: dict[Slot, None] = {}
        for word, term in zip(words, own, strict=True):
            slots[(((term,), 1.0),)] = None
            slots[(((exact(word),), EXACT_WEIGHT),)] = None
        slots.update(dict.fromkeys((((pair,), BIGRAM_WEIGHT),) for pair in bigrams(own)))
        slots.update(dict.fromkeys((((term,), 1.0),) for term in negated_terms))
        for before, word in pairwise(split_words(query)):
            if before in self._quantifiers and not word.endswith("s"):
                slots[(((exact(word + "s"),), EXACT_WEIGHT),)] = None  # "every user": users
        for name in SNAKE.findall(query.lower()):
            slots[(((field_name(name),), 1.0),)] = None
        expansions: dict[str, set[str]] = {}
        for _, rule in self._equivalents.matches(stems):
            slots[tuple((phrase, EQUIVALENT_WEIGHT) for phrase in rule.payload)] = None
            for trigger in rule.trigger:
                expansions.setdefault(trigger, set()).update(t for p in rule.payload for t in p)
        implied: list[str] = []
        for _, rule in self._implied.matches(stems):
            implied += rule.payload
            for trigger in rule.trigger:
                expansions.setdefault(trigger, set()).update(rule.payload)
        for term in dict.fromkeys(implied):
            if term not in own:
                slots[(((term,), IMPLIED_WEIGHT),)] = None
        if names:
            kinds.add("user")  # an unknown word is most likely a name, and most names are users
        if {"user", "channel"} <= kinds | set(own):
            kinds.add("member")  # "bob" and "#general" together: bob's membership
        for kind in sorted(kinds - set(own)):
            same_form = exact(kind + "s" if kind == "user" and len(names) > 1 else kind)
            slots[(((kind,), NAME_WEIGHT), ((same_form,), NAME_WEIGHT))] = None
        question = self.question(stems, query)
        if question and "who" in stems and "user" not in own:
            slots[((("user",), NAME_WEIGHT),)] = None  # "who …?" asks about people
        terms = frozenset(t for slot in slots for phrase, _ in slot for t in phrase)
        actions = question or self.actions(stems) | self._leading_verb(query)
        bulk = NO_BULK
        if self._bulk.matches(stems) or _COUNT.search(query.lower()):
            bulk = BULK
        elif any(w != s and w.endswith("s") for w, s in zip(words, own, strict=True)):
            bulk = PLURAL  # "delete channels a and b": maybe many
        content = tuple(
            (term, frozenset(expansions.get(term, ())))
            for word, term in dict(zip(words, own, strict=True)).items()
            if word not in names and not self._is_value(word, term)
        )
        # Unknown words read as names or values when something frames them: a #/@ reference,
        # a question, or a known first word ("unmute bob"); not in "weather in paris".
        framed = references or bool(question) or bool(words and words[0] not in names)
        return QueryPlan(
            tuple(slots), actions, terms, bulk, content, len(dict.fromkeys(names)), framed
        )

    def _rewrite_idioms(self, query: str) -> str:
        for pattern, plain in self._idioms:
            query = pattern.sub(plain, query)
        return query

    def _is_value(self, word: str, stemmed: str) -> bool:
        """A number or id the catalog does not know ("42", "m1"), unlike "v2"."""
        return any(c.isdigit() for c in word) and stemmed not in self._vocabulary

    def _is_name(self, word: str, stemmed: str) -> bool:
        """A word neither the catalog nor the synonym tables know: "bob", "acme", "vip"."""
        return word.isalpha() and stemmed not in self._vocabulary and stemmed not in self._known

    def _leading_verb(self, query: str) -> frozenset[str]:
        """The request's first word as a verb ("ban bob" → ban), or its alias ("report" → flag).

        Small words before it are skipped ("please ban bob"), except verbs like "like".
        """
        lead = [
            w for w in split_words(query) if w not in STOPWORDS or stem(w) in self._verb_aliases
        ]
        if not lead:
            return frozenset()
        first = stem(lead[0])
        if first in self._read_words:  # "show bob's channels" reads; it is not ShowChannel
            return frozenset()
        return frozenset(verb_action(v) for v in (first, self._verb_aliases.get(first, first)))

    def opening_actions(self, text: str) -> frozenset[str]:
        """The action of the verb ``text`` opens with: a summary's "Create or replace users"
        makes UpdateUsers a create as well as an update."""
        stems = [stem(w) for w in split_words(text) if useful(w)]
        if stems[:1] == ["read"]:
            return frozenset({"read"})
        return frozenset().union(*(r.payload for i, r in self._verbs.matches(stems) if i == 0))

    def question(self, stems: Sequence[str], query: str = "") -> frozenset[str]:
        """Read/list when the request is a question ("where is …", "does the segment include
        …?"), else nothing. A polite opener ("can you ban bob") is a request, not a question,
        and "how do I …" asks how to act, so neither counts. A bare trailing "?" counts only
        when no verb says what to do ("alice's unread count?")."""
        stems = _drop_polite(stems)
        for position, rule in self._questions.matches(stems):
            if position == 0:
                return rule.payload
        if query.rstrip().endswith("?") and not self._verbs.matches(stems):
            return frozenset(QUESTION_ACTIONS)
        return frozenset()

    def actions(self, stems: Sequence[str]) -> frozenset[str]:
        """The action of a request's first verb ("show every permission" reads a list)."""
        stems = _drop_polite(stems)
        found = sorted(self._verbs.matches(stems), key=lambda f: (f[0], -len(f[1].trigger)))
        actions = found[0][1].payload if found else frozenset()
        if "read" in actions and not self._quantifiers.isdisjoint(stems):
            actions |= {"list"}
        return actions


def _drop_polite(stems: Sequence[str]) -> Sequence[str]:
    """The request without a polite opener: "please", "can you", "could you please"…"""
    i = 0
    while i < len(stems):
        if stems[i] in POLITE_WORDS:
            i += 1
        elif stems[i] in POLITE_MODALS and stems[i + 1 : i + 2] == ["you"]:
            i += 2
        else:
            break
    return stems[i:]


def is_bulk(summary: str) -> bool:
    """A summary that says its operation acts on many things at once (see BULK_MARKERS)."""
    text = f" {' '.join(split_words(summary))} "
    return any(f" {marker} " in text for marker in BULK_MARKERS)


def split_id(operation_id: str) -> tuple[str, list[str]]:
    """An id's verb and its nouns. The verb comes first ("GetBlockedUsers" → get; blocked,
    users) unless the id only ends with a known verb ("ChannelBatchUpdate" → update)."""
    words = split_words(operation_id)
    if len(words) > 1 and words[0] not in _ID_VERBS and words[-1] in _ID_VERBS:
        return words[-1], words[:-1]
    return words[0], words[1:]


def id_head(operation_id: str) -> str:
    """The head noun of an id, its last noun ("GetBlockedUsers" → users); a one-word id
    ("ban") is its own head. Singular or plural is a property of the head."""
    verb, nouns = split_id(operation_id)
    return nouns[-1] if nouns else verb


def exact_nouns(operation_id: str) -> list[str]:
    """The id words whose exact form counts (see EXACT_WEIGHT); a one-word id is its own."""
    verb, nouns = split_id(operation_id)
    return nouns or [verb]


def id_words(operation_id: str) -> tuple[frozenset[str], ...]:
    """The words a request should mention to mean this operation, each with the compounds that
    also count ("BlockList" is matched by "blocklist"); the head noun comes last. Qualifiers
    like "partial" are left out: people rarely say them, and the verb is scored separately."""
    nouns = [w for w in split_id(operation_id)[1] if w not in STOPWORDS and w not in ID_QUALIFIERS]
    out = []
    for i, noun in enumerate(nouns):
        alts = {stem(noun), exact(noun)}
        if i > 0:
            alts.add(stem(nouns[i - 1] + noun))
        if i + 1 < len(nouns):
            alts.add(stem(noun + nouns[i + 1]))
        out.append(frozenset(alts))
    return tuple(out)


def verb_action(stemmed: str) -> str:
    return "verb:" + stemmed


def operation_actions(operation_id: str) -> frozenset[str]:
    """What an operation does, from the verb of its id (GetReactions reads a list)."""
    verb, _ = split_id(operation_id)
    head = id_head(operation_id)
    actions = {verb_action(stem(verb)), *_ID_VERBS.get(verb, ())}
    if "read" in actions and head.endswith("s") and not head.endswith("ss"):
        actions.add("list")
    return frozenset(actions)
