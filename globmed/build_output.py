"""How ``globmed build`` puts its folder in place without losing anything that is not its own.

A build is written into ``.<name>.building-<pid>`` beside ``--out`` (with a marker file saying which
process on which host made it), then a manifest of every file it wrote (:data:`MANIFEST_FILE`: path,
size, SHA-256) is added and the folder is swapped in: ``--out`` is renamed to ``.<name>.old-<pid>``,
the new folder to ``--out``, and the old build's files (those in its manifest, nothing else) are
deleted.

``--out`` is replaced only when it is missing, empty, or a previous build that holds nothing but the
files its manifest lists (a build made before manifests existed counts when every file in it is one
its ``build_report.json`` lists, or its card, report or rejects). Anything else, a user's notes or a
notebook in a build folder, makes the build refuse before it starts, naming those files. A file of the
previous build that was changed since (its size or hash differ) also makes it refuse, unless
``force``.

A killed build leaves its ``.building-<pid>`` folder (and, killed between the two renames,
``.old-<pid>`` with no ``--out``). The next build beside the same ``--out`` removes the leftovers of
processes no longer alive (``.building`` ones only when their marker names this host; ``.old`` ones
file by file, as a previous build) and renames ``.old-<pid>`` back to ``--out`` when ``--out``
is missing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import socket
from pathlib import Path

from globmed.errors import GlobmedError

MANIFEST_FILE = ".globmed-build.json"
MARKER_FILE = ".globmed-building"
LEGACY_FILES = ("README.md", "build_report.json", "rejects.jsonl")
"""What a build wrote besides its Parquet files before the manifest existed."""
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>building|old)-(?P<pid>\d+)$")
_SHOWN = 10

log = logging.getLogger(__name__)


def check_out(out: Path, source_paths: list[Path | None], force: bool = False) -> Path:
    """``out`` resolved, after refusing the places a build must never replace; then leftovers of
    killed builds beside it are cleaned up and a previous build in it is checked (see the module)."""
    out = Path(out).expanduser().resolve()
    cwd = Path.cwd().resolve()
    if out.parent == out or out == Path.home().resolve():
        raise GlobmedError(f"--out {out}: a filesystem root or the home folder cannot be a build folder")
    if cwd == out or cwd.is_relative_to(out):
        raise GlobmedError(f"--out {out}: it holds the current folder ({cwd}); choose a new folder for the build")
    if out.exists() and not out.is_dir():
        raise GlobmedError(f"--out {out}: exists and is not a folder")
    for src in source_paths:
        if src is not None and Path(src).expanduser().resolve().is_dir() and \
                out.is_relative_to(Path(src).expanduser().resolve()):
            raise GlobmedError(f"--out {out}: inside the source folder {src}; a build must not write "
                               "among its own inputs")
    clean_leftovers(out)
    previous_files(out, force, hashes=False)  # fail fast; the hashes are compared at the swap
    return out


def new_work_folder(out: Path) -> Path:
    """``.<name>.building-<pid>`` beside ``out``, empty, with the marker that makes it ours."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.building-{os.getpid()}"
    if tmp.exists():  # a leftover of an earlier process with this pid: ours only if marked
        if not _is_ours(tmp):
            raise GlobmedError(f"{tmp}: exists and was not made by globmed build; move it away")
        shutil.rmtree(tmp)
    tmp.mkdir()
    (tmp / MARKER_FILE).write_text(json.dumps(_whoami()) + "\n", encoding="utf-8")
    return tmp


def put_in_place(tmp: Path, out: Path, force: bool = False) -> None:
    """Write ``tmp``'s manifest and swap it in for ``out`` (checked again: the build took a while)."""
    write_manifest(tmp)
    try:
        old_files = previous_files(out, force)
    except GlobmedError as exc:  # files appeared in --out while the build ran: keep the new build aside
        kept = out.parent / f"{out.name}.new-{os.getpid()}"
        tmp.rename(kept)
        (kept / MARKER_FILE).unlink(missing_ok=True)
        raise GlobmedError(f"{exc}. The new build is kept in {kept}") from None
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
    tmp.rename(out)
    (out / MARKER_FILE).unlink(missing_ok=True)
    if old is not None:
        remove_build(old, old_files)


