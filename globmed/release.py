"""Releases: gates first, then ONE atomic Hub commit.

``release_dataset`` and ``release_model`` (in :mod:`globmed.model_release`) share this
module's machinery:

- a :class:`CommitPlan` lists every file of the commit (path in the repo, size, where the
  bytes come from) and the README card before and after; ``--dry-run`` prints it and stops;
- the card's YAML front matter is merged with the card already on the Hub
  (:func:`merge_card_metadata`): ours wins for the keys the release computes
  (``configs``/``language``/``license`` for a dataset), theirs is kept for everything else,
  so metadata edited on the Hub is never wiped;
- :func:`push` creates the repo if needed and sends every file in one ``create_commit``.

Tokens are left to ``huggingface_hub``: ``HF_TOKEN`` or the login cache, read by
``huggingface_hub.get_token()`` and put in request headers by ``HfApi`` itself. globmed never
reads, prints, logs or writes the token; it only checks that one exists before a real upload.
"""

from __future__ import annotations

import difflib
import io
import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from globmed.errors import GlobmedError

Printer = Callable[[str], None]


@dataclass(frozen=True)
class PlannedFile:
    """One file of a commit: bytes from ``local`` (a file) or ``data`` (made by the release)."""

    path_in_repo: str
    local: Path | None = None
    data: bytes | None = None

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self.local.stat().st_size

    def operation(self):
        from huggingface_hub import CommitOperationAdd

        source = self.data if self.data is not None else str(self.local)
        return CommitOperationAdd(path_in_repo=self.path_in_repo, path_or_fileobj=source)


@dataclass
class CommitPlan:
    repo_id: str
    repo_type: str  # "dataset" | "model" | "space"
    files: list[PlannedFile]
    card_before: str | None
    card_after: str
    message: str
    revision: str | None = None
    private: bool = False
    notes: list[str] = field(default_factory=list)
    space_sdk: str | None = None  # a Space's SDK ("static"), which the Hub needs to create one

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def describe(self) -> str:
        """The exact commit, as ``--dry-run`` prints it."""
        lines = [f"commit plan: {self.repo_type} repo {self.repo_id} @ {self.revision or 'main'}"
                 f"{' (private)' if self.private else ''}: {len(self.files)} files, {_human(self.total_bytes)}",
                 f"message: {self.message}"]
        width = max(len(f.path_in_repo) for f in self.files)
        lines += [f"  {f.path_in_repo:<{width}}  {f.size:>12,} B" for f in self.files]
        lines += [f"note: {n}" for n in self.notes]
        diff = card_diff(self.card_before, self.card_after)
        lines.append("README.md diff against the Hub's card:" if self.card_before is not None
                     else "README.md diff (no card on the Hub, or the Hub was not reached):")
        lines.append(diff if diff else "  (no change)")
        return "\n".join(lines)


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def card_diff(before: str | None, after: str) -> str:
    return "".join(difflib.unified_diff((before or "").splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile="hub/README.md", tofile="release/README.md"))


# --- card front matter --------------------------------------------------------------------------

