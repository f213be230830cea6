"""Text analysis shared by the search index and the query analyzer.

Documents and requests go through the same functions (split at camelCase and punctuation,
drop stopwords, light stemming), so their terms only need to agree, not be English.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

# camelCase and acronym boundaries, but an acronym's plural stays whole: "APNs", "URLs", "IDs"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])(?![A-Z]s(?:\b|[A-Z]))")
_WORD = re.compile(r"[a-z0-9]+")
SNAKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
_DOUBLE = re.compile(r"([b-df-hj-np-tv-z])\1$")
ID_WORD = re.compile(r"\b[A-Z][a-z]+(?:[A-Z0-9][A-Za-z0-9]*)+\b")
# Names that say what they name: "#general" and "messaging:general" are channels, "@alice" a user.
# "chat:messaging" and "custom:profile" are moderation config keys and "stream:user" an
# entity type, not channels.
_REFERENCES = (
    ("channel", re.compile(r"(?<![\w#])#[\w-]+|\b(?!chat:|custom:|stream:)[a-z]+:[\w!-]+")),
    # "@frontend group": the handle people type to mention a user group, not a user
    (
        "mention",
        re.compile(r"(?<![\w@])@\w[\w.-]*(?=\s+(?:user\s+|mention\s+)?(?:group|team)s?\b)"),
    ),
    ("user", re.compile(r"(?<![\w@])@\w[\w.-]*")),  # not "@-mentions"
)
# "/ticket": a slash command as typed in the composer; one segment, so never a route (every
# route starts /api/v2), nor part of "S3/GCS", "read-only/frozen" or a URL
_COMMAND = re.compile(r"(?<![\w/.:-])/[a-z][\w-]*(?![\w/{.-])", re.IGNORECASE)


def replace_commands(query: str) -> tuple[str, int]:
    """Replace "/ticket" by "command", and say how many there were. Done on the request as
    typed: once rewritten, "read-only/frozen" may read " frozen /frozen"."""
    return _COMMAND.subn(" command ", query)


# "re ve ll m d": what is left of we're, they've, I'll, I'm and I'd once the apostrophe splits
# them ("re" would otherwise pull towards Reactivate*).
_STOPWORD_TEXT = """
    a an the to of in on for at by with from into onto out about as and or but so if then than
    is are was were be been being am do does did done can could should would will shall may might
    must i me my mine we us our you your he him his she her it its they them their this that these
    those there here what which who whom whose when where why how please just also any some each
    every via per let lets want need like to too very s t endpoint api
    re ve ll m d
    anyone anybody someone somebody everyone everybody nobody
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


def useful(word: str) -> bool:
    return len(word) > 1 or word.isdigit()


def content_words(text: str) -> list[str]:
    return [w for w in split_words(text) if w not in STOPWORDS and useful(w)]


def analyze(text: str) -> list[str]:
    """Stems of the meaningful words of ``text``, in order."""
    return [stem(w) for w in content_words(text)]


def bigrams(terms: Sequence[str]) -> list[str]:
    return [f"{a} {b}" for a, b in pairwise(terms)]


def compounds(words: Sequence[str]) -> list[str]:
    """Adjacent words written as one ("block list" → "blocklist"), as people often do."""
    return [stem(a + b) for a, b in pairwise(words)]


def exact(word: str) -> str:
    """An unstemmed id word, so a plural in the request can prefer a bulk operation."""
    return "=" + word


NAME = "someone"  # what phrase rules see in place of a name


