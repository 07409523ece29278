"""``globmed translate`` against a server that echoes the Authorization header across the 300-character
cut of error texts: no 8-character piece of the key reaches any file or stderr; the exit status and the
summary tell success, partial failure and total failure apart."""

from __future__ import annotations

import sqlite3

from chat_server import ChatServer
from conftest import run_cli
from translate_fixtures import API_KEY, english_rows, write_config, write_english

from globmed.http_json import DETAIL_CHARS, MIN_SECRET_RUN
from globmed.schema import Entry
from globmed.sources.base import get_source


def key_pieces(data: bytes) -> list[str]:
    return [API_KEY[i:i + MIN_SECRET_RUN] for i in range(len(API_KEY) - MIN_SECRET_RUN + 1)
            if API_KEY[i:i + MIN_SECRET_RUN].encode() in data]


def run_translate(tmp_path, server, name: str):
    cfg = write_config(tmp_path / f"{name}.yaml", server.url, tmp_path / f"{name}.sqlite", max_retries=1)
    return run_cli("-v", "translate", "--config", str(cfg), "--source", f"demo={tmp_path / 'src'}", "--to", "wo",
                   "--out", str(tmp_path / name), "--no-progress", env={"GLOBMED_TEST_API_KEY": API_KEY},
                   check=False)


def test_echoed_key_is_redacted_at_every_offset_and_partial_failure_exits_3(tmp_path):
    header = len("Bearer ")
    offsets = list(range(DETAIL_CHARS - header - len(API_KEY) - 2, DETAIL_CHARS + 2))
    write_english(tmp_path / "src", len(offsets))
    questions = [r["question"] for r in english_rows(len(offsets)) if r["kind"] == "mcq"]
    with ChatServer() as server:
        for offset, question in zip(offsets, questions, strict=False):  # two tries each; the nli/ynm rows pass
            server.plan(question, f"500@{offset}", f"500@{offset}")
        proc = run_translate(tmp_path, server, "some")
        assert len(server.auth_headers) == 2 * len(offsets) + 2
    assert proc.returncode == 3, proc.stderr
    assert f"{len(offsets)} of {len(offsets) + 2} translations failed" in proc.stdout
    assert "retry 1 in" in proc.stderr  # the first tries' messages went to the log
    for data, where in [(proc.stderr.encode(), "stderr"), (proc.stdout.encode(), "stdout"),
                        *((p.read_bytes(), str(p)) for p in tmp_path.rglob("*") if p.is_file())]:
        assert not key_pieces(data), f"a piece of the API key reached {where}"
    rejects = (tmp_path / "some" / "rejects.jsonl").read_text()
    assert rejects.count("HTTP 500") == len(offsets) and "Bearer [REDAC" in rejects
    with sqlite3.connect(tmp_path / "some.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM failures").fetchone()[0] == len(offsets)


def test_all_failed_exits_4_and_none_failed_exits_0(tmp_path):
    write_english(tmp_path / "src", 2)
    rows = [e for e in get_source("demo").read(tmp_path / "src", {"en"}) if isinstance(e, Entry)]
    with ChatServer() as server:
        for row in rows:
            server.plan(row.question, "500@0", "500@0")
        proc = run_translate(tmp_path, server, "none")
        assert proc.returncode == 4, proc.stderr
        assert f"{len(rows)} of {len(rows)} translations failed" in proc.stdout
        again = run_translate(tmp_path, server, "none")  # the same cache: only the failures are asked again
    assert again.returncode == 0, again.stderr
    assert f"0 of {len(rows)} translations failed" in again.stdout
