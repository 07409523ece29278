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
