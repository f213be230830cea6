"""Query analysis: a request becomes weighted term slots plus the action its verb asks for.

The chat-domain tables in :mod:`stream_mcp.search._vocabulary` are compiled here into phrase rules:
equivalents and implied phrases add terms at reduced weights, so the user's own words still
count most; action words and question openings say what kind of operation is wanted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from itertools import pairwise, takewhile
from types import MappingProxyType
from typing import Any

from stream_mcp.search._spelling import Speller, same_letters
from stream_mcp.search._text import (
    NAME,
    QUOTED,
    SNAKE,
    STOPWORDS,
    analyze,
    bigrams,
    content_words,
    exact,
    field_name,
    phrase_stems,
    replace_commands,
    replace_references,
    ruled_out,
    split_negated,
    split_words,
    stem,
    unquote,
    useful,
)
from stream_mcp.search._vocabulary import (
    ACTION_WORDS,
    ASPECTS,
    BULK_CUES,
    BULK_MARKERS,
    DETERMINERS,
    EQUIVALENTS,
    ID_KINDS,
    ID_PREFIXES,
    ID_QUALIFIERS,
    IDIOMS,
    IMPLIES,
    MODAL_MARKERS,
    MODIFIERS,
    NOUN_VERBS,
    OPERATION_ACTIONS,
    OTHER_VERBS,
    OUTCOMES,
    POLITE_MODALS,
    POLITE_WORDS,
    QUANTIFIERS,
    QUESTION_ACTIONS,
    QUESTION_WORDS,
    READ_AS,
    READ_NOUNS,
    REVERSAL_CUES,
    SPEECH_MEANS,
    SPEECH_WORDS,
    TRAILING_VERBS,
    UNDO_CUES,
    VERB_ALIASES,
    VERB_SYNONYMS,
)

EQUIVALENT_WEIGHT = 0.3  # the best of a phrase's equivalents, e.g. "dm" for "direct message"
IMPLIED_WEIGHT = 0.7  # each catalog term implied by a colloquial phrase ("kick")
EXACT_WEIGHT = 0.5  # an id word in the same form, e.g. plural "channels" → DeleteChannels
BIGRAM_WEIGHT = 0.5  # adjacent word pairs reward phrases ("user group") over scattered words
NAME_WEIGHT = 0.4  # "bob" in "unmute bob" is probably a user (see QueryAnalyzer)
BARE_WORDS = 3  # a request this short with no verb is a noun phrase, not a sentence
CORRECTED_WEIGHT = 0.6  # a word read through a guessed typo ("delte" → delete) counts less
SYNONYM_VERB_WEIGHT = 0.8  # the id verb a synonym stands for: "drop" also as "delete"
PHRASE_GAP = 1  # words allowed between the words of a synonym trigger


# An id's verb → the actions it implies; read-only, built once rather than per id.
_ID_VERBS = MappingProxyType(dict(OPERATION_ACTIONS))

# Small words that end in "s" but name no things: "poll 4 as it stands" counts nothing.
# Nor do the aspects of one thing after its number: "queue 3 details", "run 5 stats".
_NOT_PLURAL = (
    r"(?!(?:as|is|was|has|does|its|his|this|us|yes|plus|thus|always|perhaps|details|settings|"
    r"contents|properties|specs|stats|statistics|infos)\b)"
)
# A count of things: "100 users", "30 stale channels", "10k banned terms" (not "message 42",
# nor a page of them: "the last 20 messages", nor a time: "for 2 hours", nor part of an id:
# "u-8 as members").
_COUNT = re.compile(
    r"(?<!last )(?<!latest )(?<!recent )(?<!newest )(?<!first )(?<!top )(?<!past )"
    r"(?<![\w-])(?:[2-9]|\d{2,}k?|all)\s+(?:(?:the|my|our|your|their|these|those|of)\s+)*"
    r"(?!(?:seconds|minutes|hours|days|weeks|months|years|mins|hrs|secs)\b)"
    r"(?:[a-z]+\s+)?" + _NOT_PLURAL + r"[a-z]+s\b"
)
# A word as typed, for spelling correction: not part of a #channel, @user, URL, email or
# type:id, nor cut from a longer token ("don't", "half-written", "invoice.pdf").
_TOKEN = re.compile(r"(?<![\w#@:/.'’-])[A-Za-z]+(?![\w@:/'’-]|\.\w)")
# "add … to the blocklist": adding to something that exists, an update as much as a create.
_ADD_TO = re.compile(
    r"\b(?:add|append|insert|put)\b[^.;,?!]*?\b(?:to|into|onto)\s+(?:the|my|our|your|this|"
    r"that|its|their|an existing|the existing)\b",
    re.IGNORECASE,
)
_PREPOSITIONS = frozenset(
    {"for", "of", "in", "on", "with", "from", "to", "about", "by", "at", "across", "into", "as"}
)
# "how many" and the like ask a question; "many" names nothing (GetManyMessages).
_HOW = re.compile(r"\bhow\s+(many|much)\b", re.IGNORECASE)
# After an unknown first word, these make it a verb: "message bob", "ping the team".
_OBJECTS = frozenset(
    {"a", "an", "the", "my", "our", "your", "his", "her", "their", "this", "that", "these",
     "those", "all", "every", "me", "him", "them", "us", "it", "to", "for", "on", "in", "with",
     "about", "at", "someone", "everyone"}
)  # fmt: skip
# "read" opening a request, after any polite opener ("please read …", "can you read …").
_LEADING_READ = re.compile(
    r"^(\W*(?:(?:please|pls|plz|kindly|hey|ok|okay|(?:can|could|would|will) you|i want to|"
    r"i'd like to|let me)\W+)*)read\b(?!\W+(?:\w+\W+)?(?:" + "|".join(sorted(READ_NOUNS)) + r")\b)",
    re.IGNORECASE,
)
# Asking whether one may act is asking to act: "can I delete …?", "is it possible to change …",
# "is there a way to see …" want the operation, as "how do I …" does; "can bob post?" asks.
_MAY_I = re.compile(
    r"^\W*(?:(?:please|hey|ok|okay|so)\W+)*(?:(?:can|could|may|might|should)\s+(?:i|we)\b|"
    r"is\s+(?:it\s+possible|there\s+(?:a|any)\s+way)\s+to\b)",
    re.IGNORECASE,
)
# "how do I cast leo's vote?" asks how to act, even when no verb of ACTION_WORDS says what to
# do; "how do I know …" and "how do I see …" still read.
_HOW_DO_I = re.compile(
    r"^\W*(?:(?:please|hey|ok|okay|so)\W+)*how\s+(?:do|can|could|should|would)\s+(?:i|we)\s+"
    r"(?!(?:know|tell|see|check|find|look|get|view|read|list|show|figure)\b)\w",
    re.IGNORECASE,
)
# "the reminder should go off on Friday", "people we add shouldn't be able to scroll back": a
# state wanted or ruled out, so something must change; such a request is no bare noun phrase,
# even when its verb is unknown.
_WANTED = re.compile(r"\b(?:should|must|ought to|needs? to|has to|have to)\s+(?!be\s+able\b)\w")
# ... seen before negated clauses are set aside (see split_negated), which would take it along
_UNWANTED = re.compile(r"\b(?:should|must)(?:n['’]t|\s+not|\s+no\s+longer|\s+never)\s+\w")
_WRITES = frozenset({"create", "update", "delete"})
# After a subject, these make a statement of what it is or was: "poll p-4 was a mistake".
_COPULAS = frozenset({"is", "was", "are", "were", "has", "had"})
# Words for people: a request with one of these, or a name, is about people, so about the
# members of a group or the targets of a segment rather than the group or segment itself.
_PEOPLE = frozenset(
    {"user", "people", "person", "someone", "everyone", "who", "member", "participant"}
)
_MEMBERSHIP = frozenset({"member", "target"})
# Where people are put, found or taken from: "add bob to …", "who is in …", "out of …".
_INTO = frozenset({"in", "into", "to", "from", "out", "of", "inside", "within"})
_AND = frozenset({"and", "or"})
_OBJECT_PRONOUNS = frozenset({"him", "her", "them"})
# Words that make a noun phrase many things: "every user group", "everyone with the role".
_MANY = frozenset({*QUANTIFIERS, "everyone", "everybody", "everything"})
# Who may have done something to a thing named just before: "the configs we've set up".
_SUBJECTS = frozenset({"we", "i", "you", "they"})
_RELATIVES = frozenset({"that", "which"})
_AUXILIARIES = frozenset(
    {"ve", "have", "had", "d", "re", "are", "were", "did", "do", "just", "already", "recently",
     "ever", "all", "once", "previously", "originally"}
)  # fmt: skip
_PARTICLES = frozenset({"up", "out", "off", "down", "away", "aside", "back", "together"})
_ARTICLES = DETERMINERS | {"a", "an"}
# A word of a compound id ("seg_churned", "spring-promo") names that thing, not a person.
_ID_TOKEN = re.compile(r"\b[a-z]+(?:[_-][a-z]+)+\b")
# "who's in …" is "who is in …": the contraction would hide the verb from phrase rules.
_IS = re.compile(r"\b(who|what|where|there|that|it|here|how|which)['’]s\b", re.IGNORECASE)
# A question that asks which things, in the plural: "what channel types do we have?", "which
# permissions exist?", "what commands are registered?" want the list, not one of them; but
# "what filters does queue q-4 have?" asks about one thing's aspects (see ASPECTS), and "which
# words are in the list?" about what one thing holds.
_HELD_IN = r"(?!\s+(?:(?:\w+ly|still|now)\s+)?(?:in|on|inside|within|of|part)\b)"
_WHICH_MANY = re.compile(
    r"^\W*(?:(?:please|pls|plz|hey|so|ok|okay)\W+)*(?:what|which)\s+(?:[a-z-]+\s+){0,2}?"
    r"(?![a-z]*(?:ss|us|is)\b)(?!(?:" + "|".join(sorted(ASPECTS)) + r")\b)"
    r"[a-z]{3,}s\s+(?:do|does|exist|have|we|you|can|did|there|are" + _HELD_IN + r")\b",
    re.IGNORECASE,
)
# Whether something works, asked: "can the importer actually list our bucket?", "does the
# APNs setup work?", "is the bucket reachable?" want a test run, not a setting read ("can you
# …" is a request, and asks nothing).
_TESTS = re.compile(
    r"^\W*(?:(?:so|ok|okay|hey|and)\W+)*(?:(?:can|could|will|would)\s+(?!you\b)(?=[^?]*\b"
    r"(?:actually|really)\b)|(?:can|could|does|do|will|would|is|are)\s+(?!you\b)(?=[^?]*\b"
    r"(?:reachable|valid|(?:work|works|working|connect|connects)\s*(?:\?|$))))",
    re.IGNORECASE,
)
# Whether one thing is among another's, asked yes or no: "is u-9 targeted by seg-pro?", "does
# the segment include bob?" want an existence check, where one exists (SegmentTargetExists).
_WHETHER_IN = re.compile(
    r"^\W*(?:(?:so|ok|okay|hey|and)\W+)*(?:(?:is|are|was|were)\s+[^?]{1,60}?\s+(?:in|inside|"
    r"among|part\s+of|a\s+member\s+of|members\s+of|included\s+in|targeted\s+(?:by|in)|covered\s+by|"
    r"reached\s+by|on\s+the\s+list)\b|(?:does|do|did)\s+[^?]{1,60}?\s+(?:include|contain|target|"
    r"cover|reach)\b)",
    re.IGNORECASE,
)
# A number of things: "10 items", "the last 20 messages" (not "message 42").
_SOME = re.compile(r"\b\d+k?\s+(?:[a-z]+\s+)?" + _NOT_PLURAL + r"[a-z]{2,}s\b")
# Where a clause ends: not inside "game.move", "10:02" or "half-typed".
_CLAUSE = re.compile(r"[;!?()—–]|[.:,](?:\s|$)|\s-+\s")
# An id with a conventional prefix for its kind ("cmp-9", "seg-beta"; see ID_KINDS), not
# part of a #channel, type:id, @handle, path or longer token.
_PREFIXED_ID = re.compile(
    r"(?<![\w#@:/.-])("
    + "|".join(sorted((re.escape(p) for p, _ in ID_KINDS), key=len, reverse=True))
    + r")([-_])(\w+(?:-\w+)*)(?![\w@/-]|\.\w)",
    re.IGNORECASE,
)
_ID_KIND = MappingProxyType(dict(ID_KINDS))
_KIND_NOUNS = frozenset(stem(w) for _, kind in ID_KINDS for w in kind.split())
SHORT_PREFIX = 2  # a prefix this short names its kind only before a number ("u-5")
# What may come between the ids of a list: "u-2, u-3 and u-4".
_LISTED = re.compile(r"(?:\s|,|\band\b|\bor\b|&)*", re.IGNORECASE)
_LAST_WORD = re.compile(r"([a-z]+)\W*$", re.IGNORECASE)


def read_ids(query: str) -> tuple[str, Counter[str]]:
    """``query`` with its prefixed ids read as their kinds, and how many of each (see
    ``_read_ids``)."""
    text, kinds, _ = _read_ids(query)
    return text, kinds


def _read_ids(query: str) -> tuple[str, Counter[str], Counter[str]]:
    """``query`` with each prefixed id read as the kind of thing it names ("trash cmp-9" as
    "trash campaign"), and how many of each kind there were (see ID_KINDS).

    The id's name says nothing about the operation, as a #channel's name says nothing, and
    its prefix is no name ("imp" is not a user); its number stays a number. An id after a
    noun for its kind ("poll p-4", "review item rq-9"), or listed after one that is, is that
    noun's value, not a second mention. A user's id is left as it is, but counted: like a
    name, it is a user mentioned in passing ("u-5's convos"), not a request about users. A
    short prefix counts only before a number, where it can hardly be a word ("u-turn").

    The third value counts the ids that were a noun's values: "review queue q-20" names
    one queue all the same.
    """
    kinds: Counter[str] = Counter()
    valued: Counter[str] = Counter()
    out: list[str] = []
    done = 0
    named = False  # whether the last id was a value of the noun before it
    for m in _PREFIXED_ID.finditer(query):
        prefix, value = m[1].lower(), m[3]
        # "seg_42" as "seg-42"; but "opt_in" or "cmd_name" is a field's name
        short = len(prefix) <= SHORT_PREFIX or m[2] == "_"
        if short and not any(c.isdigit() for c in value):
            continue
        kind = _ID_KIND[prefix]
        between = query[done : m.start()]
        listed = bool(out) and _LISTED.fullmatch(between) is not None
        before = _LAST_WORD.search(between) if not listed else None
        named = named if listed else bool(before and stem(before[1].lower()) in _KIND_NOUNS)
        out.append(between)
        number = value if value.isdigit() else ""
        if named:
            valued[kind] += 1
            out.append(f" {number} ")
        elif kind == "user":
            kinds[kind] += 1
            out.append(m[0])
        else:
            kinds[kind] += 1
            out.append(f" {kind} {number} ")
        done = m.end()
    return "".join(out) + query[done:], kinds, valued


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
    undo: bool = False  # whether it says to undo something (see UNDO_CUES)
    said: frozenset[str] = frozenset()  # the request's own terms and the kinds it references
    named: frozenset[str] = frozenset()  # the kinds of thing it names: "#general", "@bob"
    bare: bool = False  # a short noun phrase, no verb nor question: "blocked users"
    corrections: tuple[tuple[str, str], ...] = ()  # (as typed, as read) for each typo
    asks: bool = False  # a question: "who are the moderators of #ops?" reads, it changes nothing
    excluded: frozenset[str] = frozenset()  # stems it rules out: "not a batch" (see ruled_out)
    # id words it stands for without saying them: people named ("add bob to …", "who is in
    # …?") are the members or targets of whatever they are put in, taken from or found in
    roles: frozenset[str] = frozenset()
    reverses: bool = False  # whether it says outright to reverse something (see REVERSAL_CUES)


@dataclass(frozen=True, slots=True)
class _Rule:
    """When ``trigger`` (stems, in order) occurs in a query, ``payload`` applies."""

    trigger: tuple[str, ...]
    payload: Any


class _Rewrite:
    """A pattern and its replacement; with cues (strings every match contains), compiled on
    the first request that has one of them, and applied only to those (see ``_cues``)."""

    __slots__ = ("_compiled", "_cues", "_pattern", "_plain")

    def __init__(self, pattern: str, plain: str, cues: tuple[str, ...] = ()) -> None:
        self._pattern = pattern
        self._plain = plain
        self._cues = cues
        self._compiled = None if cues else re.compile(pattern)

    def sub(self, query: str) -> str:
        if self._cues and not any(cue in query for cue in self._cues):
            return query
        if self._compiled is None:
            self._compiled = re.compile(self._pattern)  # racing threads compile the same
        return self._compiled.sub(self._plain, query)


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
    likely a name ("unmute bob"), and in chat the named thing is most often a user. Unless it
    is a typo: given ``spellings`` (the catalog's words, each with how many operations use
    it, or a function giving them on the first typo), a word a typing slip away from one of
    those or from a word of the vocabulary tables is read as that word ("delte" → delete).
    """

    def __init__(
        self,
        vocabulary: frozenset[str],
        spellings: Mapping[str, int] | Callable[[], Mapping[str, int]] | None = None,
        cues: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self._vocabulary = vocabulary
        equivalents = []
        for group in EQUIVALENTS:
            phrases = [tuple(analyze(p)) for p in group]
            for phrase, own in zip(group, phrases, strict=True):
                others = tuple(dict.fromkeys(p for p in phrases if p and p != own))
                equivalents.append(_Rule(phrase_stems(phrase), others))
        self._equivalents = _PhraseTable(equivalents)
        # a word ruled out rules out its one-word equivalents: "not its author's account"
        # rules out the user
        self._alike: dict[str, frozenset[str]] = {}
        for group in EQUIVALENTS:
            alike = frozenset(stem(p) for p in group if " " not in p)
            for word in alike:
                self._alike[word] = self._alike.get(word, frozenset()) | alike
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
        self._verb_synonyms = {
            stem(synonym): stem(verb) for verb, synonyms in VERB_SYNONYMS for synonym in synonyms
        }
        self._nouns = frozenset(stem(n) for n in NOUN_VERBS)
        self._speech = _PhraseTable(
            [_Rule(phrase_stems(w), tuple(analyze(SPEECH_MEANS))) for w in SPEECH_WORDS]
        )
        self._undo = _PhraseTable([_Rule(phrase_stems(c), True) for c in UNDO_CUES])
        self._reversal = _PhraseTable([_Rule(phrase_stems(c), True) for c in REVERSAL_CUES])
        self._verb_words = frozenset(
            {stem(p.split()[0]) for _, phrases in ACTION_WORDS for p in phrases}
            | {stem(a) for a, _ in VERB_ALIASES}
            | {stem(v) for v in OTHER_VERBS}
            | {stem(c) for c in UNDO_CUES if " " not in c}
        )
        # every word of the vocabulary tables: never a name, nor a typo
        self._known = (
            frozenset(stem(w) for phrase in _vocabulary_phrases() for w in split_words(phrase))
            | self._verb_words
        )
        self._verb_aliases = {stem(a): stem(b) for a, b in VERB_ALIASES}
        self._read_as = dict(READ_AS)
        self._shorthand = re.compile(
            r"\b(?:" + "|".join(map(re.escape, self._read_as)) + r")\b", re.IGNORECASE
        )
        # matched against the lower-cased request: without IGNORECASE, faster by a third; an
        # idiom is its own cue, and an outcome rule's cues are derived from its pattern and
        # stored in the artifact (``cues``), so most rules are compiled only when needed
        derived = cues or {}
        self._idioms = tuple(
            _Rewrite(rf"\b{re.escape(idiom.lower())}\b", plain, (idiom.lower(),))
            for idiom, plain in IDIOMS
        ) + tuple(_Rewrite(pattern, plain, derived.get(pattern, ())) for pattern, plain in OUTCOMES)
        self._bulk = _PhraseTable([_Rule(phrase_stems(c), True) for c in BULK_CUES])
        self._speller: Speller | None = None
        if spellings is not None:
            source = spellings

            def words() -> dict[str, int]:
                known = Counter(source() if callable(source) else source)
                known.update(w for phrase in _vocabulary_phrases() for w in split_words(phrase))
                return {w: n for w, n in known.items() if w not in STOPWORDS}

            self._speller = Speller(words)
        self._questions = _PhraseTable(
            [_Rule(phrase_stems(q), frozenset(QUESTION_ACTIONS)) for q in QUESTION_WORDS]
        )

    def plan(self, query: str) -> QueryPlan:
        query = _IS.sub(r"\1 is", query)
        query, commands = replace_commands(query)
        query = self._shorthand.sub(lambda m: self._read_as[m[0].lower()], query)
        query, corrections = self._correct(query)
        query = unquote(self._rewrite_idioms(query))
        undo = self._undoes(query)
        excluded = frozenset().union(
            *(self._alike.get(term, frozenset({term})) for term in ruled_out(query))
        )
        stated = query
        query, negated_terms = split_negated(query)
        query, references_made = replace_references(query)
        query, ids, valued = _read_ids(query)
        references_made.update({kind: n for kind, n in ids.items() if " " not in kind})
        if commands:
            references_made["command"] = commands
        kinds = set(references_made)
        references = bool(kinds)
        # one thing named ("#general") asks about that one, not a search over many
        named = {kind for kind, count in (references_made + valued).items() if count == 1}
        # "how many" asks a number, it does not name GetManyMessages
        asked = {m[1].lower() for m in _HOW.finditer(query)}
        words = [w for w in content_words(query) if w not in asked]
        own = [stem(w) for w in words]
        # a word read through a typo counts less, unless it was typed with the meant word's
        # letters, only out of order or one doubled ("remvoe", "bann"): that is no guess
        corrected = {
            stem(fix): 1.0 if same_letters(typed, fix) else CORRECTED_WEIGHT
            for typed, fix in corrections
        }
        names = [w for w, s in zip(words, own, strict=True) if self._is_name(w, s)]
        # Phrase rules see names as "someone": "remove bob from …" matches "remove someone from".
        # Quoted text is a value ("send 'see you' to #team"): its words are no verbs.
        said, starts = _clauses(QUOTED.sub(" it ", query))
        stems = [
            stem(NAME) if w in names or _is_pronoun(said, i) else stem(w)
            for i, w in enumerate(said)
        ]
        described = self._described(said, names, starts)
        plain = self._plain(said, names, starts, described)
        question = self.question(stems, query, plain)
        # In a question, "say" and "mention" report what was said: search the messages. The
        # reporting words then say how to find the answer, not what it is about.
        speech = self._speech.matches(stems) if question else []
        reported = {s for _, rule in speech for s in rule.trigger}
        slots: dict[Slot, None] = {}
        for word, term in zip(words, own, strict=True):
            if term in reported or word.isdigit():
                continue  # a number is a value ("the last 50", "message 42"), not a topic
            weight = corrected.get(term, 1.0)
            verb = self._verb_synonyms.get(term)
            if verb is None:
                slots[(((term,), weight),)] = None
            else:
                slots[(((term,), weight), ((verb,), SYNONYM_VERB_WEIGHT * weight))] = None
            slots[(((exact(word),), EXACT_WEIGHT * weight),)] = None
        # no pair across a person pronoun, as none across a name
        broken = _after_pronoun(query, words)
        pairs = [pair for i, pair in enumerate(bigrams(own), start=1) if i not in broken]
        slots.update(dict.fromkeys((((pair,), BIGRAM_WEIGHT),) for pair in pairs))
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
        kept = _one_name(stems)
        listed = [stems[i] for i in kept]
        implications = [
            r for _, r in self._implied.matches(listed) if not reported >= set(r.trigger)
        ]
        implied: list[str] = []
        for rule in [*implications, *(r for _, r in speech)]:
            implied += rule.payload
            for trigger in rule.trigger:
                expansions.setdefault(trigger, set()).update(rule.payload)
        meant = {t for _, rule in speech for t in rule.payload}  # what "say" stands for
        for term in dict.fromkeys(implied):
            if term not in own:
                weight = 1.0 if term in meant else IMPLIED_WEIGHT
                slots[(((term,), weight),)] = None
        if (names and not speech) or any(_is_pronoun(said, i) for i in range(len(said))):
            # An unknown word is most likely a name, and most names are users; but in "did
            # anyone mention refunds?" it is what was said. "him" put somewhere is one too.
            kinds.add("user")
        if {"user", "channel"} <= kinds | set(own):
            kinds.add("member")  # "bob" and "#general" together: bob's membership
        for kind in sorted(k for k in kinds if k not in own and stem(k) not in own):
            people = len(names) + references_made["user"]
            same_form = exact(kind + "s" if kind == "user" and people > 1 else kind)
            slots[(((kind,), NAME_WEIGHT), ((same_form,), NAME_WEIGHT))] = None
        if question and "who" in stems and "user" not in own:
            slots[((("user",), NAME_WEIGHT),)] = None  # "who …?" asks about people
        terms = frozenset(t for slot in slots for phrase, _ in slot for t in phrase)
        actions = question or self.actions(listed, [plain[i] for i in kept]) | self._leading_verb(
            said, plain, starts
        )
        if "read" in actions and _SOME.search(query):
            actions |= {"list"}  # "grab 10 items": a page of them
        if question and _WHICH_MANY.search(query):
            actions = frozenset({"list"})  # "what channel types do we have?" lists them
        among = bool(question and _WHETHER_IN.match(query))
        if among:
            # "is bob in the segment?" asks one fact, not for a list; bob would be a member
            # or target of it
            actions = frozenset({"read", verb_action("exist")})
        if _TESTS.match(query):
            actions = frozenset({"test"})  # "does the bucket actually work?" tests it
        if "create" in actions and _ADD_TO.search(query):
            actions |= {"update"}  # adding to something that exists changes it
        plural = any(
            w != s and w.endswith("s") and w not in ASPECTS for w, s in zip(words, own, strict=True)
        )
        bare = not question and not self._has_verb(said, stems, plain, names)
        if bare and (_WANTED.search(query) or _UNWANTED.search(stated)):
            bare = False
            if actions.isdisjoint(_WRITES):
                actions |= {"update"}  # a state wanted of something that exists
        if bare:
            # No verb at all: "blocked users" asks to see them, a list if the head is plural
            # (not in "automod config for livestream channels").
            head = list(takewhile(lambda w: w not in _PREPOSITIONS, said))
            many = any(
                (_inflected(w) and w.endswith("s") and w not in ASPECTS) or w in _MANY for w in head
            )
            actions |= {"list"} if many else frozenset(QUESTION_ACTIONS)
        if (
            named - {"user"}
            and not plural
            and "read" in actions
            and self._quantifiers.isdisjoint(stems)
            and "list" not in own
            and not self._about_people(stems)  # "who is in seg-4?" asks for many
        ):
            # a read of one named thing, with no plural: "how /ticket is defined", "#ops
            # settings?", "show seg-4" read that one, not a list
            actions -= {"list"}
        bulk = NO_BULK
        cues = [i for i, _ in self._bulk.matches(stems) if stems[i - 1 : i] != ["how"]]
        if cues or _COUNT.search(query.lower()):
            bulk = BULK
        elif plural:
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
            tuple(slots),
            actions,
            terms,
            bulk,
            content,
            len(dict.fromkeys(names)),
            framed,
            undo,
            frozenset(own) | frozenset(references_made),  # not the guessed "user" of a name
            frozenset(named),
            # a noun phrase with a relative clause is one however long: "the configs we've set up"
            bare and (len(words) <= BARE_WORDS or bool(described)),
            corrections,
            bool(question),
            excluded - frozenset(own),
            _MEMBERSHIP if among else self._roles(query, said, names),
            bool(self._reversal.matches([stem(w) for w in split_words(stated)])),
        )

    def _roles(self, query: str, said: Sequence[str], names: Sequence[str]) -> frozenset[str]:
        """ "member" and "target" when people are put in, found in or taken out of something
        (see QueryPlan.roles): a word for people ("who is in …", "users to …"), or a name or id
        just before where it goes ("remove bob from …", "pull u-10 and u-11 out of …"); not
        for "make bob an admin", which places him nowhere."""
        stems = [stem(w) for w in said]
        if _INTO.isdisjoint(stems):
            return frozenset()
        in_ids = {w for token in _ID_TOKEN.findall(query) for w in split_words(token)}
        for i, word in enumerate(said[:-1]):
            person = (
                (word in names and word not in in_ids)
                or any(map(str.isdigit, word))
                or _is_pronoun(said, i)
            )
            if person and (said[i + 1] in _INTO or said[i + 1] in _AND):
                start = i
                while start and said[start - 1] in names:
                    start -= 1
                # a person's name takes no article: "the winback promo" is a thing
                if not (start and said[start - 1] in _ARTICLES):
                    return _MEMBERSHIP
        return _MEMBERSHIP if self._about_people(stems) else frozenset()

    @staticmethod
    def _about_people(stems: Sequence[str]) -> bool:
        """Whether a request names people ("who", "users", "everyone"): "user" in "user
        group" names the group, not its members."""
        return any(
            s in _PEOPLE and not (s == "user" and stems[i + 1 : i + 2] == ["group"])
            for i, s in enumerate(stems)
        )

    def _has_verb(
        self,
        said: Sequence[str],
        stems: Sequence[str],
        plain: Sequence[bool],
        names: Sequence[str],
    ) -> bool:
        """Whether a request has a verb: a known one in its plain form, or a first word used as
        one, before a person or a determiner ("message bob", "ping the team")."""
        if any(p and s in self._verb_words for s, p in zip(stems, plain, strict=True)):
            return True
        lead = [
            i
            for i, w in enumerate(said)
            if w not in STOPWORDS
            and w not in POLITE_WORDS
            and w not in MODIFIERS
            and w not in QUANTIFIERS  # "all the groups" counts them, it does nothing to them
        ][:1]
        if not lead or _inflected(said[lead[0]]):
            return False
        after = said[lead[0] + 1 : lead[0] + 2]
        return bool(after) and (after[0] in _OBJECTS or after[0] in names)

    def _plain(
        self,
        said: Sequence[str],
        names: Sequence[str],
        starts: frozenset[int] = frozenset(),
        described: Set[int] = frozenset(),
    ) -> list[bool]:
        """Which words of a request could be its verb: not names, not inflected ("blocked
        users"), and not a noun after a noun ("compliance archive", "user export"); a word
        opening a clause (``starts``) follows no noun ("… path prefix; edit it in place")."""
        out = []
        for i, word in enumerate(said):
            before = said[i - 1] if i and i not in starts else ""
            after_noun = bool(before) and not (
                before in STOPWORDS
                or before in MODIFIERS  # "bulk update", "soft delete", "only push"
                or before.endswith("ly")  # "automatically ban", "permanently delete"
                or before in POLITE_WORDS
                or before in names
                or before.isdigit()
                or stem(before) in self._verb_words
            )
            # A noun first is a verb only before what it acts on: "message bob", "draft a
            # reply", but "message reactions" names reactions (see NOUN_VERBS).
            after = said[i + 1] if i + 1 < len(said) else ""
            noun = stem(word) in self._nouns and not (after in _OBJECTS or after in names)
            # an inflected word is no verb, unless it asks to read ("rule r_7 details") or
            # says what must be done to a thing ("poll p-4 should be removed")
            inflected = _inflected(word) and not (
                (word in ASPECTS and stem(word) in self._read_words)
                or (_is_passive(said, i) and stem(word) in self._verb_words)
            )
            # ... but a terse request may end with its verb: "importer bucket remove"
            last_verb = i == len(said) - 1 and word in TRAILING_VERBS
            out.append(
                word not in names
                and not inflected
                and i not in described
                and (last_verb or not (after_noun or noun))
            )
        return out

    def _described(
        self, said: Sequence[str], names: Sequence[str], starts: frozenset[int]
    ) -> set[int]:
        """Positions of the words of relative clauses: in "the push configs we've set up" or
        "everything I asked to be reminded about", what "we" or "I" did describes the thing
        named before; it is not what the request asks to do. A clause opened by its subject
        ("we need to …") is no relative clause: a noun must come just before it."""
        out: set[int] = set()
        for i, word in enumerate(said):
            if word not in _SUBJECTS or i in starts or not i:
                continue
            j = i - 1
            if said[j] in _RELATIVES and j and j not in starts:
                j -= 1
            noun = said[j]
            if (
                noun in STOPWORDS
                or noun in names
                or noun.isdigit()
                or stem(noun) in self._verb_words
                or (j and said[j - 1] in _SUBJECTS)  # "we need", not "configs we've"
            ):
                continue
            # the clause's verb, after any auxiliary ("we've", "I had"), with its particle
            # ("set up"); what follows may be the request's own verb again ("the user we
            # banned wants to contest it")
            k = i + 1
            while k < len(said) and k not in starts and said[k] in _AUXILIARIES:
                out.add(k)
                k += 1
            if k < len(said) and k not in starts:
                out.add(k)
                if k + 1 < len(said) and said[k + 1] in _PARTICLES:
                    out.add(k + 1)
        return out

    def _correct(self, query: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        """``query`` with its typos corrected, and the corrections (as typed, as read).

        Only lower-case words (or a capitalised first word) that neither the index nor the
        synonym tables know are candidates: a capitalised word inside a request is a name,
        and quoted text, references and values are meant as written.
        """
        if self._speller is None:
            return query, ()
        quoted = [m.span() for m in QUOTED.finditer(query)]
        fixes: list[tuple[int, int, str, str]] = []
        for i, m in enumerate(_TOKEN.finditer(query)):
            token = m[0]
            if not (token.islower() or (i == 0 and token[1:].islower())):
                continue
            if any(a <= m.start() < b for a, b in quoted):
                continue
            word = token.lower()
            stemmed = stem(word)
            if word in STOPWORDS or stemmed in self._vocabulary or stemmed in self._known:
                continue
            fix = self._speller.correct(word)
            if fix is not None:
                fixes.append((m.start(), m.end(), word, fix))
        for start, end, _, fix in reversed(fixes):
            query = query[:start] + fix + query[end:]
        return query, tuple((word, fix) for _, _, word, fix in fixes)

    def _undoes(self, query: str) -> bool:
        """Whether the request says to undo something: "unban", "lift the ban", "stop …"."""
        said = split_words(query)
        if self._undo.matches([stem(w) for w in said]):
            return True
        return any(w.startswith("un") and stem(w[2:]) in self._vocabulary for w in said)

    def _rewrite_idioms(self, query: str) -> str:
        """Idioms and outcomes in plain words; a leading "read" as the read it asks for. The
        request is lower-cased first: after typo correction, case says nothing more."""
        query = query.lower()
        for rewrite in self._idioms:
            query = rewrite.sub(query)
        return _LEADING_READ.sub(r"\1get", query)

    def _is_value(self, word: str, stemmed: str) -> bool:
        """A number or id the catalog does not know ("42", "m1"), unlike "v2"."""
        return any(c.isdigit() for c in word) and stemmed not in self._vocabulary

    def _is_name(self, word: str, stemmed: str) -> bool:
        """A word neither the catalog nor the synonym tables know: "bob", "acme", "vip";
        not "everything", which names no one."""
        return (
            word.isalpha()
            and stemmed not in self._vocabulary
            and stemmed not in self._known
            and word not in _MANY
        )

    def _leading_verb(
        self, said: Sequence[str], plain: Sequence[bool], starts: Set[int] = frozenset()
    ) -> frozenset[str]:
        """The request's first word as a verb ("ban bob" → ban), or its alias ("report" → flag).

        Small words before it are skipped ("please ban bob"), except verbs like "like". A
        first word that cannot be the verb is none: "blocked users", "message reactions". When
        the first is no known verb, a later clause (``starts``) may open with one.
        """

        def known_verb(i: int) -> bool:
            return plain[i] and stem(said[i]) in self._verb_words

        lead = [
            i for i, w in enumerate(said) if w not in STOPWORDS or stem(w) in self._verb_aliases
        ]
        if lead and (
            (lead[0] > 0 and said[lead[0] - 1] in DETERMINERS)
            or said[lead[0]].isdigit()
            or _is_subject(said, lead[0])
        ):
            # "the broadcast … has to halt", "u-31 should be …", "poll p-4 was a mistake and
            # should go": a subject, then what must happen to it (an id's number is no verb)
            lead = [
                i + 2 if _is_passive(said, i + 2) else i + 1
                for i in range(len(said) - 1)
                if said[i] in MODAL_MARKERS
            ]
        if (
            said[-1:] and said[-1] in TRAILING_VERBS and plain[-1]
            and not (lead and known_verb(lead[0]))
        ):  # fmt: skip
            lead = [len(said) - 1]  # a terse request ending with its verb: "apns creds check"
        if not (lead and known_verb(lead[0])):
            # a statement first, then what to do about it: "cmp-30 has a typo, halt it"
            later = [i for i in sorted(starts) if 0 < i < len(said) and known_verb(i)]
            lead = later[:1] or lead
        if not lead or not plain[lead[0]]:
            return frozenset()
        first = stem(said[lead[0]])
        if first in self._read_words:  # "show bob's channels" reads; it is not ShowChannel
            return frozenset()
        alias = self._verb_aliases.get(first, first)
        # "halt" also as "stop", and as "cancel", the id verb it stands for (VERB_SYNONYMS)
        return frozenset(
            verb_action(v)
            for v in (
                first,
                alias,
                self._verb_synonyms.get(first, first),
                self._verb_synonyms.get(alias, alias),
            )
        )

    def opening_actions(self, text: str) -> frozenset[str]:
        """The action of the verb ``text`` opens with: a summary's "Create or replace users"
        makes UpdateUsers a create as well as an update."""
        stems = [stem(w) for w in split_words(text) if useful(w)]
        if stems[:1] == ["read"]:
            return frozenset({"read"})
        return frozenset().union(*(r.payload for i, r in self._verbs.matches(stems) if i == 0))

    def question(
        self, stems: Sequence[str], query: str = "", plain: Sequence[bool] = ()
    ) -> frozenset[str]:
        """Read/list when the request is a question ("where is …", "does the segment include
        …?"), else nothing. A polite opener ("can you ban bob") is a request, not a question,
        and "how do I …" asks how to act, so neither counts. A bare trailing "?" counts only
        when no verb says what to do ("alice's unread count?"); ``plain`` says which words can
        be verbs ("how did test run 5 go?" tests nothing). Asking whether I may act ("can I
        delete …?", "is it possible to …") asks to act."""
        if _MAY_I.match(query) or _HOW_DO_I.match(query):
            return frozenset()
        if any(position == 0 for position, _ in self._questions.matches(_drop_polite(stems))):
            return frozenset(QUESTION_ACTIONS)
        verbs = [i for i, _ in self._verbs.matches(stems) if not plain or plain[i]]
        if query.rstrip().endswith("?") and not verbs:
            return frozenset(QUESTION_ACTIONS)
        return frozenset()

    def actions(self, stems: Sequence[str], plain: Sequence[bool] = ()) -> frozenset[str]:
        """The action of a request's first verb ("show every permission" reads a list).

        ``plain`` says which words are in their plain form; an inflected word is no verb
        ("pinned messages" does not pin).
        """
        skipped = len(stems) - len(_drop_polite(stems))
        stems = stems[skipped:]
        plain = plain[skipped:] if plain else [True] * len(stems)
        found = sorted(
            ((i, r) for i, r in self._verbs.matches(stems) if plain[i]),
            key=lambda f: (f[0], -len(f[1].trigger)),
        )
        actions = found[0][1].payload if found else frozenset()
        if "read" in actions and not self._quantifiers.isdisjoint(stems):
            actions |= {"list"}
        return actions


def _clauses(text: str) -> tuple[list[str], frozenset[int]]:
    """The words of ``text`` that phrase rules see, and the positions of those that open a
    clause (after ";", ":", a full stop, a dash or a comma)."""
    said: list[str] = []
    starts = set()
    for chunk in _CLAUSE.split(text):
        starts.add(len(said))
        said += [w for w in split_words(chunk) if useful(w) or w in ("a", "i")]
    return said, frozenset(starts)


def _vocabulary_phrases() -> list[str]:
    """Every phrase of the vocabulary tables, as written."""
    return [
        *(p for group in EQUIVALENTS for p in group),
        *(p for pair in IMPLIES for p in pair),
        *(p for _, phrases in ACTION_WORDS for p in phrases),
        *(p for pair in VERB_ALIASES for p in pair),
        *OTHER_VERBS,
        *SPEECH_WORDS,
        *QUESTION_WORDS,
        *BULK_CUES,
        *UNDO_CUES,
        *QUANTIFIERS,
        *POLITE_WORDS,
        *NOUN_VERBS,
    ]


def _is_pronoun(said: Sequence[str], i: int) -> bool:
    """Whether ``said[i]`` is a person put somewhere or taken from it, as a name would be:
    "remove him from …" reads as "remove someone from …" ("her message" is a thing)."""
    return said[i] in _OBJECT_PRONOUNS and i + 1 < len(said) and said[i + 1] in _INTO


def _after_pronoun(query: str, words: Sequence[str]) -> set[int]:
    """Positions in ``words`` (the request's content words) right after a person pronoun:
    "remove him from #ops" pairs neither "remove" with "ops" nor reads as "remove #ops"."""
    said = split_words(query)
    people = {i for i in range(len(said)) if _is_pronoun(said, i)}
    if not people:
        return set()
    out: set[int] = set()
    k = 0
    pending = False
    for i, word in enumerate(said):
        if i in people:
            pending = True
        elif k < len(words) and word == words[k]:
            if pending:
                out.add(k)
                pending = False
            k += 1
    return out


def _one_name(stems: Sequence[str]) -> list[int]:
    """The positions to keep so that a list of names reads as one: "remove carol and dave
    from …" as "remove someone from …"."""
    name = stem(NAME)
    keep: list[int] = []
    for i, s in enumerate(stems):
        if (
            s == name
            and len(keep) > 1
            and stems[keep[-1]] in ("and", "or")
            and stems[keep[-2]] == name
        ):
            keep.pop()
            continue
        if not (s == name and keep and stems[keep[-1]] == name):
            keep.append(i)
    return keep


def _inflected(word: str) -> bool:
    """A word with an inflection ending ("blocked", "pinned", "votes", "pending"), which makes
    it no command verb."""
    if len(word) <= 3 or word in STOPWORDS or word.endswith(("ss", "us", "is")):
        return False
    return word.endswith(("ed", "ing", "s")) and stem(word) != word


def _is_subject(said: Sequence[str], i: int) -> bool:
    """Whether ``said[i]`` is the subject of a statement: a verb ("import", "poll") is no
    verb before "is" or "was" ("import 14 is running …"); a command never reads so."""
    rest = [w for w in said[i + 1 : i + 3] if not w.isdigit()]
    return bool(rest) and rest[0] in _COPULAS


def _is_passive(said: Sequence[str], i: int) -> bool:
    """Whether ``said[i]`` is what must be done, in the passive: "should be removed", "has to
    be cancelled" (see MODAL_MARKERS)."""
    return 1 < i < len(said) and said[i - 1] == "be" and said[i - 2] in MODAL_MARKERS


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
    users) unless the id only ends with a known verb ("ChannelBatchUpdate" → update). A
    qualifier before a verb is skipped ("bulk_delete_action_config" → delete; action, config;
    "V2DeleteTemplate" → delete)."""
    words = split_words(operation_id)
    if len(words) > 1 and words[0] in ID_PREFIXES and words[1] in _ID_VERBS:
        words = words[1:]
    if len(words) > 1 and words[0] not in _ID_VERBS and words[-1] in _ID_VERBS:
        return words[-1], words[:-1]
    return words[0], words[1:]


def id_head(operation_id: str) -> str:
    """The head noun of an id, its last noun ("GetBlockedUsers" → users); a one-word id
    ("ban") is its own head. Singular or plural is a property of the head."""
    verb, nouns = split_id(operation_id)
    return nouns[-1] if nouns else verb


def exact_nouns(operation_id: str) -> list[str]:
    """The id words whose exact form counts (see EXACT_WEIGHT): its head noun, the one whose
    number means something ("DeleteChannels"); a modifier is singular whatever it modifies
    ("CreateUserGroup" is no more about one user than "UpdateUsers"). A one-word id is its
    own head."""
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