# Literal values say what kind of thing they are: a URL, an email address, a file or image by
# its name, an emoji (in chat, most often a reaction: "msg-77 should show a 🎉 from ivy").
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff]"
    "[\U0001f3fb-\U0001f3ff\ufe0f\u200d\U0001f000-\U0001faff\u2600-\u27bf]*"
)
_VALUES = (
    ("url", re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")),
    # a file named by its name: the words of the name ("quarterly_report") say nothing
    ("image", re.compile(r"\b[\w-]+\.(?:png|jpe?g|gif|webp|heic|svg)\b", re.IGNORECASE)),
    (
        "file",
        re.compile(
            r"\b[\w-]+\.(?:pdf|csv|xlsx?|docx?|pptx?|txt|md|zip|json|mp[34]|mov|wav)\b",
            re.IGNORECASE,
        ),
    ),
    ("emoji", _EMOJI),
    ("emoji", re.compile(r"(?<![\w+-])\+1(?![\w.])")),  # "+1": a thumbs-up
)
# An emoji is a reaction, in chat, as "#general" is a channel: the thing is named by its kind.
_VALUE_TEXT = {"emoji": "emoji reaction"}
# An emoji (or "+1") that opens a request with no verb, before what it goes on, is the verb:
# "+1 m-300", "🎉 on msg-7 from ivy" react.
_REACTING = re.compile(
    rf"^\s*(?:(?:{_EMOJI.pattern}|\+1)\s*)+(?=(?:on|to|for)\b|[#@]|[a-z]+[-_:]\w|"
    r"(?:msg|message|post)\b)",
    re.IGNORECASE,
)
# Other emoji that open a request decorate it ("🔥 react on msg-12"); where the verb is looked
# for, they would read as a noun phrase's head (a read), so they count at the end instead.
_LEADING_EMOJI = re.compile(rf"\s*(?:(?:{_EMOJI.pattern})\s*)+")
# The name of a reaction type, quoted: "remove bob's 'like'", "the 'heart' on m-4".
_REACTION_NAME = re.compile(
    r"(?<!\w)(['\"‘“])(like|love|haha|wow|sad|angry|heart|thumbs[ _-]?(?:up|down)|"
    r"thumbsup|fire|clap|laugh|smile|tada|party|\+1)['\"’”](?!\w)",
    re.IGNORECASE,
)
# Quoted text: a name ("the 'gaming' type", "taps 'mark all as read'") or, after a verb of
# saying, a message body ("post 'deploy done' in #general", "should be changed to 'open a
# ticket'"), or a new name ("show up as 'Tier 2'", "rename -> 'EU trial'").
QUOTED = re.compile(r"(?<!\w)(['\"‘“]).*?['\"’”](?!\w)")
_SAID = re.compile(
    r"((?:\b(?:post|send|say|write|reply|answer|announce|broadcast|text|read|saying|changed to|"
    r"to|as|called|named|titled|labell?ed)(?:s|ed|ing)?|->|→|=>)\s*:?\s*)" + QUOTED.pattern
)


def unquote(query: str) -> str:
    """``query`` with what is said as "it": the words of a message body ("post 'deploy done'",
    "should say 'open a ticket'") say nothing about the operation wanted, and would pull the
    request towards whatever shares them. Other quoted text names something and stays, but
    without emoji, which are part of the name, not a reaction ("the 'Tacos 🌮' option")."""
    query = _SAID.sub(r"\1 it ", query)
    query = _REACTION_NAME.sub(r" \2 emoji reaction ", query)
    return QUOTED.sub(lambda m: _EMOJI.sub("", m[0]), query)


# A field set to a value: "pinned=true", "role=moderator", "priority=high".
_ASSIGNMENT = re.compile(r"\b([a-z][\w.]*)\s*=\s*(?:true|false|null|\d[\w.:-]*|[a-z][\w.-]*)\b")


def replace_references(query: str) -> tuple[str, Counter[str]]:
    """Replace "#general" by "channel" and "@alice" by "user": the name itself means nothing.
    URLs and email addresses become "url" and "email" (before "@" can read as a user). Also
    says how many of each kind there were. A field set to a value ("pinned=true") is that
    field: the value ("true", "moderator") says nothing about the operation."""
    query = _REACTING.sub(" react with an emoji ", query)
    if lead := _LEADING_EMOJI.match(query):
        query = f"{query[lead.end() :]} {lead[0].strip()}"
    for kind, pattern in _VALUES:
        query = pattern.sub(f" {_VALUE_TEXT.get(kind, kind)} ", query)
    query = _ASSIGNMENT.sub(r" \1 field ", query)
    kinds: Counter[str] = Counter()
    for kind, pattern in _REFERENCES:
        query, count = pattern.subn(f" {kind} ", query)
        if count:
            kinds[kind] = count
    return query, kinds


def phrase_stems(phrase: str) -> tuple[str, ...]:
    """Stems of a trigger phrase, keeping stopwords ("who", "like") that matter in phrases."""
    return tuple(stem(w) for w in split_words(phrase) if useful(w))


def field_name(name: str) -> str:
    """A snake_case field name as one term: agents often ask by name ("add_members")."""
    return "_" + name.lower()


# A negation and the rest of its clause: "never creates one", "outside any channel", "so he
# can't DM me", and a contrast: "the word lists rather than any blocked users", "edit it
# instead of adding another". Those words say what is *not* meant, so they must not count as
# matches.
RULED_OUT_WORDS = 2  # the longest negated clause that names what is not meant
_NEGATED = re.compile(
    r"\b(?:not|never|without|outside|nobody|no one|cannot|\w+n['’]t|rather than|instead of|"
    r"as opposed to)\b"
    r"([^.;,()!?\n]*?)(?=[.;,()!?\n]|\s+(?:then|but|instead|otherwise)\b|$)",
    re.IGNORECASE,
)


def split_negated(text: str) -> tuple[str, list[str]]:
    """``text`` without its negated clauses, and those clauses' terms as "!stem": "without an
    id" then matches "without an id" but not "an id". Unchanged if nothing would be left."""
    kept = _NEGATED.sub(" ", text)
    if not content_words(kept):
        return text, []
    return kept, [negated(stem(w)) for m in _NEGATED.finditer(text) for w in content_words(m[1])]


def ruled_out(text: str) -> frozenset[str]:
    """Stems a request names only to rule out, in a short negated clause: "not a batch",
    "not mute, not block", "not the importer bucket". Long clauses ("don't resend or touch the
    other channel data") say how, not which operation, so they rule nothing out."""
    return frozenset(
        stem(w)
        for m in _NEGATED.finditer(text)
        if 0 < len(words := content_words(m[1])) <= RULED_OUT_WORDS
        for w in words
    )


def negated(term: str) -> str:
    return "!" + term


def field_terms(text: str) -> Counter[str]:
    """Unigrams, bigrams and compounds of one field; pairs never cross a sentence or phrase."""
    text, negated_terms = split_negated(text)
    terms: Counter[str] = Counter(negated_terms)
    for chunk in re.split(r"[.;,()\n]", text):
        words = content_words(chunk)
        stems = [stem(w) for w in words]
        terms.update(stems)
        terms.update(bigrams(stems))
        terms.update(compounds(words))
    return terms