def write_manifest(folder: Path) -> dict:
    files = {}
    for path in sorted(p for p in _walk(folder) if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(folder).as_posix()
        if rel not in (MANIFEST_FILE, MARKER_FILE):
            files[rel] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    manifest = {"globmed_build": 1, "files": files}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def previous_files(out: Path, force: bool = False, hashes: bool = True) -> list[str]:
    """The files of the previous build in ``out`` (relative paths) that replacing it deletes; raises
    when ``out`` holds anything else, or (unless ``force``) a build file changed since (its size
    differs, or with ``hashes`` its SHA-256)."""
    if not out.is_dir():
        return []
    present = {p.relative_to(out).as_posix(): p for p in _walk(out)}
    if not present:
        return []
    expected = _expected_files(out)
    if expected is None:
        raise GlobmedError(f"--out {out}: the folder is not empty and is not a globmed build; refusing to "
                           f"replace it. It holds {_names(sorted(present))}. Choose another --out, or empty it")
    dirs = {parent.as_posix() for rel in expected for parent in Path(rel).parents if parent != Path(".")}
    foreign = sorted(rel for rel, p in present.items()
                     if rel not in expected and not (p.is_dir() and not p.is_symlink() and rel in dirs))
    if foreign:
        raise GlobmedError(f"--out {out}: holds files the previous build did not write: {_names(foreign)}; "
                           "refusing to replace it. Choose another --out, or move those files away")
    changed = sorted(rel for rel, want in expected.items()
                     if rel in present and not force and not _matches(present[rel], want, hashes))
    if changed and not force:
        raise GlobmedError(f"--out {out}: files of the previous build were changed since it was written: "
                           f"{_names(changed)}; refusing to replace them (--force replaces them anyway)")
    return [rel for rel in expected if rel in present]


def remove_build(folder: Path, files: list[str]) -> bool:
    """Delete ``files`` (relative to ``folder``), then the folders they leave empty; ``False``, with a
    warning, when something else is left (a file added while the build ran stays where it is)."""
    for rel in files:
        (folder / rel).unlink(missing_ok=True)
    for path in sorted((p for p in _walk(folder) if p.is_dir() and not p.is_symlink()),
                       key=lambda p: len(p.parts), reverse=True):
        if not any(path.iterdir()):
            path.rmdir()
    if any(folder.iterdir()):
        log.warning("%s: kept, it holds files that are not the old build's: %s", folder,
                    _names(sorted(p.relative_to(folder).as_posix() for p in _walk(folder))))
        return False
    folder.rmdir()
    return True


def clean_leftovers(out: Path) -> list[str]:
    """Remove what killed builds of ``out`` left beside it, and bring back ``out`` from
    ``.<name>.old-<pid>`` when a build was killed between its two renames. Returns what was done."""
    done: list[str] = []
    if not out.parent.is_dir():
        return done
    leftovers = []
    for path in out.parent.iterdir():
        m = _LEFTOVER.match(path.name)
        if m and m["name"] == out.name and path.is_dir() and not path.is_symlink() and not pid_alive(int(m["pid"])):
            leftovers.append((m["kind"], path))
    olds = sorted((p for kind, p in leftovers if kind == "old"), key=lambda p: p.stat().st_mtime, reverse=True)
    if olds and not out.exists() and _expected_files(olds[0]) is not None:
        olds[0].rename(out)
        done.append(f"recovered {out} from {olds[0].name}")
        log.warning("%s was missing (a build was killed while replacing it): recovered from %s", out, olds[0].name)
        olds = olds[1:]
    for kind, path in leftovers:
        if kind == "building" and _is_ours(path):
            shutil.rmtree(path)
            done.append(f"removed {path.name}")
    for path in olds:
        try:
            files = previous_files(path)
        except GlobmedError:
            log.warning("%s: left in place, it holds files no build wrote", path)
            continue
        if files and remove_build(path, files):
            done.append(f"removed {path.name}")
    return done


def _expected_files(folder: Path) -> dict[str, dict | None] | None:
    """``{relative path: {"size", "sha256"} | None}`` of the build in ``folder`` (manifest, itself
    included, or a pre-manifest build's report), or ``None`` when ``folder`` is not a build."""
    manifest = folder / MANIFEST_FILE
    if manifest.is_file():
        try:
            files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        except (ValueError, KeyError, TypeError):
            return None
        return {**{rel: want for rel, want in files.items() if isinstance(want, dict)}, MANIFEST_FILE: None,
                MARKER_FILE: None}
    try:
        report = json.loads((folder / LEGACY_FILES[1]).read_text(encoding="utf-8"))
        listed = {f["path"]: {"sha256": f["sha256"]} for f in report["files"]}
        report["globmed_version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {**{name: None for name in LEGACY_FILES}, **listed}


def _walk(folder: Path) -> list[Path]:
    """Every file, folder and link under ``folder`` (links are listed, not followed)."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        found += [Path(root, name) for name in (*dirs, *files)]
    return found


def _matches(path: Path, want: dict | None, hashes: bool = True) -> bool:
    if want is None:
        return True
    if "size" in want and path.stat().st_size != want["size"]:
        return False
    return not hashes or _sha256(path) == want["sha256"]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _whoami() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname()}


def _is_ours(folder: Path) -> bool:
    """Made by a build on this host: carries the marker (written first, removed once in place); a
    folder holding nothing, or nothing but a marker (killed while writing it), has nothing to lose."""
    if {p.name for p in folder.iterdir()} <= {MARKER_FILE}:
        return True
    try:
        return json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))["host"] == socket.gethostname()
    except (OSError, ValueError, KeyError, TypeError):
        return False


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a recycled pid counts as alive: leftovers then wait)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _names(rels: list[str]) -> str:
    shown = ", ".join(rels[:_SHOWN])
    return shown + (f" (and {len(rels) - _SHOWN} more)" if len(rels) > _SHOWN else "")
