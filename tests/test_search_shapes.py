"""Shapes of request that say which kind of operation is wanted, whatever the words inside:
asking whether something works is a test, not a read."""

from __future__ import annotations

import pytest

from stream_mcp.search import SearchIndex
from stream_mcp.search._query import BULK, QueryAnalyzer, read_ids
from tests.search_support import top


@pytest.fixture(scope="module")
def analyzer() -> QueryAnalyzer:
    return QueryAnalyzer(frozenset({"bucket", "export", "push", "storag", "job"}))


# ------------------------------------------------------------------ whether it works


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("will Stream really be able to write into the archive bucket?", "CheckExternalStorage"),
        ("is the export bucket reachable?", "CheckExternalStorage"),
        ("verify the importer bucket settings", "ValidateImporterExternalStorage"),
        ("can the importer really read from our bucket?", "ValidateImporterExternalStorage"),
    ],
)
def test_asking_whether_it_works_is_a_test(index: SearchIndex, query: str, expected: str) -> None:
    # a test changes nothing, like a read; but reading the settings does not say they work
    assert top(index, query) == expected


@pytest.mark.parametrize(
    "query",
    [
        "can the push setup actually reach phones?",
        "does our queue config work?",
        "is the bucket reachable?",
    ],
)
def test_a_question_whether_it_works_asks_for_a_test(analyzer: QueryAnalyzer, query: str) -> None:
    assert analyzer.plan(query).actions == {"test"}


@pytest.mark.parametrize(
    "query",
    [
        "can you show the export bucket?",  # a polite request to read
        "did the nightly export job actually run?",  # what happened, not whether it works
        "how did policy test run 5 go?",  # "test" names the run
    ],
)
def test_other_questions_are_no_tests(analyzer: QueryAnalyzer, query: str) -> None:
    assert "test" not in analyzer.plan(query).actions


# ------------------------------------------------------------------ reactions by their value


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("+1 msg-42", "SendReaction"),  # the emoji is the verb
        ("👍 on m-9 from carol", "SendReaction"),
        ("m-31 should get a 🔥 from leo", "SendReaction"),
        ("take back dana's 'heart' on m-17", "DeleteReaction"),  # a reaction type, quoted
        ("carol's like on m-2 has to go", "DeleteReaction"),  # someone's like is a reaction
    ],
)
def test_an_emoji_or_a_reaction_name_means_a_reaction(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert top(index, query) == expected


def test_like_as_filler_is_no_reaction(index: SearchIndex) -> None:
    assert "Reaction" not in top(index, "something like a list of bans")


# ------------------------------------------------------------------ wanted gone


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("the 'Pizza' option in poll p-9 shouldn't be available anymore", "DeletePollOption"),
        (
            "the importer should no longer be connected to our S3 bucket",
            "DeleteImporterExternalStorage",
        ),
        (
            "invoice.pdf got uploaded outside any channel by accident, make it inaccessible",
            "DeleteFile",
        ),
        ("I want the #old-news room gone", "DeleteChannel"),
        ("we need that segment gone", "DeleteSegment"),
    ],
)
def test_a_thing_wanted_gone_or_out_of_reach_is_deleted(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert top(index, query) == expected


# ------------------------------------------------------------------ ids written with "_"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("seg_12 details", "GetSegment"),
        ("drop seg_9", "DeleteSegment"),
        ("imp_7 status", "GetImport"),
    ],
)
def test_an_id_with_an_underscore_names_its_kind(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert top(index, query) == expected


def test_a_field_name_with_a_kind_prefix_is_no_id() -> None:
    text, kinds = read_ids("set opt_in and cmd_name on seg_4")
    assert "opt_in" in text and "cmd_name" in text and kinds == {"segment": 1}


def test_the_aspects_after_an_ids_number_are_no_count(analyzer: QueryAnalyzer) -> None:
    # "3 details" is queue 3's details, not three things
    assert analyzer.plan("queue q-3 details").bulk != BULK


# ------------------------------------------------------------------ a name it should go by


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("segment seg-3 should be called 'Churn risk'", "UpdateSegment"),
        ("#random should show up as 'Water cooler' in everyone's sidebar", "UpdateChannel"),
        ("user group ug-2 should appear as 'On call' when people mention it", "UpdateUserGroup"),
        ("the 'Pizza' option in poll p-2 should be labelled 'Pizza night'", "UpdatePollOption"),
    ],
)
def test_the_name_a_thing_should_go_by_renames_it(
    index: SearchIndex, query: str, expected: str
) -> None:
    # the new name is a value, and showing up as it is no read
    assert top(index, query).removesuffix("Partial") == expected


# ------------------------------------------------------------------ whether one is among them


@pytest.mark.parametrize(
    "query",
    ["is u-4 in seg-trial?", "was u-8 targeted by seg-spring?", "does seg-vip contain u-12?"],
)
def test_whether_one_is_among_a_segments_targets_is_an_existence_check(
    index: SearchIndex, query: str
) -> None:
    # a yes or no about one id, not the list of every target
    assert top(index, query) == "SegmentTargetExists"


def test_which_are_among_them_still_lists(index: SearchIndex) -> None:
    assert top(index, "who is in seg-trial?") == "QuerySegmentTargets"


