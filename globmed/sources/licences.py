"""Licences per subset: a source whose parts are licensed differently (RuMedBench: the repository is
Apache-2.0, but RuMedNLI translates MedNLI, which PhysioNet gives out under a credentialed-access
agreement) lists them under ``subsets:`` in ``sources.yaml``::

    rumedbench:
      license: apache-2.0          # the source's own licence: every row not in a listed subset
      redistributable: true
      subsets:
        RuMedNLI: {license: other, redistributable: false, license_note: ...}

The adapter stamps each row's ``license`` with its subset's licence (:func:`subset_licence`). The
build report then counts a source's entries per licence and decides its ``redistributable`` from
the licences actually in the build (:func:`licence_summary`), so a build with RuMedDaNet and
RuMedTest rows only passes the release's licence gate while one with RuMedNLI rows does not.
Within one source, one licence id has one redistributability (checked), which is what lets the
report decide from the rows' ``license`` column alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from globmed.errors import GlobmedError
from globmed.sources.base import _metadata, source_info


@dataclass(frozen=True)
class SubsetLicence:
    name: str
    license: str
    redistributable: bool
    license_note: str = ""


@cache
def subset_licences(source: str) -> dict[str, SubsetLicence]:
    """``{subset: SubsetLicence}`` from ``sources.yaml`` (empty when the source lists none)."""
    info = source_info(source)
    block = _metadata()[source].get("subsets") or {}
    out: dict[str, SubsetLicence] = {}
    seen = {info.license: info.redistributable}
    for name, value in block.items():
        if not isinstance(value, Mapping) or "license" not in value or "redistributable" not in value:
            raise GlobmedError(f"sources.yaml: {source}.subsets.{name} needs `license` and `redistributable`")
        lic = SubsetLicence(str(name), str(value["license"]), bool(value["redistributable"]),
                            str(value.get("license_note", "")).strip())
        if seen.setdefault(lic.license, lic.redistributable) != lic.redistributable:
            raise GlobmedError(f"sources.yaml: {source}: licence {lic.license!r} is both redistributable and not; "
                               "give the subsets distinct licence ids")
        out[lic.name] = lic
    return out


def subset_licence(source: str, subset: str) -> str:
    """The licence id of ``subset``'s rows: the subset's own, else the source's."""
    lic = subset_licences(source).get(subset)
    return lic.license if lic else source_info(source).license


def _flags(source: str) -> dict[str, tuple[bool, list[str]]]:
    """``{licence id: (redistributable, subsets)}`` of a source's own rows (subsets: the subsets of
    that licence, ``["(rest)"]`` for the source's own licence)."""
    info = source_info(source)
    out: dict[str, tuple[bool, list[str]]] = {info.license: (info.redistributable, ["(rest)"])}
    for s in subset_licences(source).values():
        flag, names = out.get(s.license, (s.redistributable, []))
        out[s.license] = (flag, [n for n in names if n != "(rest)"] + [s.name])
    return out


def licence_summary(source: str, entries_by_licence: Mapping[str, int],
                    imported: Mapping[tuple[str, str], int] | None = None) -> dict[str, Any]:
    """Build-report fields of a source from its entry counts per row licence: ``licenses`` (the
    counts), ``redistributable`` (every licence present is), and ``not_redistributable``
    (``[{license, entries, subsets}]`` of those that are not).

    ``imported``: entries that translate ANOTHER source's items (``globmed_hub``: the origin source
    of ``origin_id`` differs), counted per ``(origin source, licence)``. They keep their origin's
    licence and its redistributability: a translation of a non-redistributable source is not
    redistributable either, whatever the importing source's own licence says."""
    info = source_info(source)
    subsets = subset_licences(source)
    imported = {key: int(n) for key, n in (imported or {}).items() if n}
    counts = {lic: int(n) for lic, n in sorted(entries_by_licence.items()) if n}
    for (_, lic), n in imported.items():
        counts[lic] = counts.get(lic, 0) + n
    own = {lic: n - sum(m for (_, lic2), m in imported.items() if lic2 == lic) for lic, n in counts.items()}
    flags = _flags(source)
    problems = [{"license": lic, "entries": n, "subsets": flags[lic][1] if lic in flags else ["(rest)"]}
                for lic, n in sorted(own.items()) if n and not flags.get(lic, (False, []))[0]]
    known = set(_metadata())
    for (origin, lic), n in sorted(imported.items()):
        origin_flags = _flags(origin) if origin in known else {}
        if not origin_flags.get(lic, (False, []))[0]:
            problems.append({"license": lic, "entries": n, "subsets": [f"translations of {origin}"]})
    if not subsets and not imported:
        return {"licenses": counts, "redistributable": info.redistributable and not problems,
                "not_redistributable": problems if not info.redistributable else []}
    out: dict[str, Any] = {"licenses": counts, "redistributable": not problems, "not_redistributable": problems}
    if subsets:
        out["subsets"] = [{"name": s.name, "license": s.license, "redistributable": s.redistributable,
                           "license_note": s.license_note} for s in subsets.values()]
    return out
