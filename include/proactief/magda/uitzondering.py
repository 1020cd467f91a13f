"""MAGDA ``Uitzondering`` (exception) records and what the project does with each (MAGDA.md error table).

The table is the contract between the client and the advice engine: a *definitive* answer may make a
criterion false, a *transient* one makes the person undetermined (never "not eligible"), a *configuration*
error stops the task. Codes outside the table are decided here once, with the reason next to them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from proactief.magda.audit import OutcomeClass

__all__ = [
    "Uitzondering",
    "UitzonderingType",
    "classify",
    "classify_code",
    "decide",
    "CODE_TABLE",
    "SEVERITY",
    "scrub",
]


class UitzonderingType(StrEnum):
    """``Uitzondering/Type``: how serious MAGDA says it is."""

    FOUT = "FOUT"
    WAARSCHUWING = "WAARSCHUWING"
    INFORMATIE = "INFORMATIE"


@dataclass(frozen=True, slots=True)
class Uitzondering:
    """One ``Uitzondering`` of a Repliek (level 2) or an Antwoord (level 3)."""

    identificatie: str
    """The code, e.g. ``30001``."""
    oorsprong: str
    """Who raised it: MAGDA, RR, KSZ …"""
    type: UitzonderingType
    diagnose: str
    omstandigheid: str | None = None
    annotaties: tuple[tuple[str, str], ...] = ()
    """(Naam, Waarde) pairs, in order. May name the INSZ a list answer's exception is about."""

    def annotatie(self, naam: str) -> str | None:
        """The first annotation value with this name (case-insensitive), or None."""
        wanted = naam.lower()
        for key, value in self.annotaties:
            if key.lower() == wanted:
                return value
        return None

    def __repr__(self) -> str:  # annotations may hold an INSZ: keep them out of reprs and tracebacks
        return (f"Uitzondering({self.identificatie!r}, {self.oorsprong!r}, {self.type.value}, {self.diagnose!r}, "
                f"annotaties={len(self.annotaties)})")


_D = OutcomeClass.DEFINITIVE
_T = OutcomeClass.TRANSIENT
_C = OutcomeClass.CONFIGURATION_ERROR
_E = OutcomeClass.DATA_ERROR
_N = OutcomeClass.NEEDS_INSCRIPTION
_OK = OutcomeClass.OK

CODE_TABLE: dict[str, OutcomeClass] = {
    # --- MAGDA.md table -------------------------------------------------------------------------------
    "30001": _D,  # no data found for the question: the criterion is false
    "30003": _D,  # unknown INSZ
    "45008": _D,  # INFORMATIE: the income year asked does not exist; definitive for that year, caller falls back
    "40003": _N,  # no inscription in the repertorium: register, then ask again
    "40143": _OK,  # WAARSCHUWING: inscription already exists = success
    "20002": _E,  # invalid INSZ structure: quarantine the record
    "30004": _E,  # WAARSCHUWING: the person has a new INSZ: refresh the population, decide nothing
    "13001": _C, "40001": _C, "40005": _C, "40006": _C, "13501": _C,  # no authorisation / legal context
    "99996": _T, "99995": _T,  # too many concurrent requests
    "60006": _T, "60007": _T, "60009": _T,  # no (timely) answer from the source
    "99994": _T,  # unexpected error at the source
    "70002": _T,  # KSZ internal error
    "99997": _T,  # "Achterliggende service niet bereikbaar": the source is down
    "70001": _OK,  # WAARSCHUWING (KSZ): no or incomplete data; read what is present, absent = criterion false
    # --- codes the canned data contains that the table does not list ------------------------------------
    "30101": _D,  # FOUT "Geen gegevens gevonden voor de vraag" (Onderwijs canned data): same meaning as 30001
    "30016": _D,  # FOUT "Geen verdere gegevens beschikbaar" (mutations): nothing pending, an empty batch
    "30014": _E,  # FOUT "Ongeldige ontvangstreferte" (mutations): our cursor is wrong; fix state, read nothing
    "40000": _E,  # FOUT "Adres: Ongeldige straatcode" (Aanslagbiljet): the source record itself is faulty;
    #               nothing to retry and nothing to conclude about the person -> flag the record
    "20110": _C,  # FOUT "maximum aantal vragen … overschreden" (Onderwijs): our message is shaped wrongly, a bug
    "30042": _OK,  # INFORMATIE "Meerdere voorkomens … slechts 1 in het antwoord": data is usable
    "99984": _OK,  # WAARSCHUWING "Magda beschrijving voor code niet aanwezig": a label is missing, data is fine
}

