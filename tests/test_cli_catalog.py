"""`stream-mcp ops` and `describe`, driven through the CLI entry point."""

from __future__ import annotations

import json

from stream_mcp.cli import main
from tests.conftest import operation_lists, read_operation_list

REQUIRED_KEYS = {
    "operation_id",
    "method",
    "path",
    "user_token",
    "read_only",
    "destructive",
    "idempotent",
}


def test_ops_json_lists_every_operation_with_its_flags(capsys):
    assert main(["ops", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 247
    assert all(row.keys() >= REQUIRED_KEYS for row in rows)
    by_id = {row["operation_id"]: row for row in rows}
    for path in operation_lists("v2"):
        listed = {
            op_id: (r["method"], r["path"], r["user_token"] == "yes")
            for op_id, r in read_operation_list(path).items()
        }
        ours = {i: (r["method"], r["path"], r["user_token"]) for i, r in by_id.items()}
        assert ours == listed, path
    assert by_id["QueryChannels"]["read_only"] and by_id["QueryChannels"]["method"] == "POST"
    assert by_id["DeleteChannel"]["destructive"]


def test_ops_table_is_readable(capsys):
    assert main(["ops"]) == 0
    out = capsys.readouterr().out
    assert "SendMessage" in out and "247 operations" in out


def test_describe_one_operation_in_both_details(capsys):
    assert main(["describe", "SendMessage", "--json"]) == 0
    brief = json.loads(capsys.readouterr().out)
    assert brief["operation_id"] == "SendMessage" and brief["detail"] == "brief"
    assert brief["input_schema"]["type"] == "object"
    assert main(["describe", "SendMessage", "--json", "--detail", "full"]) == 0
    full = json.loads(capsys.readouterr().out)
    assert len(json.dumps(full["input_schema"])) > len(json.dumps(brief["input_schema"]))
    assert main(["describe", "SendMessage"]) == 0
    assert "input_schema:" in capsys.readouterr().out


def test_describe_all_returns_an_array(capsys):
    assert main(["describe", "--all", "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert len(described) == 247
    assert all("input_schema" in d for d in described)


def test_bad_input_gets_a_one_line_error(capsys, tmp_path):
    assert main(["describe", "SendMesage"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown operation_id") and "SendMessage" in err
    assert err.count("\n") == 1
    assert main(["describe"]) == 2
    assert "exactly one of OPERATION_ID or --all" in capsys.readouterr().err
    broken = tmp_path / "spec.json"
    broken.write_text('{"paths": ')
    assert main(["ops", "--spec", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "not valid JSON or YAML" in err and "Traceback" not in err
