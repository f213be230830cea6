"""Polls, their options and votes.

A poll is created on its own (CreatePoll) and then sent in a message (``poll_id``) of a
channel whose configuration enables ``polls``. Votes are cast on the message; answers
(``answer_text``) need ``allow_answers``. ``enforce_unique_vote`` replaces a user's earlier
vote, ``max_votes_allowed`` caps them, and closed polls take no votes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import paging, permissions, records
from stream_mcp.sandbox.context import Call, obj, opt_str, str_list, user_ref
from stream_mcp.sandbox.errors import input_error, not_allowed, not_found
from stream_mcp.sandbox.filters import matches, parse_sort, sort_docs
from stream_mcp.sandbox.store import CHANNELS, POLLS, VOTES
from stream_mcp.sandbox.views import Renderer

_SETTINGS = ("allow_answers", "allow_user_suggested_options", "enforce_unique_vote", "is_closed")
_FIELDS = frozenset(
    {
        "name",
        "description",
        "voting_visibility",
        "max_votes_allowed",
        "options",
        *_SETTINGS,
    }
)
_IGNORED = frozenset({"id", "user", "user_id", "created_by", "created_by_id"})


def _actor(call: Call, source: Mapping[str, Any]) -> str:
    user_id = call.actor(
        opt_str(source, "user_id"),
        user_ref(source.get("user")),
        required="either user or user_id must be provided when using server side auth",
    )
    assert user_id is not None
    records.ensure_user(call, user_id, source.get("user"))
    return user_id


def _options(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise input_error("options must be a list", field="options")
    result = []
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("text"), str):
            raise input_error("every option needs a text", field="options")
        custom = dict(item.get("custom") or {})
        custom.update({k: v for k, v in item.items() if k not in ("text", "custom", "id")})
        result.append(
            {"id": item.get("id") or records.new_id(), "text": item["text"], "custom": custom}
        )
    return result


def _check(fields: Mapping[str, Any]) -> None:
    for name in _SETTINGS:
        if name in fields and not isinstance(fields[name], bool):
            raise input_error(f"{name} must be a boolean", field=name)
    visibility = fields.get("voting_visibility")
    if visibility is not None and visibility not in ("public", "anonymous"):
        raise input_error(
            "voting_visibility must be public or anonymous", field="voting_visibility"
        )
    limit = fields.get("max_votes_allowed")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10
    ):
        raise input_error("max_votes_allowed must be between 1 and 10", field="max_votes_allowed")


def _require(call: Call, poll_id: str) -> dict[str, Any]:
    doc = call.store.get(POLLS, poll_id)
    if doc is None:
        raise not_found(f"poll {poll_id} does not exist")
    return doc


def _vote_view(render: Renderer, vote: Mapping[str, Any], anonymous: bool) -> dict[str, Any]:
    out = {k: v for k, v in vote.items() if k != "user_id"}
    if not anonymous:
        out["user_id"] = vote["user_id"]
        out["user"] = render.user(vote["user_id"])
    return out


def poll_view(call: Call, doc: Mapping[str, Any], viewer: str | None = None) -> dict[str, Any]:
    render = Renderer(call, viewer)
    votes = call.store.select(VOTES, poll_id=doc["id"], order_by="created_at", descending=True)
    anonymous = doc.get("voting_visibility") == "anonymous"
    option_votes = [v for v in votes if not v.get("is_answer")]
    answers = [v for v in votes if v.get("is_answer")]
    counts: dict[str, int] = {}
    latest: dict[str, list[dict[str, Any]]] = {}
    for vote in option_votes:
        counts[vote["option_id"]] = counts.get(vote["option_id"], 0) + 1
        latest.setdefault(vote["option_id"], [])
        if len(latest[vote["option_id"]]) < 10:
            latest[vote["option_id"]].append(_vote_view(render, vote, anonymous))
    return {
        **{k: v for k, v in doc.items() if k not in ("custom",)},
        **dict(doc.get("custom") or {}),
        "custom": dict(doc.get("custom") or {}),
        "created_by": render.user(doc["created_by_id"]),
        "vote_count": len(option_votes),
        "answers_count": len(answers),
        "vote_counts_by_option": counts,
        "latest_votes_by_option": latest,
        "latest_answers": [_vote_view(render, a, anonymous) for a in answers[:10]],
        "own_votes": [
            _vote_view(render, v, False) for v in votes if viewer and v["user_id"] == viewer
        ],
    }


def attach_poll(call: Call, message: dict[str, Any], poll_id: str) -> None:
    """Link a poll to a new message (called from message creation)."""
    _require(call, poll_id)
    message["poll_id"] = poll_id


def create_poll(call: Call) -> dict[str, Any]:
    """CreatePoll (POST /polls)."""
    body = call.body
    user_id = _actor(call, body)
    name = opt_str(body, "name")
    if not name:
        raise input_error("name is a required field", field="name")
    system, custom = records.split_fields(body, _FIELDS, _IGNORED)
    _check(system)
    poll_id = opt_str(body, "id") or records.new_id()
    if call.store.get(POLLS, poll_id) is not None:
        raise input_error(f"poll {poll_id} already exists", field="id")
    now = call.stamp()
    doc: dict[str, Any] = {
        "id": poll_id,
        "name": name,
        "description": system.get("description") or "",
        "voting_visibility": system.get("voting_visibility") or "public",
        "enforce_unique_vote": bool(system.get("enforce_unique_vote")),
        "allow_answers": bool(system.get("allow_answers")),
        "allow_user_suggested_options": bool(system.get("allow_user_suggested_options")),
        "is_closed": bool(system.get("is_closed")),
        "options": _options(system.get("options")),
        "created_by_id": user_id,
        "created_at": now,
        "updated_at": now,
        "custom": custom,
    }
    if system.get("max_votes_allowed") is not None:
        doc["max_votes_allowed"] = system["max_votes_allowed"]
    call.store.put(POLLS, doc)
    return {"poll": poll_view(call, doc, user_id)}


def _owned(call: Call, doc: Mapping[str, Any]) -> None:
    if (
        not call.is_server
        and doc["created_by_id"] != call.user_id
        and not permissions.is_privileged(call)
    ):
        raise not_allowed(f"user '{call.user_id}' may not change poll {doc['id']}")


def get_poll(call: Call) -> dict[str, Any]:
    """GetPoll (GET /polls/{poll_id})."""
    viewer = call.actor(call.query_str("user_id"))
    return {"poll": poll_view(call, _require(call, call.path["poll_id"]), viewer)}


def update_poll(call: Call) -> dict[str, Any]:
    """UpdatePoll (PUT /polls): a full replacement of the poll's fields."""
    poll_id = opt_str(call.body, "id")
    if not poll_id:
        raise input_error("id is a required field", field="id")
    doc = _require(call, poll_id)
    _owned(call, doc)
    name = opt_str(call.body, "name")
    if not name:
        raise input_error("name is a required field", field="name")
    system, custom = records.split_fields(call.body, _FIELDS, _IGNORED)
    _check(system)
    doc.update(
        {
            "name": name,
            "description": system.get("description") or "",
            "voting_visibility": system.get("voting_visibility") or "public",
            "custom": custom,
            "updated_at": call.stamp(),
        }
    )
    for flag in _SETTINGS:
        doc[flag] = bool(system.get(flag))
    if "options" in system:
        doc["options"] = _options(system["options"])
    if system.get("max_votes_allowed") is None:
        doc.pop("max_votes_allowed", None)
    else:
        doc["max_votes_allowed"] = system["max_votes_allowed"]
    call.store.put(POLLS, doc)
    return {"poll": poll_view(call, doc, call.user_id)}


