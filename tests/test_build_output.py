"""Issue 13, points 1 and 6: ``build --out`` replaces only what a build wrote, refuses folders that hold
anything else (naming the files), and cleans up after killed builds (recovering ``--out`` when a kill
fell between the two renames)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, mcq_row, run_cli, write_jsonl

from globmed.build import BuildOptions, build
from globmed.build_output import MANIFEST_FILE, MARKER_FILE, clean_leftovers
from globmed.errors import GlobmedError
from globmed.sources.base import SourceSpec


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def demo(out: Path, **kw) -> dict:
    return build(BuildOptions(out=out, sources=[SourceSpec("demo")], langs=["en"], profile=None, progress=False,
                              workers=1, **kw))


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_a_folder_with_a_stray_build_report_is_refused_and_the_users_file_kept(tmp_path):
    out = tmp_path / "P"
    out.mkdir()
    (out / "build_report.json").write_text("{}")
    (out / "thesis.tex").write_text("important")
    proc = run_cli("build", "--langs", "en", "--source", "demo", "--out", str(out), "--no-progress", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "not a globmed build" in proc.stderr and "thesis.tex" in proc.stderr
    assert tree(out) == {"build_report.json": b"{}", "thesis.tex": b"important"}
    assert beside(out) == []


def test_files_added_to_a_build_are_named_and_kept_and_the_build_left_as_it_was(tmp_path):
    out = tmp_path / "out"
    demo(out)
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert {"README.md", "build_report.json", "rejects.jsonl"} <= set(manifest["files"])
    assert all(rel in manifest["files"] for rel in tree(out) if rel != MANIFEST_FILE)
    (out / "analysis.ipynb").write_text("{}")
    (out / "data" / "en" / "notes.md").write_text("mine")
    before = tree(out)
    with pytest.raises(GlobmedError) as err:
        demo(out)
    assert "analysis.ipynb" in str(err.value) and "data/en/notes.md" in str(err.value)
    assert "another --out" in str(err.value)
    assert tree(out) == before and beside(out) == []


def test_a_previous_build_is_replaced_whole_and_nothing_is_left_beside_it(tmp_path):
    out = tmp_path / "out"
    demo(out, shard_rows=5)
    many = {rel for rel in tree(out) if rel.endswith(".parquet")}
    demo(out)  # fewer shards: the old ones must go
    now = {rel for rel in tree(out) if rel.endswith(".parquet")}
    assert len(now) < len(many) and not (many - now) & set(tree(out))
    assert set(json.loads((out / MANIFEST_FILE).read_text())["files"]) | {MANIFEST_FILE} == set(tree(out))
    assert beside(out) == [] and not (out / MARKER_FILE).exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    demo(empty)
    assert (empty / "build_report.json").exists()


def test_a_changed_build_file_needs_force_and_a_pre_manifest_build_is_accepted(tmp_path):
    out = tmp_path / "out"
    demo(out)
    (out / "README.md").write_text("my own card")
    with pytest.raises(GlobmedError, match="changed since it was written: README.md.*--force"):
        demo(out)
    assert (out / "README.md").read_text() == "my own card"
    demo(out, force=True)
    assert (out / "README.md").read_text() != "my own card"
    (out / MANIFEST_FILE).unlink()  # a build made before manifests: every file is one it lists
    demo(out)
    assert (out / MANIFEST_FILE).exists()
    (out / MANIFEST_FILE).unlink()
    (out / "extra.txt").write_text("x")
    with pytest.raises(GlobmedError, match="did not write: extra.txt"):
        demo(out)


def test_places_a_build_must_never_replace(tmp_path, monkeypatch):
    src = write_jsonl(tmp_path / "src" / "en.jsonl", [mcq_row("a1")])
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    work = tmp_path / "work" / "sub"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    cases = [(a_file, "not a folder"), (Path("/"), "filesystem root"), (home, "home folder"),
             (Path("."), "holds the current folder"), (tmp_path / "work", "holds the current folder"),
             (src.parent / "built", "inside the source folder")]
    for out, message in cases:
        with pytest.raises(GlobmedError, match=message):
            build(BuildOptions(out=out, sources=[SourceSpec("demo", src.parent)], langs=["en"], profile=None,
                               progress=False))
    assert not (src.parent / "built").exists() and sorted(p.name for p in src.parent.iterdir()) == ["en.jsonl"]
    assert a_file.read_text() == "x" and list(work.iterdir()) == []


def test_leftovers_of_dead_builds_go_and_a_missing_out_comes_back(tmp_path):
    out = tmp_path / "out"
    demo(out)
    before = tree(out)
    pid = dead_pid()
    # killed between the two renames: the old build sits in .out.old-PID, the new one in .out.building-PID
    out.rename(tmp_path / f".out.old-{pid}")
    shutil.copytree(tmp_path / f".out.old-{pid}", tmp_path / f".out.building-{pid}")
    (tmp_path / f".out.building-{pid}" / MARKER_FILE).write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
    stranger = tmp_path / f".out.building-{pid + 1}"  # not ours (no marker): left alone
    stranger.mkdir()
    (stranger / "keep.txt").write_text("k")
    alive = tmp_path / f".out.building-{os.getpid()}"  # a running build's folder: left alone
    alive.mkdir()
    (alive / MARKER_FILE).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    done = clean_leftovers(out)
    assert f"recovered {out} from .out.old-{pid}" in done
    assert tree(out) == before
    assert beside(out) == sorted([stranger.name, alive.name])
    shutil.rmtree(alive)
    # an old build beside a present --out is removed file by file; one holding a stranger's file stays
    pid2 = dead_pid()
    shutil.copytree(out, tmp_path / f".out.old-{pid2}")
    shutil.copytree(out, tmp_path / f".out.old-{pid2 + 1}")
    (tmp_path / f".out.old-{pid2 + 1}" / "mine.txt").write_text("m")
    if pid2 + 1 == os.getpid():
        pytest.skip("pid collision")
    clean_leftovers(out)
    assert beside(out) == sorted([stranger.name, f".out.old-{pid2 + 1}"])
    assert tree(tmp_path / f".out.old-{pid2 + 1}") == {**before, "mine.txt": b"m"}


KILL_AT_RENAME = """
import os, pathlib, signal, sys
from globmed.cli import main
rename = pathlib.Path.rename
def killing_rename(self, target):
    result = rename(self, target)
    if ".old-" in str(target):
        os.kill(os.getpid(), signal.SIGKILL)  # killed right after the first of the two renames
    return result
