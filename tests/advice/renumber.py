"""Give one person of a generated Ghent a number MAGDA's KSZ schema refuses (birth month 81-92), everywhere."""

from __future__ import annotations

from pathlib import Path


def renumbered(insz: str) -> str:
    """The same person with the birth month + 20 (81-92, a "test bis" month) and matching check digits: the
    modulo-97 check and GeefPersoon's ``INSZType`` accept it, GeefDossierHandicap's KSZ ``SsinType`` does not."""
    born_2000s = 97 - int(insz[:9]) % 97 != int(insz[9:])
    base = int(insz[:2] + f"{int(insz[2:4]) + 20:02d}" + insz[4:9])
    check = 97 - ((2_000_000_000 + base) if born_2000s else base) % 97
    return f"{base:09d}{check:02d}"


def rename_everywhere(folder: Path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in the simulator's store, the city's files and the expected entitlements."""
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".jsonl"):
            text = path.read_text(encoding="utf-8")
            if old in text:
                path.write_text(text.replace(old, new), encoding="utf-8")