def update_poll_partial(call: Call) -> dict[str, Any]:
    """UpdatePollPartial (PATCH /polls/{poll_id}): ``set``/``unset``."""
    doc = _require(call, call.path["poll_id"])
    _owned(call, doc)
    to_set = obj(call.body, "set")
    system, custom = records.split_fields(to_set, _FIELDS - {"options"}, _IGNORED | {"options"})
    _check(system)
    doc.update(system)
    doc["custom"] = {**doc.get("custom", {}), **custom}
    for key in str_list(call.body, "unset"):
        if key == "max_votes_allowed":
            doc.pop(key, None)
        elif key == "description":
            doc[key] = ""
        elif key not in _FIELDS:
            doc["custom"].pop(key, None)
    doc["updated_at"] = call.stamp()
    call.store.put(POLLS, doc)
    return {"poll": poll_view(call, doc, call.user_id)}


def delete_poll(call: Call) -> dict[str, Any]:
    """DeletePoll (DELETE /polls/{poll_id}): its votes go too; messages keep no poll."""
    doc = _require(call, call.path["poll_id"])
    _owned(call, doc)
    call.store.delete_where(VOTES, poll_id=doc["id"])
    call.store.delete(POLLS, doc["id"])
    return {}


def query_polls(call: Call) -> dict[str, Any]:
    """QueryPolls (POST /polls/query)."""
    conditions = obj(call.body, "filter")
    sort = parse_sort(call.body.get("sort"), default=[("created_at", -1)])
    viewer = call.actor(call.query_str("user_id"))
    docs = [
        d for d in call.store.select(POLLS) if matches({**d.get("custom", {}), **d}, conditions)
    ]
    chunk, cursors = paging.page(sort_docs(docs, sort), call.body, default_limit=10, max_limit=100)
    return {"polls": [poll_view(call, d, viewer) for d in chunk], **cursors}