def split_card(text: str) -> tuple[dict[str, Any], str]:
    """(YAML metadata, body) of a card; a card without front matter has empty metadata."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            meta = yaml.safe_load(text[4:end]) or {}
            if not isinstance(meta, dict):
                raise GlobmedError("README.md: the YAML front matter is not a mapping")
            return meta, text[end + 5:].lstrip("\n")
    return {}, text


def join_card(meta: Mapping[str, Any], body: str) -> str:
    front = yaml.safe_dump(dict(meta), sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{front}---\n\n{body}"


def merge_card_metadata(ours: str, theirs: str | None, ours_wins: Sequence[str]) -> str:
    """Our card (body and computed metadata) with the Hub card's other metadata kept.

    Keys in ``ours_wins`` come from our card. Any other key the Hub card has keeps the Hub's
    value (someone edited it there on purpose); keys only we have are added. The body is ours:
    it is computed from the build report / bench results.
    """
    our_meta, body = split_card(ours)
    if theirs is None:
        return ours
    their_meta, _ = split_card(theirs)
    merged = dict(our_meta)
    for key, value in their_meta.items():
        if key not in ours_wins:
            merged[key] = value
    return join_card(merged, body)


# --- Hub ----------------------------------------------------------------------------------------

def hub_api(endpoint: str | None = None):
    """An ``HfApi``; its token is whatever huggingface_hub finds (HF_TOKEN env or login cache)."""
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint)


def require_token() -> None:
    """Fail early, with a clear message, when no token is configured. The token is not kept."""
    from huggingface_hub import get_token

    if not get_token():
        raise GlobmedError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (needed to upload; "
                           "use --dry-run to see the commit without one)")


def fetch_hub_card(api, repo_id: str, repo_type: str, revision: str | None,
                   for_upload: bool) -> tuple[str | None, str | None]:
    """(README.md on the Hub or None, a note when it could not be read).

    A missing repo or card is ``None``. When the Hub cannot be asked (offline mode, network
    error), a dry run goes on with a note, but an upload (``for_upload``) stops: uploading
    without the current card would wipe the metadata edited on the Hub."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if constants.HF_HUB_OFFLINE:
        if for_upload:
            raise GlobmedError("HF_HUB_OFFLINE is set: cannot upload (unset it, or use --dry-run)")
        return None, "HF_HUB_OFFLINE is set: the Hub's current card was not fetched (diff is against nothing)"
    with tempfile.TemporaryDirectory(prefix="globmed-card-") as tmp:
        try:
            path = api.hf_hub_download(repo_id, "README.md", repo_type=repo_type, revision=revision, cache_dir=tmp)
        except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError):
            return None, None
        except GatedRepoError as exc:
            raise GlobmedError(f"{repo_id}: no access to the repo's card ({type(exc).__name__})") from None
        except Exception as exc:  # network errors: a real upload must not guess the card
            if for_upload:
                raise GlobmedError(f"{repo_id}: could not read the Hub's current README.md to merge its metadata "
                                   f"({type(exc).__name__}: {exc}); nothing was uploaded") from None
            return None, f"the Hub's current card could not be read ({type(exc).__name__})"
        return Path(path).read_text(encoding="utf-8"), None


def publish(plan: CommitPlan, api, dry_run: bool, echo: Printer = print) -> CommitPlan:
    """Show the plan, then (unless ``dry_run``) push it in one commit: the last step of every release."""
    echo(plan.describe())
    if dry_run:
        echo("dry run: nothing was uploaded")
        return plan
    url = push(plan, api)
    echo(f"released {len(plan.files)} files in one commit: {url}")
    return plan


def push(plan: CommitPlan, api) -> str:
    """Create the repo if needed and send every planned file in ONE commit; returns its URL."""
    require_token()
    api.create_repo(plan.repo_id, repo_type=plan.repo_type, private=plan.private or None, exist_ok=True,
                    **({"space_sdk": plan.space_sdk} if plan.space_sdk else {}))
    if plan.revision:
        api.create_branch(plan.repo_id, repo_type=plan.repo_type, branch=plan.revision, exist_ok=True)
    info = api.create_commit(plan.repo_id, operations=[f.operation() for f in plan.files],
                             commit_message=plan.message, repo_type=plan.repo_type, revision=plan.revision)
    return info.commit_url


def json_bytes(obj: Any) -> bytes:
    buf = io.StringIO()
    json.dump(obj, buf, indent=2, ensure_ascii=False)
    return (buf.getvalue() + "\n").encode("utf-8")


@dataclass
class GateResult:
    name: str
    problems: list[str]
    skipped: str | None = None
    note: str | None = None
    """How the gate got its answer, when that is worth saying (shown after ok/FAILED)."""

    @property
    def ok(self) -> bool:
        return not self.problems


def raise_on_failures(kind: str, results: Sequence[GateResult]) -> None:
    failed = [r for r in results if r.problems]
    if failed:
        lines = [f"{kind} release stopped: {len(failed)} gate(s) failed; nothing was uploaded"]
        for r in failed:
            lines += [f"  [{r.name}] {p}" for p in r.problems[:20]]
            if len(r.problems) > 20:
                lines.append(f"  [{r.name}] ... and {len(r.problems) - 20} more")
        raise GlobmedError("\n".join(lines))


def gate_summary(results: Sequence[GateResult]) -> str:
    return "\n".join(f"gate {r.name}: " + ("skipped (" + r.skipped + ")" if r.skipped else "ok" if r.ok else "FAILED")
                     + (f" ({r.note})" if r.note and not r.skipped else "") for r in results)
