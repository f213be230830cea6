"""Start-up stays cheap: commands import only what they use, the search index comes compiled
and is built on first use, and nothing looks for the keyring before a vault needs it."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stream_mcp.catalog._build import ARTIFACT, SPEC_DIR, Catalog, load_catalog
from stream_mcp.cli import COMMANDS, chosen_command, main
from stream_mcp.config import Settings
from stream_mcp.search import SearchIndex, _compiled, compile_index
from stream_mcp.search._index import build_postings
from stream_mcp.vault import KeySource, VaultFile, generate_key, open_credentials

ROOT = Path(__file__).resolve().parents[1]
SERVER_STACK = ("mcp", "httpx2", "jsonschema")
SECRET = "startup-test-secret-0123456789abcdef"

# Runs one command in a fresh interpreter and reports the modules it loaded.
PROBE = """
import contextlib, io, json, sys
from stream_mcp.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:  # argparse exits for --help
        code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules), "stderr": err.getvalue()}))
"""


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This environment without any STREAM_* setting, a vault path that does not exist yet,
    and keyring's ``fail`` backend, so that nothing reaches a real keyring."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAM_")}
    env["STREAM_MCP_VAULT_PATH"] = str(tmp_path / "vault.json")
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return {**env, **extra}


def _python(code: str, *args: str, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def _loaded(modules: list[str], roots: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in roots or m in roots)


# --------------------------------------------------------------------------- imports


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["ops"],
        ["ops", "--json"],
        ["describe", "SendMessage"],
        ["search", "ban", "bob"],
        ["search"],
        ["vault", "list"],
        ["vault", "--help"],
    ],
    ids=" ".join,
)
def test_commands_that_do_not_serve_load_no_server_stack(argv: list[str], tmp_path: Path) -> None:
    report = _python(PROBE, *argv, env=_clean_env(tmp_path))
    assert report["code"] in (0, 2), report["stderr"]
    assert _loaded(report["modules"], SERVER_STACK) == []
    if argv[0] in ("ops", "describe", "search"):  # the compiled catalog needs no YAML
        assert _loaded(report["modules"], ("yaml",)) == []


def test_vault_list_needs_no_keyring_when_the_key_is_in_the_environment(tmp_path: Path) -> None:
    key = generate_key()
    vault = VaultFile(tmp_path / "vault.json", KeySource(vault_key=key, keyring_backend=None))
    vault.init()
    vault.put_profile("prod", api_key="prodkey", secret=SECRET)
    env = _clean_env(tmp_path, STREAM_MCP_VAULT_KEY=key)
    report = _python(PROBE, "vault", "list", "--json", env=env)
    assert report["code"] == 0, report["stderr"]
    assert _loaded(report["modules"], ("keyring", *SERVER_STACK)) == []


def test_environment_credentials_load_neither_keyring_nor_the_vault_file(tmp_path: Path) -> None:
    code = """
import json, sys
from stream_mcp.config import Settings
from stream_mcp.vault import open_credentials
credentials = open_credentials(Settings())
print(json.dumps({"profile": credentials.profile_name, "modules": sorted(sys.modules)}))
"""
    env = _clean_env(
        tmp_path,
        STREAM_API_KEY="envkey",
        STREAM_API_SECRET=SECRET,
        STREAM_BASE_URL="http://127.0.0.1:9",
    )
    report = _python(code, env=env)
    assert report["profile"] == "env"
    assert _loaded(report["modules"], ("keyring",)) == []
    assert "stream_mcp.vault._file" not in report["modules"]


def test_the_index_is_built_on_the_first_search_not_before(tmp_path: Path) -> None:
    code = """
import json, sys
from stream_mcp.catalog import load_catalog
from stream_mcp.search import SearchIndex
index = SearchIndex.from_catalog(load_catalog())
before = "stream_mcp.search._index" in sys.modules
top = index.search("ban a user").hits[0].operation_id
print(json.dumps({"before": before, "after": "stream_mcp.search._index" in sys.modules,
                  "top": top}))
