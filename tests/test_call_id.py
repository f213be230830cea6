"""One id per tool call, on every log line it writes and on its audit record."""

from __future__ import annotations

import json

from tests.e2e import Transcript, new_secret, stdio_session


async def test_log_lines_and_the_audit_record_share_the_call_id(tmp_path):
    transcript = Transcript(new_secret())
    audit = tmp_path / "audit.jsonl"
    env = {"STREAM_MCP_AUDIT_LOG": str(audit), "STREAM_MCP_LOG_LEVEL": "DEBUG"}
    async with stdio_session(tmp_path, transcript, env=env) as client:
        _, error = await client.call("execute_operation", {"operation_id": "QueryChannels"})
        assert not error
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    calls = [r for r in records if r["operation"] == "QueryChannels" and r.get("call_id")]
    assert calls, records
    call_id = calls[-1]["call_id"]
    assert len(call_id) >= 8
    lines = [json.loads(line) for line in transcript.logs().splitlines() if line.startswith("{")]
    tagged = [line for line in lines if line.get("call_id") == call_id]
    # The audit line and at least one other line (the auth decision) carry it.
    assert {line["event"] for line in tagged} >= {"execution", "auth_decision"}, tagged
    transcript.assert_no_leaks()


async def test_refused_input_reaches_the_audit_record_bounded(tmp_path):
    """A refused user id or operation id is recorded as given, but cut short: an agent
    sending megabytes of 'user id' must not write megabytes of log or audit."""
    transcript = Transcript(new_secret())
    audit = tmp_path / "audit.jsonl"
    env = {"STREAM_MCP_AUDIT_LOG": str(audit)}
    huge = "u" * 200_000
    async with stdio_session(tmp_path, transcript, env=env) as client:
        for arguments in (
            {"operation_id": "QueryChannels", "as_user": huge},
            {"operation_id": "QueryChannels", "as_user": {"id": huge}},
            {"operation_id": "Query" + huge},
        ):
            payload, error = await client.call("execute_operation", arguments)
            assert error, payload
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(records) == 3
    assert records[0]["acting_user"].endswith("... (200000 characters)")
    assert records[1]["acting_user"] == "<dict>"
    assert records[2]["operation"].endswith("... (200005 characters)")
    assert max(len(line) for line in audit.read_text().splitlines()) < 1_000
    assert huge not in transcript.logs()