# -- options -------------------------------------------------------------------------------


def _option(doc: Mapping[str, Any], option_id: str) -> dict[str, Any]:
    options: list[dict[str, Any]] = doc["options"]
    for option in options:
        if option["id"] == option_id:
            return option
    raise not_found(f"option {option_id} of poll {doc['id']} does not exist")


def create_poll_option(call: Call) -> dict[str, Any]:
    """CreatePollOption (POST /polls/{poll_id}/options)."""
    doc = _require(call, call.path["poll_id"])
    suggested = not call.is_server and doc["created_by_id"] != call.user_id
    if suggested and not doc.get("allow_user_suggested_options"):
        raise not_allowed("this poll does not take suggested options")
    option = _options([{k: v for k, v in call.body.items() if k not in ("user", "user_id")}])[0]
    doc["options"].append(option)
    doc["updated_at"] = call.stamp()
    call.store.put(POLLS, doc)
    return {"poll_option": option}


def update_poll_option(call: Call) -> dict[str, Any]:
    """UpdatePollOption (PUT /polls/{poll_id}/options)."""
    doc = _require(call, call.path["poll_id"])
    _owned(call, doc)
    option = _option(doc, opt_str(call.body, "id") or "")
    text = opt_str(call.body, "text")
    if not text:
        raise input_error("text is a required field", field="text")
    option["text"] = text
    option["custom"] = {
        k: v for k, v in call.body.items() if k not in ("id", "text", "custom", "user", "user_id")
    } | dict(call.body.get("custom") or {})
    doc["updated_at"] = call.stamp()
    call.store.put(POLLS, doc)
    return {"poll_option": option}


def get_poll_option(call: Call) -> dict[str, Any]:
    """GetPollOption (GET /polls/{poll_id}/options/{option_id})."""
    doc = _require(call, call.path["poll_id"])
    return {"poll_option": _option(doc, call.path["option_id"])}


def delete_poll_option(call: Call) -> dict[str, Any]:
    """DeletePollOption: the option's votes go too."""
    doc = _require(call, call.path["poll_id"])
    _owned(call, doc)
    option = _option(doc, call.path["option_id"])
    doc["options"] = [o for o in doc["options"] if o["id"] != option["id"]]
    for vote in call.store.select(VOTES, poll_id=doc["id"]):
        if vote.get("option_id") == option["id"]:
            call.store.delete(VOTES, vote["id"])
    call.store.put(POLLS, doc)
    return {}


# -- votes ---------------------------------------------------------------------------------


