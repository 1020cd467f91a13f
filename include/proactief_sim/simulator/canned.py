"""The canned MAGDA-Mock answers: found as the mock finds them, parsed once, patched per request cheaply.

Lookup mirrors the mock: ``<Domein>/<Dienst>/<Versie>/<key>.xml``, else that folder's ``notfound.xml``, else
``success.xml``; extra folders (``--testcases``) are searched before the shipped ones at every step. Folder
listings are read once at start, so a lookup is a set membership test, not a file-system call.

Each file is turned into a template once: its ``Context``, every ``Antwoord/Referte`` and every
``Uitzondering/Tijdstip`` become slots, so serving it is a string join with the caller's values.
The canned content is served as it is (known defects included, see the reference README).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from proactief_sim.simulator.statutes import StatuteFact, facts_from_canned
from proactief_sim.simulator.wire import SOAP_NS, Caller, Uitzondering, context_xml

__all__ = ["CannedAnswer", "CannedRepository"]

_CTX = "@@SIM-CTX@@"
_REF = "@@SIM-REF@@"
_UDATE = "@@SIM-UDATE@@"
_UTIME = "@@SIM-UTIME@@"
_SLOTS = (_CTX, _REF, _UDATE, _UTIME)


@dataclass
class CannedAnswer:
    path: Path
    is_fault: bool
    """The file is a SOAP Fault (a known defect of one canned case): served as HTTP 500."""
    parts: list[str] = field(default_factory=list)
    slots: list[str] = field(default_factory=list)
    uitzonderingen: list[Uitzondering] = field(default_factory=list)
    """Every Uitzondering in the file (the list service reports them per person)."""
    has_inhoud: bool = False
    statute_facts: dict[str, StatuteFact] | None = None
    """For GeefSociaalStatuut files with an answer: the statutes, so the answer can be filtered."""
    fault_xml: str = ""

    def render(self, naam: str, versie: str, caller: Caller | None, datum: str, tijd: str) -> str:
        """The canned Body child with Context, Referte and Uitzondering times patched for this call."""
        if self.is_fault:
            return self.fault_xml
        values = {
            _CTX: None,
            _REF: caller.vraag_referte if caller is not None else "",
            _UDATE: datum,
            _UTIME: tijd,
        }
        out = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            if slot == _CTX:
                out.append(context_xml(naam, versie, caller, datum, tijd))
            else:
                out.append(values[slot] or "")
            out.append(part)
        return "".join(out)


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _load(path: Path) -> CannedAnswer:
    tree = etree.parse(str(path), etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True))
    root = tree.getroot()
    if etree.QName(root).namespace == SOAP_NS:
        fault = root if _local(root) == "Fault" else root.find(f".//{{{SOAP_NS}}}Fault")
        if fault is not None:
            return CannedAnswer(path, True, fault_xml=etree.tostring(fault, encoding="unicode"))
    answer = CannedAnswer(path, False)
    for u in root.iter("Uitzondering"):
        answer.uitzonderingen.append(
            Uitzondering(
                (u.findtext("Identificatie") or "").strip(),
                (u.findtext("Diagnose") or "").strip(),
                type=(u.findtext("Type") or "FOUT").strip(),
                oorsprong=(u.findtext("Oorsprong") or "MAGDA").strip(),
            )
        )
    answer.has_inhoud = root.find("Repliek/Antwoorden/Antwoord/Inhoud") is not None
    persoon = root.find("Repliek/Antwoorden/Antwoord/Inhoud/Persoon")
    if persoon is not None and persoon.find("SocialeStatuten") is not None:
        answer.statute_facts = facts_from_canned(persoon)

    # Turn the patchable places into slots.
    for ctx in root.iterfind("Repliek/Context"):
        tail = ctx.tail
        parent = ctx.getparent()
        idx = parent.index(ctx)
        parent.remove(ctx)
        if idx == 0:
            parent.text = (parent.text or "") + _CTX + (tail or "")
        else:
            prev = parent[idx - 1]
            prev.tail = (prev.tail or "") + _CTX + (tail or "")
    for ref in root.iterfind("Repliek/Antwoorden/Antwoord/Referte"):
        ref.text = _REF
    for u in root.iter("Uitzondering"):
        d = u.find("Tijdstip/Datum")
        t = u.find("Tijdstip/Tijd")
        if d is not None and t is not None:
            d.text, t.text = _UDATE, _UTIME
    text = etree.tostring(root, encoding="unicode")
    parts: list[str] = []
    slots: list[str] = []
    pos = 0
    while True:
        hits = [(text.find(s, pos), s) for s in _SLOTS]
        hits = [(i, s) for i, s in hits if i >= 0]
        if not hits:
            parts.append(text[pos:])
            break
        i, s = min(hits)
        parts.append(text[pos:i])
        slots.append(s)
        pos = i + len(s)
    answer.parts, answer.slots = parts, slots
    return answer


class CannedRepository:
    """All canned-answer roots, extra ones first; answers parsed lazily and kept."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = [Path(r) for r in roots]
        self._listing: dict[tuple[int, str], frozenset[str]] = {}
        self._answers: dict[tuple[int, str, str], CannedAnswer] = {}
        self.count = 0
        for i, root in enumerate(self.roots):
            if not root.is_dir():
                raise FileNotFoundError(f"testcases folder not found: {root}")
            for dirpath, _dirs, files in os.walk(root):
                names = frozenset(f[:-4] for f in files if f.endswith(".xml"))
                if names:
                    rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
                    self._listing[(i, rel)] = names
                    self.count += len(names)

    def _get(self, i: int, folder: str, name: str) -> CannedAnswer:
        ans = self._answers.get((i, folder, name))
        if ans is None:
            ans = self._answers[(i, folder, name)] = _load(self.roots[i] / folder / f"{name}.xml")
        return ans

    def key(
        self, folder: str, key: str, *, extra_only: bool = False, shipped_only: bool = False
    ) -> CannedAnswer | None:
        """The case named after the key; ``extra_only``/``shipped_only`` restrict which roots count."""
        last = len(self.roots) - 1
        for i in range(len(self.roots)):
            if (extra_only and i == last) or (shipped_only and i != last):
                continue
            names = self._listing.get((i, folder))
            if names is not None and key in names:
                return self._get(i, folder, key)
        return None

    def fallback(self, folder: str) -> CannedAnswer | None:
        """That folder's ``notfound.xml``, else ``success.xml`` (extra roots first)."""
        for name in ("notfound", "success"):
            for i in range(len(self.roots)):
                names = self._listing.get((i, folder))
                if names is not None and name in names:
                    return self._get(i, folder, name)
        return None

    def folders(self) -> set[str]:
        return {folder for _i, folder in self._listing}
