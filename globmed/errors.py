"""Errors a user can cause. The CLI prints their message alone and exits with status 2."""

from __future__ import annotations

from collections.abc import Iterable


class GlobmedError(Exception):
    """A problem with the user's input (a file, a row, an option), not a bug."""


class UnknownNameError(GlobmedError, KeyError):
    """A name (profile, language, source, model, ...) that is not registered."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(self.valid)}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]

    def __reduce__(self):  # picklable, so a worker process can raise it to the build
        return type(self), (self.kind, self.name, self.valid)


class SourceRowError(GlobmedError):
    """A bad upstream row in a ``--strict`` build: names source, file and row."""

    def __init__(self, source: str, file: str, row: int | str | None, reason: str):
        self.source, self.file, self.row, self.reason = source, file, row, reason
        where = f"{file}, row {row}" if row is not None else file
        super().__init__(f"source {source!r}: {where}: {reason}")

    def __reduce__(self):  # picklable, so a worker process can raise it to the build
        return type(self), (self.source, self.file, self.row, self.reason)