"""
    report = _python(code, env=_clean_env(tmp_path))
    assert report == {"before": False, "after": True, "top": "ban"}


@pytest.mark.parametrize("mode", ["discovery", "static"])
async def test_listing_the_tools_builds_the_index_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Discovery: shortly after the first tools/list the index is built off the event loop,
    so the agent's first search finds it ready. Static mode has no search: nothing is built."""
    import anyio
    from mcp import Client

    from stream_mcp.runtime import embedded_sandbox, open_service
    from stream_mcp.server import build_server

    monkeypatch.setenv("STREAM_API_KEY", "warm-key")
    monkeypatch.setenv("STREAM_API_SECRET", "warm-secret-0123456789abcdef0123")
    settings = Settings(data_dir=tmp_path)
    with embedded_sandbox(settings, ":memory:") as handle:
        async with open_service(settings, handle.credentials) as service:
            server = build_server(service, mode=mode)  # type: ignore[arg-type]
            assert not service.search_ready  # building the server builds nothing
            async with Client(server) as client:
                await client.list_tools()
                # The warm-up starts 50 ms after the listing and takes well under a second;
                # static mode is given twenty times that delay to show it starts nothing.
                with anyio.move_on_after(1 if mode == "static" else 10):
                    while not service.search_ready:
                        await anyio.sleep(0.02)
                if mode == "static":
                    assert not service.search_ready
                    return
                assert service.search_ready
                found = await client.call_tool("search_operations", {"query": "ban a user"})
                assert not found.is_error
                hits = (found.structured_content or {})["hits"]
                assert hits[0]["operation_id"] == "ban"


# --------------------------------------------------------------------------- the command line


def test_the_static_command_table_matches_what_the_modules_register() -> None:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    for module in dict.fromkeys(c.module for c in COMMANDS):
        importlib.import_module(module).register(subparsers)
    registered = [(a.dest, a.help) for a in subparsers._choices_actions]
    assert registered == [(c.name, c.help) for c in COMMANDS]


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    for command in COMMANDS:
        assert any(line.split()[:1] == [command.name] and command.help in line for line in lines)


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_each_command_has_its_own_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert f"usage: stream-mcp {command}" in capsys.readouterr().out


def test_a_misspelt_command_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["opz"])
    assert exited.value.code == 2
    assert "invalid choice: 'opz'" in capsys.readouterr().err


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_the_command_is_the_first_word_that_is_not_an_option() -> None:
    assert chosen_command(["--version"]) is None
    assert chosen_command(["-h", "vault", "list"]) == "vault"
    assert chosen_command(["search", "--json", "ops"]) == "search"


# --------------------------------------------------------------------------- compiled index


def test_compiled_search_index_is_fresh() -> None:
    """Editing tool_specs/ or stream_mcp/search/ without recompiling fails here. The learnt
    corrections are not retrained (that takes seconds): they must have been trained on
    today's examples, and the code that trained them is in the section's code digest."""
    from stream_mcp.search._training import examples_digest

    catalog = load_catalog(SPEC_DIR)
    stored = dict(json.loads(ARTIFACT.read_text(encoding="utf-8")).get("search"))
    learned = stored.pop("learned", {})
    stale = "the compiled search index is stale: run python scripts/compile_catalog.py"
    assert stored == compile_index(catalog, learn=False), stale
    assert learned.get("trained_on") == examples_digest(op.examples for op in catalog), stale


def test_the_compiled_postings_are_exactly_the_computed_ones() -> None:
    catalog = load_catalog()
    decoded = _compiled.decode(catalog.operations, catalog.precomputed["search"])
    assert decoded == build_postings(catalog)  # same terms, documents and float scores


def test_the_compiled_operation_facts_are_exactly_the_derived_ones() -> None:
    from stream_mcp.search._index import _Engine, operation_facts

    catalog = load_catalog()
    section = catalog.precomputed["search"]
    postings = build_postings(catalog)
    cues = _compiled.decode_cues(section)
    stored = _compiled.decode_facts(catalog.operations, section)
    assert stored == operation_facts(catalog, postings, cues)
    # and an engine reading them ranks exactly as one deriving them
    with_facts, derived = _Engine(catalog, postings, cues, stored), _Engine(catalog, postings, cues)
    for query in ("ban bob for a day", "who reacted to msg-9?", "rm the old blocklists"):
        assert with_facts.search(query, 10).to_dict() == derived.search(query, 10).to_dict()
    # and they are what the engine uses: altered facts give an altered engine
    altered = {**stored, "bulk": [True] * len(catalog.operations)}
    assert all(_Engine(catalog, postings, cues, altered)._bulk)
    assert not all(derived._bulk)


