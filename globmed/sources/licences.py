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


def licence_summary(source: str, entries_by_licence: Mapping[str, int]) -> dict[str, Any]:
    """Build-report fields of a source from its entry counts per row licence: ``licenses`` (the
    counts), ``redistributable`` (for a source with subsets: every licence present is), and
    ``not_redistributable`` (``[{license, entries, subsets}]`` of those that are not)."""
    info = source_info(source)
    subsets = subset_licences(source)
    counts = {lic: int(n) for lic, n in sorted(entries_by_licence.items()) if n}
    if not subsets:
        return {"licenses": counts, "redistributable": info.redistributable, "not_redistributable": []}
    flags = {info.license: info.redistributable, **{s.license: s.redistributable for s in subsets.values()}}
    problems = [{"license": lic, "entries": n,
                 "subsets": [s.name for s in subsets.values() if s.license == lic] or ["(rest)"]}
                for lic, n in counts.items() if not flags.get(lic, False)]
    return {"licenses": counts, "redistributable": not problems, "not_redistributable": problems,
            "subsets": [{"name": s.name, "license": s.license, "redistributable": s.redistributable,
                         "license_note": s.license_note} for s in subsets.values()]}
