"""The MAGDA reference data shipped with the package is the shared reference, byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

from proactief.magda.reference import reference_root


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_shipped_copy_contains_every_shared_file_unchanged(shared_magda: Path) -> None:
    shared = _digests(shared_magda)
    shipped = _digests(reference_root())
    missing = sorted(set(shared) - set(shipped))
    changed = sorted(k for k in shared if k in shipped and shipped[k] != shared[k])
    assert not missing, f"files missing from the shipped copy: {missing[:10]}"
    assert not changed, f"files that differ from ../shared/magda: {changed[:10]}"


def test_files_added_to_the_shipped_copy_are_documented(shared_magda: Path) -> None:
    shipped_root = reference_root()
    extra = sorted(set(_digests(shipped_root)) - set(_digests(shared_magda)) - {"PROVENANCE.md"})
    provenance = (shipped_root / "PROVENANCE.md").read_text() if (shipped_root / "PROVENANCE.md").exists() else ""
    undocumented = [e for e in extra if Path(e).name not in provenance]
    assert not undocumented, f"added to magda_ref without a PROVENANCE.md entry: {undocumented}"
