"""Intent search: text analysis, synonyms, fallbacks, result size, CLI and an accuracy floor."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from stream_mcp.catalog._build import SPEC_DIR, Catalog, load_catalog
from stream_mcp.cli import main
from stream_mcp.errors import ValidationError
from stream_mcp.search import SearchResult
from stream_mcp.search._index import (
    MAX_HIT_TOKENS,
    QueryAnalyzer,
    SearchIndex,
    analyze,
    hit_tokens,
    id_words,
    make_hit,
    operation_actions,
    operation_fields,
    split_words,
    stem,
)
from stream_mcp.search._spelling import Speller, same_letters
from stream_mcp.search._text import (
    replace_commands,
    replace_references,
    split_negated,
    unquote,
)

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
EVAL_FILE = BENCH / "search_eval.jsonl"
SCRATCH_FILE = BENCH / "search_scratch.jsonl"
FRESH_FILE = BENCH / "search_fresh2.jsonl"  # held out: scored by the benchmark, never tuned on
FRESH3_FILE = BENCH / "search_fresh3.jsonl"  # held out too (round three)
DEV3_FILE = BENCH / "search_dev3.jsonl"  # round three's tuning set, written blind
DEV4_FILE = BENCH / "search_dev4.jsonl"  # round four's tuning set
DEV5_FILE = BENCH / "search_dev5.jsonl"  # round five's tuning set
FRESH4_FILE = BENCH / "search_fresh4.jsonl"  # held out (round five)
DEV6_FILE = BENCH / "search_dev6.jsonl"  # round six's tuning set
FRESH5_FILE = BENCH / "search_fresh5.jsonl"  # held out (round six)
DEV7_FILE = BENCH / "search_dev7.jsonl"  # round seven's tuning set
FRESH6_FILE = BENCH / "search_fresh6.jsonl"  # held out (round seven)
DEV8_FILE = BENCH / "search_dev8.jsonl"  # round eight's tuning set
FRESH7_FILE = BENCH / "search_fresh7.jsonl"  # held out in round eight, then an example set
FRESH8_FILE = BENCH / "search_fresh8.jsonl"  # held out in round eight, then an example set
FRESH9_FILE = BENCH / "search_fresh9.jsonl"  # held out in round nine, then an example set
DEV9_FILE = BENCH / "search_dev9.jsonl"  # round nine's examples, four writers
DEV10_FILE = BENCH / "search_dev10.jsonl"  # round ten's examples, four more writers
DEV11_FILE = BENCH / "search_dev11.jsonl"  # round eleven's examples, four more writers
FRESH10_FILE = BENCH / "search_fresh10.jsonl"  # held out in round ten, then an example
FRESH11_FILE = BENCH / "search_fresh11.jsonl"  # held out in round ten, then an example
FRESH12_FILE = BENCH / "search_fresh12.jsonl"  # round ten's held out, then an example
FRESH13_FILE = BENCH / "search_fresh13.jsonl"  # round ten's held out, then an example
FRESH14_FILE = BENCH / "search_fresh14.jsonl"  # held out (round eleven), operations crowd
FRESH15_FILE = BENCH / "search_fresh15.jsonl"  # held out (round eleven), feature builders


def eval_rows(*paths: Path) -> list[dict]:
    return [json.loads(line) for p in paths for line in p.read_text().splitlines() if line]


@pytest.fixture(scope="module")
def spec_catalog() -> Catalog:
    # The YAML is the source of truth; the compiled artifact may lag behind it during work.
    return load_catalog(SPEC_DIR)


@pytest.fixture(scope="module")
def searched(spec_catalog: Catalog) -> SearchIndex:
    """Search as agents get it: the rules and the example requests' votes. (``index``, from
    conftest, is the rules alone: most tests here pin down what a rule reads in a phrasing.)"""
    return SearchIndex.from_catalog(spec_catalog)


@pytest.fixture(scope="module")
def evaluated(searched: SearchIndex) -> list[tuple[dict, SearchResult]]:
    """Each row of the evaluation set with its search as agents get it (five hits, the
    default): read by the accuracy floor and by the weak-match count, searched once."""
    rows = eval_rows(EVAL_FILE, SCRATCH_FILE)
    return [(row, searched.search(row["query"], limit=5)) for row in rows]


def top(index: SearchIndex, query: str, n: int = 1) -> list[str]:
    return [h.operation_id for h in index.search(query, limit=max(n, 1)).hits][:n]


# --------------------------------------------------------------------------- text analysis


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("GetOrCreateDistinctChannel", ["get", "or", "create", "distinct", "channel"]),
        ("CheckSNS", ["check", "sns"]),
        ("GetOG", ["get", "og"]),
        ("CreateImportV2Task", ["create", "import", "v2", "task"]),
        ("UpdateMemberPartial", ["update", "member", "partial"]),
        ("kick Bob out of #general!", ["kick", "bob", "out", "of", "general"]),
        ("add_members, hard_delete; user.id", ["add", "members", "hard", "delete", "user", "id"]),
        ("/channels/{type}/{id}/query", ["channels", "type", "id", "query"]),
        ("", []),
    ],
)
def test_split_words_splits_camel_case_and_punctuation(text: str, words: list[str]) -> None:
    assert split_words(text) == words


@pytest.mark.parametrize(
    "forms",
    [
        ("ban", "bans", "banned", "banning"),
        ("delete", "deletes", "deleted", "deleting"),
        ("reply", "replies"),
        ("pin", "pinned", "pinning", "pins"),
        ("message", "messages"),
        ("policy", "policies"),
    ],
)
def test_stem_equates_inflections(forms: tuple[str, ...]) -> None:
    assert len({stem(f) for f in forms}) == 1


def test_typing_is_not_a_channel_type() -> None:
    assert stem("typing") != stem("type")


def test_analyze_drops_stopwords_and_single_letters() -> None:
    assert analyze("Please show me all the channels I'm in") == ["show", "all", "channel"]


def test_id_words_skip_the_verb_and_qualifiers_but_accept_compounds() -> None:
    words = id_words("ListBlockLists")
    assert len(words) == 2 and all("blocklist" in alts for alts in words)
    assert id_words("UpdateChannelPartial") == (frozenset({"channel", "=channel"}),)


def test_operation_actions_come_from_the_id_verb() -> None:
    assert "delete" in operation_actions("DeleteChannel")
    assert {"read", "list"} <= operation_actions("GetReactions")  # a plural read is a list
    assert "list" not in operation_actions("GetMessage")
    assert not {"create", "read", "list", "update", "delete"} & operation_actions("ban")


def test_indexed_fields_resolve_one_ref_and_drop_neighbour_mentions(
    spec_catalog: Catalog,
) -> None:
    op = spec_catalog.get("UpdateChannel")
    fields = operation_fields(spec_catalog, op)
    assert "add_members" in fields["fields"].split()  # from {"$ref": "UpdateChannelRequest"}
    assert "channels" in fields["path"]
    neighbour = next(o.operation_id for o in spec_catalog if o.operation_id in op.description)
    assert neighbour not in fields["description"]


# --------------------------------------------------------------------------- synonyms


def test_synonym_expansion_adds_catalog_terms_at_lower_weight(index: SearchIndex) -> None:
    analyzer = QueryAnalyzer(frozenset({"channel", "member"}))
    plan = analyzer.plan("kick dave out")
    weights = {terms: w for slot in plan.slots for terms, w in slot}
    assert weights[("kick",)] == 1.0
    assert 0 < weights[("remov",)] < 1.0 and 0 < weights[("member",)] < 1.0
    dm = {t for slot in analyzer.plan("open a dm").slots for terms, _ in slot for t in terms}
    assert "distinct" in dm


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("start a dm with carol", "GetOrCreateDistinctChannel"),
        ("kick mallory from the support channel", "UpdateChannel"),
        ("like the last message", "SendReaction"),
        ("let everyone see that I'm typing", "SendEvent"),
        ("ban trolls from the whole app", "ban"),
        ("mute notifications from a person", "mute"),
        ("block someone from contacting me", "BlockUsers"),
        ("report an offensive message", "flag"),
        ("create a banned words list", "CreateBlockList"),
        ("archive a channel just for me", "UpdateMemberPartial"),
    ],
)
def test_chat_vocabulary_reaches_the_right_operation(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert expected in top(index, query, 3)


def test_ban_mute_block_and_flag_stay_apart(index: SearchIndex) -> None:
    firsts = {verb: top(index, f"{verb} user mallory")[0] for verb in ("ban", "mute", "block")}
    firsts["flag"] = top(index, "flag a message")[0]
    assert firsts == {"ban": "ban", "mute": "mute", "block": "BlockUsers", "flag": "flag"}


def test_channel_and_user_references_become_their_kinds(index: SearchIndex) -> None:
    assert top(index, "mute #random")[0] == "MuteChannel"
    assert top(index, "mute @mallory")[0] == "mute"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("does the vip segment include user 7?", "SegmentTargetExists"),  # yes/no: a read
        ("where is bob sharing his location", "GetUserLiveLocations"),
        ("can you delete message 5?", "DeleteMessage"),  # polite request, not a question
        ("kick off the campaign", "StartCampaign"),  # an idiom, not a removal
        ("add a new user to the app", "UpdateUsers"),  # CreateRole's examples no longer pull
        ("unread counts for 100 users at once", "UnreadCountsBatch"),  # a bulk cue
        ("freeze the channel", "UpdateChannelPartial"),  # no bulk cue: not the batch update
        ("upload a file that isn't tied to a channel", "UploadFile"),  # negation
    ],
)
def test_verbs_questions_bulk_and_negation(index: SearchIndex, query: str, expected: str) -> None:
    assert top(index, query)[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # asking whether I may act asks to act, as "how do I …" does
        ("can I delete the custom role support-agent?", "DeleteRole"),
        ("is it possible to rename the slash command /giphy-lite?", "UpdateCommand"),
        # shorthand reads as the word it stands for
        ("update firebase creds for android", "UpsertPushProvider"),
        ("list the perms a custom role can have", "ListPermissions"),
        ("rm poll p-4", "DeletePoll"),
        ("rm that blocklist", "DeleteBlockList"),
        # a contraction's tail is no word: "we're" must not read as "re…" (Reactivate*)
        ("we're done with the spring campaign, rm it", "DeleteCampaign"),
        # something nobody uses any more is to be deleted
        ("we're not using the ticket command anymore", "DeleteCommand"),
        ("nobody uses the legacy blocklist any more, get rid of it", "DeleteBlockList"),
        ("the beta-testers role isn't needed anymore", "DeleteRole"),
        # an emoji opening a request decorates it; it is not the head of a noun phrase
        ("🔥 react on msg-12", "SendReaction"),
        # a file named by its name is a file: "quarterly_report" is no report (flag)
        ("attach quarterly_report.xlsx to the finance channel", "UploadChannelFile"),
        # what a type's channels should (not) allow is the type's setting
        ("livestream channels should not allow replies", "UpdateChannelType"),
        ("support channels shouldn't have reactions anymore", "UpdateChannelType"),
        # "have X do …" asks X to act; "have we …?" and "have the mods seen …?" still ask
        ("have bob send a message to #general", "SendMessage"),
        ("have the release bot drop a 'v2 is out' note in #general", "SendMessage"),
        ("have we banned bob?", "QueryBannedUsers"),
        ("have the mods reviewed the queue?", "query_review_queue"),
        # a terse request may end with its verb, and an acronym's plural is one word
        ("firebase creds check", "CheckPush"),
        # a synonym of an id's verb counts as that verb, whatever word the operation's text uses
        ("erase the segment called spring-promo", "DeleteSegment"),
        # chat words for the catalog's: sticky posts are pinned messages, "retire" deletes
        ("grab the sticky posts from #general", "GetPinnedMessages"),
        ("retire the support-lead role", "DeleteRole"),
        ("overwrite poll p-3 with a new title and options", "UpdatePoll"),
        # a list of names is one "someone": removing two people from a channel, not the channel
        ("remove carol and dave from #general", "UpdateChannel"),
        # outcomes: what should be true, read as the action that makes it so
        ("ivan's unread count in #support should go back to zero", "MarkRead"),
        ("carol and erin should become members of user group grp_design", "AddUserGroupMembers"),
        ("dave should no longer be part of user group grp_ops", "RemoveUserGroupMembers"),
        ("the old onboarding segment shouldn't exist anymore", "DeleteSegment"),
        ("bob must not be able to log in until the audit is over", "DeactivateUser"),
        ("Kick Off the Spring campaign", "StartCampaign"),  # idioms whatever their case
        # jargon for the catalog's verbs and nouns
        ("enumerate the slash commands", "ListCommands"),
        ("spin up a new segment for march signups", "CreateSegment"),
        ("ingest users from our old system", "CreateImport"),
        ("rename the 'Blue' choice of poll p-9", "UpdatePollOption"),
        # a contrast rules out what follows it, as a negation does
        ("list the user groups rather than their members", "ListUserGroups"),
        # a state wanted asks for a change, even with an unknown verb
        ("the welcome campaign ought to start tomorrow", "StartCampaign"),
        # a slash command, a group's @handle and an emoji say what they are
        ("delete the /weather command", "DeleteCommand"),
        ("add dave to @design group", "AddUserGroupMembers"),
        ("put a 🔥 on message m-9", "SendReaction"),
        # people put in, found in or taken out of a container: its members, not the container
        ("take ana out of the spring segment", "DeleteSegmentTargets"),
        ("who's in the winter segment?", "QuerySegmentTargets"),
        ("drop segment seg_spring", "DeleteSegment"),  # the words of an id name no one
        ("pull u-31 and u-32 out of segment seg_spring", "DeleteSegmentTargets"),
        # a field set to a value is that field; the value says nothing
        ("set role=admin on user carl and leave the other fields", "UpdateUsersPartial"),
        ("toggle frozen=true on messaging:ops", "UpdateChannelPartial"),
        # what is left alone is not what the request is about
        ("mark #ops read for kim, leave her other channels alone", "MarkRead"),
        # a verb opening a clause is a verb, even after a noun
        ("the vip segment has the wrong filter; edit it", "UpdateSegment"),
        ("review queue: grab 20 items", "query_review_queue"),  # a number of things: a list
        # no more notifications: from a channel, muted; to a device, removed
        ("dan shouldn't receive alerts from #ops this week", "MuteChannel"),
        ("kim's ipad tablet shouldn't get any more push notifications", "DeleteDevice"),
        # a kind of channel is a channel type; what someone was typing, their draft
        ("add a new kind of room for webinars", "CreateChannelType"),
        ("save whatever dev was writing in #ops so he can finish it", "CreateDraft"),
        # channels of a type are channels, not the type
        ("find all frozen channels of type gaming", "QueryChannels"),
        # a test answers a question as a read does
        ("can Stream reach the sqs queue we set up?", "CheckSQS"),
    ],
)
def test_general_phrasing_rules(index: SearchIndex, query: str, expected: str) -> None:
    assert top(index, query)[0] == expected


def test_an_acronym_plural_is_one_word() -> None:
    assert split_words("APNs creds, URLs and IDs") == ["apns", "creds", "urls", "and", "ids"]
    assert split_words("UpdateAPNsConfig") == ["update", "apns", "config"]


def test_numbers_are_values_and_policy_keys_no_channels(index: SearchIndex) -> None:
    # "50" in "up to 50 messages" of GetManyMessages' description is no match for a page size
    assert top(index, "show the newest 50 messages in messaging:ops")[0] == "GetOrCreateChannel"
    # "chat:messaging" is a moderation policy's key, not a channel to open
    assert top(index, "show the moderation policy chat:messaging")[0] == "get_config"


@pytest.mark.parametrize(
    ("query", "roles"),
    [
        ("remove ana and leo from the vip segment", {"member", "target"}),
        ("pull u-10 out of the cohort", {"member", "target"}),
        ("who is in the beta audience?", {"member", "target"}),
        ("make ana an admin", set()),  # placed nowhere
        ("send the spring promo to the cohort", set()),  # a thing: it takes an article
        ("delete segment seg_old from the list", set()),  # the words of an id
    ],
)
def test_people_placed_in_something_are_its_members(query: str, roles: set[str]) -> None:
    analyzer = QueryAnalyzer(frozenset({"remov", "segment", "cohort", "send", "delet"}))
    assert analyzer.plan(query).roles == roles


def test_which_things_in_the_plural_asks_for_the_list() -> None:
    analyzer = QueryAnalyzer(frozenset({"channel", "type", "word", "blocklist"}))
    assert analyzer.plan("pls what channel types do we have?").actions == {"list"}
    # the plural contents of one thing: that one is read
    assert "read" in analyzer.plan("which words are in the spam blocklist?").actions


def test_a_word_ruled_out_rules_out_its_equivalents() -> None:
    plan = QueryAnalyzer(frozenset({"restor", "messag"})).plan("restore it, not the account")
    assert {"account", "user", "person"} <= plan.excluded


def test_what_is_said_is_a_value_and_names_keep_their_words() -> None:
    assert unquote("send 'ban everyone who spams' to #mods") == "send  it  to #mods"
    assert unquote("the hint should be changed to 'open a ticket'") == (
        "the hint should be changed to  it "
    )
    assert unquote("after tom taps 'mark all as read'") == "after tom taps 'mark all as read'"
    assert unquote("the 'Tacos 🌮' option") == "the 'Tacos ' option"


def test_a_field_set_to_a_value_is_that_field() -> None:
    text, _ = replace_references("flip pinned=true and role = moderator on messaging:ops")
    assert split_words(text) == ["flip", "pinned", "field", "and", "role", "field", "on", "channel"]


def test_slash_commands_group_handles_and_emoji_become_their_kinds() -> None:
    text, kinds = replace_references("@oncall team, the @web mention group, reacting 🎉")
    assert kinds == {"mention": 2} and "emoji" in text
    text, count = replace_commands("type /ticket, not S3/GCS nor read-only/frozen")
    assert count == 1 and "S3/GCS" in text and "read-only/frozen" in text


def test_negated_words_become_their_own_terms() -> None:
    kept, negated_terms = split_negated("fetch the channel without creating it")
    assert "creat" not in analyze(kept) and negated_terms == ["!creat"]
    assert split_negated("not now") == ("not now", [])  # nothing would be left


def test_a_spelled_out_route_finds_its_operation(index: SearchIndex) -> None:
    assert top(index, "POST /api/v2/chat/channels/{type}/{id}/hide")[0] == "HideChannel"
    assert top(index, "DELETE /api/v2/chat/messages/abc123")[0] == "DeleteMessage"


# --------------------------------------------------------------------------- typos


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("delte message 42", "DeleteMessage"),  # a dropped letter
        ("unbna bob", "unban"),  # swapped letters
        ("sned a mesage to #general", "SendMessage"),  # two typos
        ("list my chanels", "QueryChannels"),
        ("regsiter a device for push notifications", "CreateDevice"),
        ("moderaton queue", "query_review_queue"),
        ("deactvate user bob", "DeactivateUser"),
    ],
)
def test_typos_are_read_as_the_words_meant(index: SearchIndex, query: str, expected: str) -> None:
    result = index.search(query)
    assert result.hits[0].operation_id == expected
    assert result.message is not None and result.message.startswith("Read '")


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("delte", "delete"),  # dropped letter
        ("chanells", "channels"),  # doubled letter
        ("sned", "send"),  # swapped letters
        ("sendd", "send"),  # a doubled letter
        ("chsnnels", "channels"),  # a neighbouring key
        ("segmant", "segment"),  # a vowel for another, in a word of six letters or more
        ("segmznt", None),  # ... but only a vowel for a vowel
        ("sond", None),  # ... and not in a short word: "send" and "sand" are both words
        ("modraton", "moderation"),  # two dropped letters in a long word
        ("ready", None),  # any other extra letter makes another word: not "read"
        ("john", None),  # nor does a letter far from the one meant: not "join"
        ("customer", None),  # a derivative of "custom", not a typo of it
        ("elete", None),  # the first letter is kept
        ("edlete", "delete"),  # ... but the first two may be swapped: every letter is there
        ("sedn", "send"),  # swapped letters at the end
        ("del", None),  # too short to tell
        ("delete", None),  # known words are never corrected
    ],
)
def test_the_speller_accepts_only_typing_slips(word: str, expected: str | None) -> None:
    speller = Speller(
        {"delete": 9, "channels": 4, "send": 7, "seed": 1, "moderation": 5, "read": 6,
         "join": 2, "custom": 3, "segment": 4}
    )  # fmt: skip
    assert speller.correct(word) == expected


@pytest.mark.parametrize(
    ("typed", "known", "sure"),
    [
        ("remvoe", "remove", True),  # two letters swapped
        ("bann", "ban", True),  # one letter doubled
        ("messsage", "message", True),
        ("delte", "delete", False),  # a letter dropped: another word may have been meant
        ("chsnnel", "channel", False),  # a neighbouring key
        ("segmant", "segment", False),  # a vowel for another
        ("banm", "ban", False),  # an extra letter that doubles none
    ],
)
def test_same_letters_tells_reordered_or_doubled_letters_from_guesses(
    typed: str, known: str, sure: bool
) -> None:
    assert same_letters(typed, known) is sure


def test_a_word_typed_with_its_letters_swapped_counts_in_full() -> None:
    analyzer = QueryAnalyzer(frozenset({"delet", "messag"}), {"delete": 3, "message": 5})
    plan = analyzer.plan("dleete message")
    weights = {terms: w for slot in plan.slots for terms, w in slot}
    assert plan.corrections == (("dleete", "delete"),)
    assert weights[("delet",)] == weights[("messag",)] == 1.0


def test_a_verb_with_its_first_letters_swapped_still_says_what_to_do(index: SearchIndex) -> None:
    assert top(index, "edlete the poll") == ["DeletePoll"]  # not GetPoll


def test_corrected_words_count_less_than_typed_ones() -> None:
    analyzer = QueryAnalyzer(frozenset({"delet", "messag"}), {"delete": 3, "message": 5})
    plan = analyzer.plan("delte message")
    weights = {terms: w for slot in plan.slots for terms, w in slot}
    assert plan.corrections == (("delte", "delete"),)
    assert 0 < weights[("delet",)] < weights[("messag",)] == 1.0


@pytest.mark.parametrize(
    "query",
    [
        "ban Jonh from #general",  # a capitalised word inside a request is a name
        "add 'delte' to the blocklist",  # quoted text is meant as written
        "mute bob",  # too short to correct
    ],
)
def test_names_and_quoted_text_are_not_corrected(index: SearchIndex, query: str) -> None:
    message = index.search(query).message
    assert message is None or "Read '" not in message


def test_rapidfuzz_loads_only_for_a_word_to_correct() -> None:
    code = (
        "import sys; from stream_mcp.catalog import load_catalog; "
        "from stream_mcp.search import SearchIndex; i = SearchIndex.from_catalog(load_catalog()); "
        "i.search('delete a message'); a = 'rapidfuzz' in sys.modules; "
        "i.search('delte a message'); print(a, 'rapidfuzz' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


# --------------------------------------------------------------------------- what is asked


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # reading is not marking read
        ("read the last 20 messages in #general", {"GetOrCreateChannel", "GetChannel"}),
        ("read message m_77", {"GetMessage"}),
        ("read the replies to message 12", {"GetReplies"}),
        ("mark the channel as read", {"MarkRead"}),  # still a mark
        ("send read receipts for #general", {"MarkRead"}),
        # reported speech asks for a search
        ("what did alice say about the launch?", {"Search"}),
        ("did anyone mention refund", {"Search"}),
        ("has anybody talked about the outage in any channel?", {"Search"}),
        ("what did this message say before it was edited?", {"QueryMessageHistory"}),
    ],
)
def test_reading_intents_read(index: SearchIndex, query: str, expected: set[str]) -> None:
    assert top(index, query)[0] in expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("blocked users", "GetBlockedUsers"),
        ("pinned messages", "GetPinnedMessages"),
        ("push providers", "ListPushProviders"),
        ("banned users in #general", "QueryBannedUsers"),
        ("blocklists", "ListBlockLists"),
        ("votes on poll p1", "QueryPollVotes"),
        ("moderation rules", "query_moderation_rules"),
        ("message reactions", "QueryReactions"),  # "message" names here, it does not send
        ("message bob directly", "SendMessage"),  # and sends here
        ("archived channels", "QueryChannels"),  # lists them, archives none
        ("appeal ap_5 details", "get_appeal"),
        ("temporary ban for @troll in #general", "ban"),  # a kind of ban: a verb after all
    ],
)
def test_bare_noun_phrases_ask_to_see(index: SearchIndex, query: str, expected: str) -> None:
    assert top(index, query)[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("make sure bob can't post for a day", {"ban"}),
        ("make sure @troll can't write in #general until tomorrow", {"ban"}),
        ("let carol post again after her timeout", {"unban"}),
        ("u-9 should be allowed to post in #general again", {"unban"}),
        ("bob may write in #ops again after his timeout", {"unban"}),
        ("stop bob from ever messaging me again", {"BlockUsers"}),
        ("I don't want notifications from bob anymore", {"mute"}),
        ("I don't want to see #random in my channel list", {"HideChannel"}),
        (
            "nobody should be able to send messages to #announcements anymore",
            {"UpdateChannelPartial", "UpdateChannel"},
        ),
        ("ensure nobody can use the word 'crypto' in chat", {"CreateBlockList", "UpdateBlockList"}),
        ("compliance archive of a channel", {"ExportChannels"}),
        ("keep a copy of all messages in #legal for our records", {"ExportChannels"}),
        ("make sure messages older than a year disappear", {"SetRetentionPolicy"}),
        ("who banned carol?", {"query_moderation_logs"}),
        ("make sure bob is a moderator in #support", {"UpdateChannel"}),
        ("make #general read-only", {"UpdateChannelPartial", "UpdateChannel"}),
        ("undo the ban on @troll", {"unban"}),
        ("I never want to see messages from mallory again", {"BlockUsers"}),
    ],
)
def test_outcomes_map_to_what_brings_them_about(
    index: SearchIndex, query: str, expected: set[str]
) -> None:
    assert top(index, query)[0] in expected


@pytest.mark.parametrize(
    "query",
    [
        "emoji reactions are disabled in support channels",
        "typing indicators should be gone",
        "read receipts should no longer show in team channels",
        "file uploads are off for the support channel type",
        "threads should be enabled for every team channel",
    ],
)
def test_a_channel_feature_in_a_state_is_a_channel_type_setting(
    index: SearchIndex, query: str
) -> None:
    """Said as the state it should be in, a feature is switched in the channel type's config:
    neither a reaction nor a typing event is sent."""
    assert top(index, query)[0] == "UpdateChannelType"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("remove him from #ops", "UpdateChannel"),
        ("add them to the support user group", "AddUserGroupMembers"),
    ],
)
def test_a_person_pronoun_put_somewhere_reads_as_a_name(
    index: SearchIndex, query: str, expected: str
) -> None:
    """ "remove him from #ops" is "remove bob from #ops": a member taken out, no channel
    deleted."""
    assert top(index, query)[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("u-40 no longer gets @oncall mentions", "RemoveUserGroupMembers"),
        (
            "dana left support, @support-team mentions shouldn't reach her anymore",
            "RemoveUserGroupMembers",
        ),
        ("@oncall mentions should also ping dana", "AddUserGroupMembers"),
        ("u-7 should get @sre mentions too", "AddUserGroupMembers"),
    ],
)
def test_whom_a_handles_mentions_reach_are_its_group_members(
    index: SearchIndex, query: str, expected: str
) -> None:
    """ "@oncall mentions" are a user group's handle, not a user's."""
    assert top(index, query)[0] == expected


@pytest.mark.parametrize(
    "query",
    [
        "u-6 picks 'Pizza'",
        "register leo's vote",
        "carol goes with option 2 on poll p-3",
        "record bob's choice of 'Tuesday' in the meeting poll",
        "in the standup poll, dana picked 'Friday'",
        "how do I cast a vote for bob on poll p-7?",
    ],
)
def test_a_pick_reported_as_done_is_a_vote_to_cast(index: SearchIndex, query: str) -> None:
    """Someone's pick in a poll is a vote to record for them, not a poll to create."""
    assert top(index, query)[0] == "CastPollVote"