SEVERITY: tuple[OutcomeClass, ...] = (
    OutcomeClass.FAULT,
    OutcomeClass.CONFIGURATION_ERROR,  # stops the task: nothing else matters
    OutcomeClass.DATA_ERROR,  # retrying or registering cannot help a faulty record
    OutcomeClass.NEEDS_INSCRIPTION,  # register, then the question is asked again anyway
    OutcomeClass.TRANSIENT,  # retry; if it stays, undetermined
    OutcomeClass.DEFINITIVE,
    OutcomeClass.OK,
)
"""When several exceptions apply, the first class in this order decides."""
_RANK = {c: i for i, c in enumerate(SEVERITY)}


def classify_code(code: str, type_: UitzonderingType | str = UitzonderingType.FOUT) -> OutcomeClass:
    """The class of one exception code; ``type_`` decides for codes outside the table.

    Unknown WAARSCHUWING/INFORMATIE never block reading the answer (OK). An unknown FOUT must never end in
    "not eligible", so it is never DEFINITIVE: MAGDA numbers platform and source-availability problems 6xxxx
    and 9xxxx (all known ones are transient), so those are retried as TRANSIENT; any other unknown FOUT is a
    DATA_ERROR: no decision for that person, the record is flagged for a human, and we do not hammer MAGDA
    with retries that cannot change a functional refusal.
    """
    known = CODE_TABLE.get(code.strip())
    if known is not None:
        return known
    if str(type_) != UitzonderingType.FOUT:
        return OutcomeClass.OK
    if code[:1] in ("6", "9"):
        return OutcomeClass.TRANSIENT
    return OutcomeClass.DATA_ERROR


def decide(uitzonderingen: Iterable[Uitzondering], *,
           has_content: bool = True) -> tuple[OutcomeClass, Uitzondering | None]:
    """Outcome of one question from all exceptions that apply to it (level 2 and its level 3), and which decided.

    ``has_content``: whether the Antwoord carried an ``Inhoud``. Exceptions that only inform (OK class)
    leave an answer without content DEFINITIVE: nothing was found and nothing went wrong.
    """
    best: OutcomeClass | None = None
    deciding: Uitzondering | None = None
    for u in uitzonderingen:
        cls = classify_code(u.identificatie, u.type)
        if best is None or _RANK[cls] < _RANK[best]:
            best, deciding = cls, u
    if best is None or best is OutcomeClass.OK:
        return (OutcomeClass.OK if has_content else OutcomeClass.DEFINITIVE), deciding
    return best, deciding


def classify(uitzonderingen: Uitzondering | Sequence[Uitzondering], *, has_content: bool = True) -> OutcomeClass:
    """The :class:`OutcomeClass` for one exception, or for all exceptions of one question."""
    items = (uitzonderingen,) if isinstance(uitzonderingen, Uitzondering) else uitzonderingen
    return decide(items, has_content=has_content)[0]


_QUOTED_VALUE = re.compile(r"([Vv]alue )'[^']*'")
_BARE_VALUE = re.compile(r"'[^']*'(?= is not)")
_ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")


def scrub(text: str) -> str:
    """Text from MAGDA or a validator, with values that may identify a person blanked (11-digit numbers,
    quoted offending values of XSD errors), so it can go into an exception or a log line."""
    text = _QUOTED_VALUE.sub(r"\1'…'", text)
    text = _BARE_VALUE.sub("'…'", text)
    return _ELEVEN_DIGITS.sub("…", text)
