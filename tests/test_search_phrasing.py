"""How a request is read: which of its words is its verb, and whether it asks for one or many."""

from __future__ import annotations

import pytest

from stream_mcp.search import SearchIndex
from stream_mcp.search._query import BULK, QueryAnalyzer, QueryPlan
from tests.search_support import top


@pytest.fixture(scope="module")
def analyzer() -> QueryAnalyzer:
    words = {"push", "provider", "config", "set", "up", "user", "group", "mention", "command"}
    return QueryAnalyzer(frozenset(words))


def plan(analyzer: QueryAnalyzer, query: str) -> QueryPlan:
    return analyzer.plan(query)


def kinds(p: QueryPlan) -> set[str]:
    """The kinds of action a plan asks for, without the verbs it names."""
    return {a for a in p.actions if not a.startswith("verb:")}


# ------------------------------------------------------------------ relative clauses


@pytest.mark.parametrize(
    "query",
    [
        "push configs we've set up",
        "the push providers that we set up",
        "every mention group I made",
    ],
)
def test_a_relative_clause_describes_the_thing_it_follows(
    analyzer: QueryAnalyzer, query: str
) -> None:
    # what "we" did to the configs is no verb of the request: a noun phrase, a read
    p = plan(analyzer, query)
    assert "create" not in p.actions and p.bare
    assert "list" in p.actions


@pytest.mark.parametrize(
    "query",
    [
        "we need to set up push configs",  # a subject opening the request, no relative clause
        "set up the push configs we need",  # the request's verb comes first
    ],
)
def test_a_subject_of_the_request_itself_is_no_relative_clause(
    analyzer: QueryAnalyzer, query: str
) -> None:
    assert "create" in plan(analyzer, query).actions


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("the push providers we've set up", "ListPushProviders"),
        ("slash commands we set up", "ListCommands"),
    ],
)
def test_things_described_by_what_we_did_are_listed(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert top(index, query) == expected


# ------------------------------------------------------------------ states ruled out


def test_a_state_ruled_out_asks_for_a_change(analyzer: QueryAnalyzer) -> None:
    # "shouldn't show up again": something must change, though the negated clause is set aside
    p = plan(analyzer, "the push config shouldn't show up again")
    assert not p.bare and "update" in p.actions


# ------------------------------------------------------------------ noun phrases


@pytest.mark.parametrize("query", ["all the mention groups", "every user group"])
def test_a_quantified_noun_phrase_lists(analyzer: QueryAnalyzer, query: str) -> None:
    # "all the …" counts things, it does nothing to them ("message the team" does)
    p = plan(analyzer, query)
    assert p.bare and kinds(p) == {"list"}


def test_mention_is_a_noun_before_a_noun(analyzer: QueryAnalyzer) -> None:
    assert plan(analyzer, "mention groups").bare
    assert not plan(analyzer, "mention bob in the group").bare


def test_small_words_ending_in_s_count_nothing(analyzer: QueryAnalyzer) -> None:
    # "4 as" is no count of things: one poll, as it is now
    p = plan(analyzer, "poll 4 as it stands")
    assert p.bulk != BULK


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("segment seg-3 as it stands", "GetSegment"),
        ("the campaign cmp-2 as it stands", "GetCampaign"),
    ],
)
def test_one_thing_as_it_stands_is_read(index: SearchIndex, query: str, expected: str) -> None:
    assert top(index, query) == expected


# ------------------------------------------------------------------ which things?


@pytest.mark.parametrize(
    ("query", "only_list"),
    [
        ("what commands are registered?", True),
        ("which mention groups are set up?", True),
        # what one thing holds, or its aspects: not a list of those things
        ("which commands are in the group?", False),
        ("what users are currently in the group?", False),
        ("what filters does the group have?", False),
    ],
)
def test_which_things_asks_for_the_list_unless_they_belong_to_one(
    analyzer: QueryAnalyzer, query: str, only_list: bool
) -> None:
    assert (kinds(plan(analyzer, query)) == {"list"}) is only_list


def test_cmd_is_shorthand_for_command(index: SearchIndex) -> None:
    assert top(index, "show all cmds") == "ListCommands"


# ------------------------------------------------------------------ outcomes


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # a thing that has to go: deleted
        ("the old webhook storage bucket has to go", "DeleteExternalStorage"),
        ("that draft needs to go.", "DeleteDraft"),
        # cleaned up or out: deleted
        ("clean up the test segments", "DeleteSegment"),
        ("please clean out the old roles", "DeleteRole"),
        # someone I don't want contacting me: blocked
        ("I don't want u-9 pinging me", "BlockUsers"),
        # cleared away after a while: a retention policy
        ("messages in #support should get wiped after 30 days", "SetRetentionPolicy"),
    ],
)
def test_outcomes_read_as_the_operation_that_brings_them_about(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert top(index, query) == expected


@pytest.mark.parametrize("query", ["I'd like to see the polls", "we would like to see the polls"])
def test_would_like_to_is_wanting_not_a_reaction(analyzer: QueryAnalyzer, query: str) -> None:
    p = analyzer.plan(query)
    terms = {t for slot in p.slots for terms, _ in slot for t in terms}
    assert "reaction" not in terms and not any(a.startswith("verb:") for a in p.actions)


def test_everything_names_no_one(analyzer: QueryAnalyzer) -> None:
    assert analyzer.plan("show everything I asked about").names == 0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # who picked an option, asked: the votes cast, not the option
        ("I'd like to see who chose 'Tacos' in the lunch poll", "QueryPollVotes"),
        ("who went with option 2 in poll p-9?", "QueryPollVotes"),
        # being reminded is a reminder
        ("what was I reminded about yesterday?", "QueryReminders"),
        ("show everything I asked to be reminded about", "QueryReminders"),
    ],
)
def test_asked_outcomes_read_what_brought_them_about(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert top(index, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # shorthand for a conversation
        ("bob's convos", "QueryChannels"),
        # a thing that should not be there to reach: deleted
        ("that image in #general should no longer be accessible", "DeleteChannelImage"),
    ],
)
def test_shorthand_and_unreachable_things(index: SearchIndex, query: str, expected: str) -> None:
    assert top(index, query) == expected


@pytest.mark.parametrize(
    ("query", "verb"),
    [
        ("the campaign has a typo in it, halt it now", "verb:stop"),  # a statement, then the verb
        ("this poll looks wrong; delete it", "verb:delet"),
        ("ban bob, then mute him", "verb:ban"),  # the first verb still leads
    ],
)
def test_a_request_may_state_a_fact_before_its_verb(
    analyzer: QueryAnalyzer, query: str, verb: str
) -> None:
    assert verb in analyzer.plan(query).actions


@pytest.mark.parametrize(
    "query",
    [
        "team channels must keep history for a year",
        "messaging channels should require a role to post links",
        "commerce rooms need to limit messages to 300 characters",
    ],
)
def test_what_the_channels_of_a_built_in_type_should_do_is_its_setting(
    index: SearchIndex, query: str
) -> None:
    # not one channel's settings: every channel of the type, so the channel type's
    assert top(index, query) == "UpdateChannelType"


@pytest.mark.parametrize(
    "query",
    [
        "bob's profile should mirror what HR has on file",
        "the users in stream must be identical to our directory",
        "every user in Stream has to be in sync with the HR list",
    ],
)
def test_records_that_should_match_another_source_are_replaced_whole(
    index: SearchIndex, query: str
) -> None:
    # a full replace of the records, not a patch of some fields, nor an export
    assert top(index, query) == "UpdateUsers"