@pytest.mark.parametrize(
    "query",
    [
        "stop voting on poll p-2",
        "voting on p-4 should end now",
        "end the vote in the lunch poll",
        "voting in the lunch poll should be reopened",
    ],
)
def test_closing_or_reopening_voting_updates_the_poll(index: SearchIndex, query: str) -> None:
    """Voting closed or opened again is the poll's setting: no vote is cast, no poll deleted."""
    assert top(index, query)[0] == "UpdatePollPartial"


def test_letting_people_pick_still_creates_a_poll(index: SearchIndex) -> None:
    assert top(index, "let people pick from three options")[0] == "CreatePoll"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("drop a note in #general saying the build is green", "SendMessage"),
        ("drop bob a line about the outage", "SendMessage"),
        ("drop a channel", "DeleteChannel"),
    ],
)
def test_dropping_a_note_posts_it(index: SearchIndex, query: str, expected: str) -> None:
    """ "Drop a note in #general" posts one; "drop" alone still deletes."""
    assert top(index, query)[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("how do I translate msg-9 into French?", "TranslateMessage"),
        ("how do I flag carol's last message?", "flag"),
    ],
)
def test_how_do_i_asks_to_act_even_with_a_question_mark(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert top(index, query)[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("new channel type 'support' with reactions and threads disabled", "CreateChannelType"),
        ("show me which reactions are on message m-5", "GetReactions"),
    ],
)
def test_a_feature_named_otherwise_is_not_a_setting(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert top(index, query)[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("watch a channel for new events", "GetOrCreateChannel"),  # not StopWatchingChannel
        ("shadowban the spammer", "ban"),  # not unban
        ("stop watching messaging:support", "StopWatchingChannel"),
        ("lift the ban on carol", "unban"),
        ("I want to hear from bob again", "unmute"),
        ("delete the file bob uploaded to #support", "DeleteChannelFile"),  # "outside any channel"
        ("create a channel called launch", "GetOrCreateChannel"),  # GetChannel "never creates"
    ],
)
def test_undoing_and_denied_operations_need_asking_for(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert top(index, query)[0] == expected


# --------------------------------------------------------------------------- fallbacks


def test_empty_query_returns_an_overview_of_categories(
    index: SearchIndex, spec_catalog: Catalog
) -> None:
    for query in ("", "   "):
        result = index.search(query)
        assert result.hits == [] and result.message is None
        assert result.overview is not None
        assert {row["group"] for row in result.overview} == set(spec_catalog.groups())
        assert sum(row["count"] for row in result.overview) == len(spec_catalog)
        assert all(1 <= len(row["examples"]) <= 3 for row in result.overview)
    assert len(json.dumps(index.search("").to_dict())) < 2000  # a map, not all 247 operations


@pytest.mark.parametrize("query", ["asdfgh qwerty", "xyzzy", "the of and", "bananas"])
def test_nonsense_says_so_and_suggests_broader_terms(index: SearchIndex, query: str) -> None:
    result = index.search(query)
    assert result.hits == [] and result.overview is None
    assert result.message is not None
    assert "No operation matches" in result.message and "broader" in result.message
    assert result.to_dict()["message"] == result.message


@pytest.mark.parametrize(
    "query",
    ["weather in paris tomorrow", "what's the capital of france?", "stock price of apple"],
)
def test_an_incidental_match_is_flagged_weak(index: SearchIndex, query: str) -> None:
    result = index.search(query)
    assert result.weak and result.message is not None
    assert "No strong match" in result.message and "broader" in result.message
    assert result.to_dict()["weak"] is True and result.to_dict()["message"] == result.message


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("add bob, carol and dave to #general", "UpdateChannel"),
        ("unmute bob", "unmute"),
        ("ban @troll", "ban"),
        ("delete message 123", "DeleteMessage"),
        ("preview the link https://example.com", "GetOG"),
    ],
)
def test_name_and_value_heavy_requests_are_strong(
    index: SearchIndex, query: str, expected: str
) -> None:
    result = index.search(query)
    assert not result.weak and result.message is None and "weak" not in result.to_dict()
    assert result.hits[0].operation_id == expected


