"""Data written to a file-backed sandbox survives a restart on the same file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from stream_chat import StreamChat

from stream_mcp.sandbox import Sandbox
from stream_mcp.sandbox.store import StoreError

KEY = "persistkey01"
SECRET = "persist-secret-" * 4


def client_for(sandbox: Sandbox) -> StreamChat:
    return StreamChat(
        api_key=sandbox.api_key, api_secret=sandbox.api_secret, base_url=sandbox.base_url
    )


def test_data_survives_restart(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    with Sandbox(db=db, api_key=KEY, api_secret=SECRET) as first:
        client = client_for(first)
        client.upsert_users([{"id": "ann", "name": "Ann"}, {"id": "bob"}])
        channel = client.channel("messaging", "kept", {"members": ["ann", "bob"], "topic": "t"})
        channel.create("ann")
        message_id = channel.send_message({"text": "still here"}, "ann")["message"]["id"]
        channel.send_reaction(message_id, {"type": "like"}, "bob")
        client.ban_user("bob", user_id="ann", reason="test")
        client.create_blocklist(name="kept_words", words=["darn"])
        first_url = first.base_url

    with Sandbox(db=db, api_key=KEY, api_secret=SECRET) as second:
        assert second.base_url != "" and first_url.startswith("http://127.0.0.1:")
        client = client_for(second)
        users = client.query_users({"id": {"$in": ["ann", "bob"]}}, {"id": 1})["users"]
        assert [(u["id"], u.get("name")) for u in users] == [("ann", "Ann"), ("bob", None)]
        assert users[1]["banned"] is True
        state = client.channel("messaging", "kept").query()
        assert state["channel"]["topic"] == "t"
        assert [m["text"] for m in state["messages"]] == ["still here"]
        assert state["messages"][0]["reaction_counts"] == {"like": 1}
        assert client.get_message(message_id)["message"]["user"]["id"] == "ann"
        assert client.get_blocklist("kept_words")["blocklist"]["words"] == ["darn"]


def test_memory_databases_start_empty() -> None:
    with Sandbox(api_key=KEY, api_secret=SECRET) as sandbox:
        client = client_for(sandbox)
        assert client.query_users({"id": "ann"})["users"] == []


def test_foreign_schema_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    Sandbox(db=db).stop()
    with sqlite3.connect(db) as conn:
        conn.execute("""UPDATE meta SET doc = '{"key":"schema_version","value":"999"}'""")
    with pytest.raises(StoreError):
        Sandbox(db=db)


def test_unusable_database_files_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        Sandbox(db=garbage)
    with pytest.raises(StoreError):
        Sandbox(db=tmp_path / "missing-dir" / "x.db")