def _poll_message(call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    message = records.require_message(call, call.path["message_id"])
    if message.get("poll_id") != call.path["poll_id"]:
        raise not_found(f"message {message['id']} has no poll {call.path['poll_id']}")
    channel = call.store.get(CHANNELS, message["cid"])
    if channel is None or channel.get("deleted_at"):
        raise not_found(f"Message with id {message['id']} doesn't exist")
    permissions.require_member(call, channel, "CastPollVote")
    return message, _require(call, call.path["poll_id"])


def cast_poll_vote(call: Call) -> dict[str, Any]:
    """CastPollVote (POST /messages/{message_id}/polls/{poll_id}/vote)."""
    _message, poll = _poll_message(call)
    user_id = _actor(call, call.body)
    if poll.get("is_closed"):
        raise input_error(f"poll {poll['id']} is closed")
    vote = obj(call.body, "vote", required=True)
    now = call.stamp()
    mine = call.store.select(VOTES, poll_id=poll["id"], user_id=user_id, order_by="created_at")
    answer = opt_str(vote, "answer_text")
    doc: dict[str, Any] = {
        "id": records.new_id(),
        "poll_id": poll["id"],
        "user_id": user_id,
        "created_at": now,
        "updated_at": now,
    }
    if answer is not None:
        if not poll.get("allow_answers"):
            raise input_error(f"poll {poll['id']} does not take answers")
        for old in mine:
            if old.get("is_answer"):
                call.store.delete(VOTES, old["id"])
        doc.update({"is_answer": True, "answer_text": answer, "option_id": ""})
    else:
        option_id = opt_str(vote, "option_id")
        if not option_id:
            raise input_error("vote.option_id or vote.answer_text is required", field="vote")
        _option(poll, option_id)
        options_votes = [v for v in mine if not v.get("is_answer")]
        if any(v["option_id"] == option_id for v in options_votes):
            raise input_error(f"user {user_id} already voted for option {option_id}")
        if poll.get("enforce_unique_vote"):
            for old in options_votes:
                call.store.delete(VOTES, old["id"])
        elif poll.get("max_votes_allowed") and len(options_votes) >= poll["max_votes_allowed"]:
            raise input_error(f"at most {poll['max_votes_allowed']} votes are allowed")
        doc["option_id"] = option_id
    call.store.put(VOTES, doc)
    render = Renderer(call, user_id)
    return {
        "vote": _vote_view(render, doc, False),
        "poll": poll_view(call, poll, user_id),
    }


def delete_poll_vote(call: Call) -> dict[str, Any]:
    """DeletePollVote (DELETE /messages/{message_id}/polls/{poll_id}/vote/{vote_id})."""
    _message, poll = _poll_message(call)
    user_id = call.actor(
        call.query_str("user_id"),
        required="user_id must be provided when using server side auth",
    )
    vote = call.store.get(VOTES, call.path["vote_id"])
    if vote is None or vote["poll_id"] != poll["id"] or vote["user_id"] != user_id:
        raise not_found(f"vote {call.path['vote_id']} does not exist")
    call.store.delete(VOTES, vote["id"])
    render = Renderer(call, user_id)
    return {"vote": _vote_view(render, vote, False), "poll": poll_view(call, poll, user_id)}


def query_poll_votes(call: Call) -> dict[str, Any]:
    """QueryPollVotes (POST /polls/{poll_id}/votes); anonymous polls hide who voted."""
    poll = _require(call, call.path["poll_id"])
    conditions = obj(call.body, "filter")
    sort = parse_sort(call.body.get("sort"), default=[("created_at", -1)])
    votes = [v for v in call.store.select(VOTES, poll_id=poll["id"]) if matches(v, conditions)]
    chunk, cursors = paging.page(sort_docs(votes, sort), call.body, default_limit=10, max_limit=100)
    render = Renderer(call)
    anonymous = poll.get("voting_visibility") == "anonymous"
    return {"votes": [_vote_view(render, v, anonymous) for v in chunk], **cursors}


def message_poll(
    call: Call, message: Mapping[str, Any], viewer: str | None
) -> dict[str, Any] | None:
    poll = call.store.get(POLLS, str(message.get("poll_id")))
    return poll_view(call, poll, viewer) if poll else None