def test_stale_or_malformed_facts_are_refused() -> None:
    from stream_mcp.search._index import _Facts

    catalog = load_catalog()
    data = dict(catalog.precomputed["search"])
    assert _compiled.decode_facts(catalog.operations, data) is not None
    assert _compiled.decode_facts(catalog.operations, {**data, "code": "0" * 64}) is None
    assert _compiled.decode_facts(reversed(list(catalog.operations)), data) is None
    facts = dict(data["facts"])
    count = len(catalog.operations)
    assert _Facts.from_json(facts, count) is not None
    assert _Facts.from_json({**facts, "bulk": [1] * count}, count) is None
    assert _Facts.from_json({**facts, "actions": [[0]] * count}, count) is None
    assert _Facts.from_json({k: v for k, v in facts.items() if k != "denies"}, count) is None
    assert _Facts.from_json(facts, count + 1) is None


def test_stale_postings_are_refused() -> None:
    catalog = load_catalog()
    data = dict(catalog.precomputed["search"])
    assert _compiled.decode(catalog.operations, {**data, "code": "0" * 64}) is None
    assert _compiled.decode(reversed(list(catalog.operations)), data) is None
    assert _compiled.decode(catalog.operations, {**data, "format": 0}) is None
    assert _compiled.decode(catalog.operations, {**data, "scores": "not base64!"}) is None
    assert _compiled.decode(catalog.operations, None) is None


def test_a_code_change_changes_the_digest(tmp_path: Path) -> None:
    for name in ("_text.py", "_index.py"):
        (tmp_path / name).write_text("x = 1\n")
    before = _compiled.code_digest(tmp_path)
    (tmp_path / "_text.py").write_text("x = 2\n")
    assert _compiled.code_digest(tmp_path) != before


def test_a_catalog_without_fitting_postings_builds_its_own() -> None:
    catalog = load_catalog()
    ops = dict(reversed(list(catalog.operations.items())))
    reordered = Catalog(ops, catalog.components, precomputed=catalog.precomputed)
    spec = load_catalog(SPEC_DIR)
    assert not spec.precomputed
    # One index per catalog (each builds its postings on its first search), three queries.
    compiled, rebuilt, built = (SearchIndex.from_catalog(c) for c in (catalog, reordered, spec))
    for query in ("ban a user", "start a DM with bob", "delete a message"):
        expected = compiled.search(query).hits[0].operation_id
        assert rebuilt.search(query).hits[0].operation_id == expected
        assert built.search(query).hits[0].operation_id == expected


# --------------------------------------------------------------------------- keyring


class _Probe:
    """Stands in for ``keyring.get_keyring`` and counts the calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Any:
        from keyring.backends import fail

        self.calls += 1
        return fail.Keyring()


def test_the_keyring_is_looked_for_only_when_a_key_may_come_from_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import keyring

    probe = _Probe()
    monkeypatch.setattr(keyring, "get_keyring", probe)
    source = KeySource.from_environment()
    assert "keyring=detect" in repr(source) and probe.calls == 0
    assert source._keyring is None  # the fail backend is not usable
    assert source._keyring is None and probe.calls == 1


def test_no_vault_file_means_no_keyring_probe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import keyring

    probe = _Probe()
    monkeypatch.setattr(keyring, "get_keyring", probe)
    for name in list(os.environ):
        if name.startswith(("STREAM_API_", "STREAM_BASE_URL", "STREAM_MCP_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("STREAM_API_KEY", "envkey")
    monkeypatch.setenv("STREAM_API_SECRET", SECRET)
    credentials = open_credentials(Settings(vault_path=tmp_path / "none.json"))
    assert credentials.profile_name == "env" and probe.calls == 0