def test_few_real_requests_are_flagged_weak(
    evaluated: list[tuple[dict, SearchResult]],
) -> None:
    flagged = [row["query"] for row, result in evaluated if result.weak]
    assert len(flagged) <= 0.03 * len(evaluated), flagged


def test_a_misspelling_is_read_as_the_word_meant_and_says_so(index: SearchIndex) -> None:
    result = index.search("reactoin")
    assert result.hits and "Reaction" in result.hits[0].operation_id
    assert result.message == "Read 'reactoin' as 'reaction'."


def test_an_uncorrectable_misspelling_gets_a_did_you_mean(index: SearchIndex) -> None:
    message = index.search("chanl").message  # two letters short: no typo fix, a suggestion
    assert message is not None and "No operation matches" in message and "channel" in message


@pytest.mark.parametrize("limit", [0, 21, -1, "5", 2.5, True, None])
def test_limit_is_validated(index: SearchIndex, limit: object) -> None:
    with pytest.raises(ValidationError) as err:
        index.search("send a message", limit=limit)  # type: ignore[arg-type]
    assert err.value.field == "limit" and "limit" in str(err.value)


def test_limit_caps_the_hits(index: SearchIndex) -> None:
    assert len(index.search("channel", limit=1).hits) == 1
    assert len(index.search("channel", limit=20).hits) == 20