pathlib.Path.rename = killing_rename
sys.exit(main(sys.argv[1:]))
"""


def test_a_build_killed_between_its_renames_leaves_out_recoverable(tmp_path):
    out = tmp_path / "out"
    demo(out)
    before = tree(out)
    args = ["build", "--langs", "en", "--source", "demo", "--out", str(out), "--no-progress", "--no-quality",
            "--workers", "1"]
    proc = subprocess.run([sys.executable, "-c", KILL_AT_RENAME, *args], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not out.exists() and len(beside(out)) == 2  # .out.old-PID and .out.building-PID
    run_cli(*args)  # the next build recovers the old one, removes the leftovers and replaces it
    assert beside(out) == [] and set(tree(out)) == set(before)


def test_a_build_killed_while_writing_leaves_the_previous_build_and_the_next_run_cleans_up(tmp_path):
    src = tmp_path / "src"
    write_jsonl(src / "en.jsonl", [mcq_row(f"q{i}") for i in range(5_000)])
    out = tmp_path / "out"
    demo(out)
    before = tree(out)
    args = ["build", "--langs", "en", "--source", f"demo={src}", "--out", str(out), "--no-progress", "--no-quality",
            "--workers", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "globmed", *args], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not beside(out) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert tree(out) == before, "a killed build never touches the previous one"
    assert beside(out) == [f".out.building-{proc.pid}"]
    run_cli(*args)
    assert beside(out) == [] and (out / "build_report.json").exists()
    assert json.loads((out / "build_report.json").read_text())["counts"]["total"] == 5_000


def test_a_file_added_to_out_while_the_build_runs_keeps_both(tmp_path, monkeypatch):
    import globmed.build

    out = tmp_path / "out"
    demo(out)
    before = tree(out)
    real = globmed.build._build_into

    def build_then_user_writes(tmp, *args, **kwargs):
        report = real(tmp, *args, **kwargs)
        (out / "draft.md").write_text("written during the build")
        return report

    monkeypatch.setattr(globmed.build, "_build_into", build_then_user_writes)
    with pytest.raises(GlobmedError, match=r"did not write: draft.md.*The new build is kept in .*out\.new-") as err:
        demo(out)
    assert tree(out) == {**before, "draft.md": b"written during the build"}
    kept = Path(str(err.value).rsplit("kept in ", 1)[1])
    assert (kept / "build_report.json").exists() and not (kept / MARKER_FILE).exists()
    assert beside(out) == []