# ------------------------------------------------------------------ gone for some people only


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("make #standup disappear just for carol", "HideChannel"),
        ("the support:t-12 chat should go away only for u-7", "HideChannel"),
        ("I'm sick of seeing #random in my sidebar", "HideChannel"),
        ("m-9 should vanish just for me, the others keep it", "DeleteMessage"),
        ("the message I sent to bob should vanish only from my own view", "DeleteMessage"),
    ],
)
def test_a_thing_gone_for_some_people_only_is_hidden_or_deleted_for_them(
    index: SearchIndex, query: str, expected: str
) -> None:
    # a conversation gone for someone is hidden for them; a message, deleted for them only
    assert top(index, query) == expected


# ------------------------------------------------------------------ outcomes of a person's state


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # kept out, then let back in: unbanned
        ("bob did his two weeks, let him back into #lounge", "unban"),
        # what someone wants pushed to them: their push preferences
        ("u-12 only needs alerts for DMs", "UpdatePushNotificationPreferences"),
        (
            "dana prefers notifications only when someone mentions her",
            "UpdatePushNotificationPreferences",
        ),
        # no unread left to see: marked read
        ("u-9 shouldn't have any unread badge on #support now", "MarkRead"),
        ("the channel should no longer show the unread badge for u-4", "MarkRead"),
    ],
)
def test_a_state_wanted_for_someone_is_brought_about(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert top(index, query) == expected


# ------------------------------------------------------------------ an action named as a noun


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("seg-4 deletion", "DeleteSegment"),
        ("deactivation of u-3", "DeactivateUser"),
        ("import task t-9 cancellation", "CancelImportV2Task"),
        ("undo the delete of m-12", "UndeleteMessage"),  # a deletion undone
    ],
)
def test_an_action_named_as_a_noun_is_that_action(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert top(index, query) == expected


# ------------------------------------------------------------------ people by what they have


@pytest.mark.parametrize(
    "query",
    [
        "everyone with the moderator role",
        "users whose country is NL",
        "all people who have plan=pro set",
    ],
)
def test_people_picked_out_by_what_they_have_is_a_user_query(
    index: SearchIndex, query: str
) -> None:
    assert top(index, query) == "QueryUsers"


# ------------------------------------------------------------------ how one named thing is


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("how /giphy is set up", "GetCommand"),  # nothing is set up: its definition is read
        ("how seg-4 is defined", "GetSegment"),
    ],
)
def test_how_one_named_thing_is_set_up_reads_it(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert top(index, query) == expected


@pytest.mark.parametrize("query", ["/giphy definition?", "how /ticket is configured"])
def test_a_question_about_one_named_thing_reads_no_list(
    analyzer: QueryAnalyzer, query: str
) -> None:
    actions = analyzer.plan(query).actions
    assert "read" in actions and "list" not in actions


# ------------------------------------------------------------------ a subject, then its fate


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # the first word names the thing ("poll", "import"), it does not do anything to it
        ("poll p-3 is outdated and should be deleted", "DeletePoll"),
        ("import imp-v2-8 was started by mistake, it has to stop", "CancelImportV2Task"),
        ("segment seg-7 is obsolete and must be removed", "DeleteSegment"),
        ("campaign cmp-12 is sending the wrong copy and needs to be halted", "StopCampaign"),
    ],
)
def test_a_subject_then_what_must_happen_to_it(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert top(index, query) == expected


@pytest.mark.parametrize(
    ("query", "action"),
    [
        ("the spring template should be removed", "delete"),
        ("that draft must be deleted", "delete"),
        ("bob's profile needs to be updated", "update"),
    ],
)
def test_what_must_be_done_in_the_passive_is_the_action(
    analyzer: QueryAnalyzer, query: str, action: str
) -> None:
    assert action in analyzer.plan(query).actions


# ------------------------------------------------------------------ something done, reversed


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # the act to reverse is named ("muting", "the ban"), but its undoing is wanted
        ("ivy regrets muting jack", "unmute"),
        ("the ban on eve was too harsh, take it back", "unban"),
        ("leo blocked mia by accident and wants it undone", "UnblockUsers"),
        ("reverse the mute on oscar", "unmute"),
    ],
)
def test_reversing_something_done_undoes_it(index: SearchIndex, query: str, expected: str) -> None:
    assert top(index, query) == expected


def test_reversal_cues(analyzer: QueryAnalyzer) -> None:
    assert analyzer.plan("she wants that undone").reverses
    assert analyzer.plan("I regret doing that").reverses
    assert not analyzer.plan("mute bob").reverses


# ------------------------------------------------------------ one thing, its id after its noun


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # the id after the noun for its kind is still one thing named, so no list is read
        ("settings of review queue q-7", "get_queue"),
        ("the configuration of review queue q-12", "get_queue"),
        ("details for segment seg-31", "GetSegment"),
    ],
)
def test_an_id_after_its_noun_names_one_thing(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert top(index, query) == expected


@pytest.mark.parametrize("query", ["settings of review queue q-7", "segment seg-31 details"])
def test_an_id_after_its_noun_reads_no_list(analyzer: QueryAnalyzer, query: str) -> None:
    actions = analyzer.plan(query).actions
    assert "read" in actions and "list" not in actions