# --------------------------------------------------------------------------- result size


def test_every_operation_fits_in_a_compact_hit(spec_catalog: Catalog) -> None:
    for op in spec_catalog:
        hit = make_hit(op, 123.456)
        assert hit_tokens(hit) <= MAX_HIT_TOKENS
        assert hit.auth == ("user" if op.user_token else "server")
        assert (hit.read_only, hit.destructive) == (op.read_only, op.destructive)
        assert set(hit.to_dict()) == {
            "operation_id",
            "summary",
            "auth",
            "read_only",
            "destructive",
            "score",
        }


def test_a_long_summary_is_truncated_to_the_budget(spec_catalog: Catalog) -> None:
    op = replace(spec_catalog.get("SendMessage"), summary="Send a message é " * 60)
    hit = make_hit(op, 1.0)
    assert hit_tokens(hit) <= MAX_HIT_TOKENS
    assert hit.summary.endswith("...") and hit.summary.startswith("Send a message")
    assert "\n" not in hit.summary


def test_search_results_serialize_within_budget(index: SearchIndex) -> None:
    result = index.search("delete a message", limit=20)
    data = result.to_dict()
    assert data["query"] == "delete a message" and "message" not in data
    assert all(hit_tokens(h) <= MAX_HIT_TOKENS for h in result.hits)
    scores = [h["score"] for h in data["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_the_index_builds_from_the_compiled_artifact_too() -> None:
    index = SearchIndex.from_catalog(load_catalog())
    assert index.search("send a message to a channel").hits


# --------------------------------------------------------------------------- CLI


def test_cli_json_is_a_ranked_array_of_operations(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", "start a DM with bob", "--json", "--limit", "3", "--spec", "tool_specs"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert isinstance(rows, list) and 1 <= len(rows) <= 3
    assert all("operation_id" in row for row in rows)
    assert rows[0]["operation_id"] == "GetOrCreateDistinctChannel"


def test_cli_joins_unquoted_words_and_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "unban", "mallory"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[1].split()
    assert first[:2] == ["1", "unban"]
    assert "auth" in out.splitlines()[0]


def test_cli_without_a_query_lists_categories(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search"]) == 0
    out = capsys.readouterr().out
    assert "messages" in out and "moderation" in out


def test_cli_table_warns_above_weak_hits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "weather", "in", "paris", "tomorrow"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("No strong match") and any("auth" in line for line in lines)


def test_cli_nonsense_prints_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "xyzzy", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert "No operation matches" in captured.err


def test_cli_rejects_a_bad_limit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "send", "--limit", "50"]) == 2
    assert "limit" in capsys.readouterr().err


# --------------------------------------------------------------------------- accuracy floor


def test_evaluation_set_labels_every_operation(spec_catalog: Catalog) -> None:
    rows = eval_rows(EVAL_FILE)
    fresh = eval_rows(FRESH_FILE)
    labels = {op for row in rows + fresh for op in row["expected"]}
    assert labels == set(spec_catalog.operations)
    assert {row["split"] for row in rows} <= {"dev", "heldout"}  # held-out rows may be absent
    assert {row["split"] for row in fresh} == {"fresh2"} and len(fresh) >= 160
    scratch = eval_rows(SCRATCH_FILE)
    assert {row["split"] for row in scratch} == {"dev2"}
    assert {op for row in scratch for op in row["expected"]} <= set(spec_catalog.operations)
    dev3, fresh3 = eval_rows(DEV3_FILE), eval_rows(FRESH3_FILE)
    assert {op for row in dev3 for op in row["expected"]} == set(spec_catalog.operations)
    assert {row["split"] for row in dev3} == {"dev3"}
    assert {row["split"] for row in fresh3} == {"fresh3"} and len(fresh3) >= 160
    covered = {op for row in fresh3 for op in row["expected"]} & set(spec_catalog.operations)
    assert len(covered) >= 120
    # Rounds four to ten: each tuning set labels every operation (dev9 three times over);
    # fresh4 to fresh10 were each held out for a round.
    tuning_sets = (
        (DEV4_FILE, "dev4"),
        (DEV5_FILE, "dev5"),
        (DEV6_FILE, "dev6"),
        (DEV7_FILE, "dev7"),
        (DEV8_FILE, "dev8"),
        (DEV9_FILE, "dev9"),
        (DEV10_FILE, "dev10"),
        (DEV11_FILE, "dev11"),
    )
    for path, split in tuning_sets:
        tuning = eval_rows(path)
        assert {row["split"] for row in tuning} == {split}
        assert {op for row in tuning for op in row["expected"]} == set(spec_catalog.operations)
    held_out_sets = (
        (FRESH4_FILE, "fresh4"),
        (FRESH5_FILE, "fresh5"),
        (FRESH6_FILE, "fresh6"),
        (FRESH7_FILE, "fresh7"),
        (FRESH8_FILE, "fresh8"),
        (FRESH9_FILE, "fresh9"),
        (FRESH10_FILE, "fresh10"),
        (FRESH11_FILE, "fresh11"),
        (FRESH12_FILE, "fresh12"),
        (FRESH13_FILE, "fresh13"),
        (FRESH14_FILE, "fresh14"),
        (FRESH15_FILE, "fresh15"),
    )
    for path, split in held_out_sets:
        held_out = eval_rows(path)
        assert {row["split"] for row in held_out} == {split} and len(held_out) >= 160
        assert {op for row in held_out for op in row["expected"]} <= set(spec_catalog.operations)
        assert len({op for row in held_out for op in row["expected"]}) >= 120


# The rules were never tuned on the blind sets, so each one's floor for the rules alone sits
# a few points under its figure in the README (2026-12-03, round eight: fresh2 0.894/0.990,
# fresh3 0.885/0.980, fresh4 0.768/0.968, fresh5 0.832/0.973, fresh6 0.836/0.973, fresh7
# 0.850/0.959, fresh8 0.850/0.968; round nine: fresh9 0.823/0.955, fresh10 0.900/0.995,
# fresh11 0.909/0.973; round ten: fresh12 0.823/0.959, fresh13 0.859/0.973; round eleven:
# fresh14 0.850/0.982, fresh15 0.886/0.995),
# so a rule that trades generality for the tuning sets
# fails here even when those still pass. (Search as agents get it has learnt from these sets:
# tool_specs/examples.yaml.)
RULES_FLOORS = {
    "fresh2": (FRESH_FILE, 0.85, 0.96),
    "fresh3": (FRESH3_FILE, 0.83, 0.95),
    "fresh4": (FRESH4_FILE, 0.72, 0.94),
    "fresh5": (FRESH5_FILE, 0.79, 0.95),
    "fresh6": (FRESH6_FILE, 0.79, 0.95),
    "fresh7": (FRESH7_FILE, 0.80, 0.93),
    "fresh8": (FRESH8_FILE, 0.81, 0.94),
    "fresh9": (FRESH9_FILE, 0.79, 0.93),
    "fresh10": (FRESH10_FILE, 0.86, 0.97),
    "fresh11": (FRESH11_FILE, 0.87, 0.95),
    "fresh12": (FRESH12_FILE, 0.79, 0.93),
    "fresh13": (FRESH13_FILE, 0.83, 0.95),
    "fresh14": (FRESH14_FILE, 0.81, 0.95),
    "fresh15": (FRESH15_FILE, 0.85, 0.96),
}
# The sets still held out, for the rules and the examples' votes (the learnt corrections
# live only in the compiled artifact), a few points under their figures. fresh9 was held out
# in round nine: 0.864/0.982 at its start, 0.900/0.982 once dev9 had joined the examples and
# the corrections were learnt (24f6183). fresh10 to fresh13 took its place in round ten
# (0.959/0.995, 0.950/0.991, 0.868/0.977 and 0.927/0.982 when first scored), then joined
# the examples too. fresh14 and fresh15, written blind for round eleven, scored 0.927/0.995
# and 0.936/0.995 at its start (0c0793a), and 0.918/0.995 and 0.927/0.995 once the five
# example requests they hold word for word had left the examples (0.877/0.991 and
# 0.923/0.995 here, without the corrections).
HELD_OUT_FLOORS = {
    "fresh14": (FRESH14_FILE, 0.85, 0.97),
    "fresh15": (FRESH15_FILE, 0.89, 0.97),
}


def _ranks(engine: SearchIndex, path: Path) -> tuple[float, float]:
    rows = eval_rows(path)
    ranked = [top(engine, row["query"], 5) for row in rows]
    top1 = sum(bool(r) and r[0] in row["expected"] for r, row in zip(ranked, rows, strict=True))
    top5 = sum(bool(set(r) & set(row["expected"])) for r, row in zip(ranked, rows, strict=True))
    return top1 / len(rows), top5 / len(rows)


@pytest.mark.parametrize("split", list(RULES_FLOORS))
def test_blind_requests_stay_above_a_floor_for_the_rules_alone(
    index: SearchIndex, split: str
) -> None:
    """Written blind, never tuned on by the rules: top-1 and top-5 stay above the floor."""
    path, top1_floor, top5_floor = RULES_FLOORS[split]
    top1, top5 = _ranks(index, path)
    assert top5 >= top5_floor and top1 >= top1_floor, (split, top1, top5)


@pytest.mark.parametrize("split", list(HELD_OUT_FLOORS))
def test_held_out_requests_stay_above_a_floor(searched: SearchIndex, split: str) -> None:
    """Written blind, never tuned on nor learnt from: top-1 and top-5 stay above the floor."""
    path, top1_floor, top5_floor = HELD_OUT_FLOORS[split]
    top1, top5 = _ranks(searched, path)
    assert top5 >= top5_floor and top1 >= top1_floor, (split, top1, top5)


def test_accuracy_floor_on_the_evaluation_set(
    index: SearchIndex, evaluated: list[tuple[dict, SearchResult]]
) -> None:
    """A sanity floor, well under the benchmark's numbers (benchmarks/bench_search.py), for
    the rules alone and with the votes (which learnt from these very rows)."""
    rows = [row for row, _ in evaluated]
    rules = [top(index, row["query"], 5) for row in rows]
    votes = [[hit.operation_id for hit in result.hits] for _, result in evaluated]
    for ranked in (rules, votes):
        top1 = sum(r[:1] and r[0] in row["expected"] for r, row in zip(ranked, rows, strict=True))
        top5 = sum(bool(set(r) & set(row["expected"])) for r, row in zip(ranked, rows, strict=True))
        assert top5 / len(rows) >= 0.95
        assert top1 / len(rows) >= 0.85


def test_cued_rewrites_are_compiled_only_for_requests_with_a_cue() -> None:
    """Rules most requests never need ("@oncall mentions", "drop a note") add nothing to the
    first search: each is compiled on the first request containing one of its cue words
    (derived from its pattern and stored in the artifact)."""
    from stream_mcp.search._query import _Rewrite

    rewrite = _Rewrite(r"\bdrop\s+an?\s+note\b", " post a note ", ("drop",))
    assert rewrite.sub("send a message") == "send a message"
    assert rewrite._compiled is None
    assert rewrite.sub("drop a note here") == " post a note  here"
    assert rewrite._compiled is not None
    from stream_mcp.search import _compiled

    cues = _compiled.decode_cues(load_catalog().precomputed.get("search"))
    analyzer = QueryAnalyzer(frozenset({"send", "messag"}), cues=cues)
    analyzer.plan("send a message")
    assert any(r._compiled is None for r in analyzer._idioms)
