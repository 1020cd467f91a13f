"""Fidelity: the simulator's synthetic answers have the STRUCTURE of MAGDA-Mock's canned answers of the same kind.

Why: the whole-city exactness tests only prove that the chain agrees with the generator on a world the simulator
serves. If that world is shaped differently from MAGDA (a member whose GeefPersoon lists the household, an element
MAGDA always sends and the simulator never does), the project passes on a MAGDA that does not exist. This test
compares shapes, never values.

How:
- A small synthetic Ghent from the project's generator, served by a real simulator over HTTP; requests are built
  with the client's own envelope builders (``proactief.magda.envelope``).
- Synthetic answers are classified by the generator's truth (the store JSON: household positions, death date,
  residences, bis register), canned answers (``magda_ref/testcases``, the SOAP Body child) by their content.
- The shape of an answer is the set of element paths under ``Antwoord`` (local names; an element carrying a
  ``DatumEinde`` is marked ``[ended]``, so a past Referentiepersoon is not a current one), each with how often it
  occurs under one parent (1 or many).
- Rules per kind: every synthetic path is licensed by the canned answers of each of its kinds (seen in at least
  two of them, or in one when the kind has fewer than ten: one odd canned file must not license a shape); a path
  in (nearly) all canned answers of a kind is in every synthetic answer of that kind; "many" under one parent
  only where canned answers of the kind show it.

``GeefSociaalStatuutVoorLijst`` has no canned answers: its synthetic answers are checked against the response XSD
only. The vehicle REST mock is compared as JSON key paths against the canned registration files.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
import requests
from lxml import etree
from sim_envelopes import body_child, historiek

from proactief.magda import envelope as env
from proactief.magda import reference
from proactief.magda.services import SERVICES
from proactief_sim.population import generate
from proactief_sim.simulator.testing import RunningSimulator, running_simulator

pytestmark = pytest.mark.integration

GHENT_NIS = "44021"
PER_KIND = 12
"""Synthetic persons asked per kind and service (enough to see every shape the renderer makes, cheap to ask)."""
NEARLY_ALL = 0.95
AFZENDER = env.Afzender("gent.be/proactief-fidelity", "1300")

Shape = dict[str, int]
"""Element path -> most occurrences under one parent instance."""


# ------------------------------------------------------------------------------------------------ shapes


def _name(el: etree._Element) -> str:
    name = etree.QName(el).localname
    return name + "[ended]" if el.get("DatumEinde") else name


def shape_of(el: etree._Element, prefix: str = "") -> Shape:
    """Paths below ``el`` with their multiplicity under one parent."""
    out: Shape = {}
    here: Counter[str] = Counter()
    for c in el:
        if not isinstance(c.tag, str):
            continue
        path = f"{prefix}/{_name(c)}"
        here[path] += 1
        for p, n in shape_of(c, path).items():
            out[p] = max(out.get(p, 0), n)
    for p, n in here.items():
        out[p] = max(out.get(p, 0), n)
    return out


def antwoord(root: etree._Element) -> etree._Element | None:
    return root.find("Repliek/Antwoorden/Antwoord")


def json_shape(obj: Any, prefix: str = "") -> Shape:
    """Key paths of a JSON document (list items as ``[]``), each with multiplicity 1."""
    out: Shape = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            path = f"{prefix}/{k}"
            out[path] = 1
            out.update(json_shape(v, path))
    elif isinstance(obj, list):
        for v in obj:
            out.update(json_shape(v, f"{prefix}[]"))
    return out


@dataclass
class KindShapes:
    """What the canned answers of one kind show: how many files, and per path in how many (at all / many)."""

    n: int = 0
    present: Counter[str] = field(default_factory=Counter)
    many: Counter[str] = field(default_factory=Counter)

    def add(self, shape: Shape) -> None:
        self.n += 1
        for p, m in shape.items():
            self.present[p] += 1
            if m > 1:
                self.many[p] += 1

    def licensed(self, count: int, among: int | None = None) -> bool:
        """Seen often enough among ``among`` files (default: all of the kind) to be MAGDA's, not one odd file."""
        return count >= (1 if (self.n if among is None else among) < 10 else 2)

    def required(self) -> set[str]:
        return {p for p, c in self.present.items() if c >= math.ceil(NEARLY_ALL * self.n)} if self.n >= 3 else set()


def canned_shapes(folder: str, classify: Callable[[etree._Element], set[str]]) -> dict[str, KindShapes]:
    """Canned answers of a service folder grouped by kind (a file can be of several kinds; SOAP Faults skipped)."""
    kinds: dict[str, KindShapes] = {}
    for path in sorted((reference.testcases_root() / folder).glob("*.xml")):
        root = etree.parse(str(path)).getroot()
        a = antwoord(root)
        if a is None:
            continue
        shape = shape_of(a)
        for k in classify(root):
            kinds.setdefault(k, KindShapes()).add(shape)
    return kinds


_ENDED_RESIDENCE = (
    "a main residence that ended: MAGDA-Mock's histories date residences by DatumBegin only (newest first) but end "
    "every earlier Beheerder with a DatumEinde (11 of 20 files), the XSD's HoofdverblijfplaatsType carries "
    "DatumEinde, and the issue-15 interface asks for it so a move abroad or a death (no next residence) still ends "
    "one; every other element is the canned residence's"
)
_ENDED_MEMBER = (
    "a household member who left: MAGDA-Mock's 14 household histories are all one current composition, the XSD "
    "(GezinslidVerplichtINSZType) carries DatumEinde on a Gezinslid; every other element is the canned member's"
)
_MANY_COMPOSITIONS = (
    "a person who lived in several households: HistoriekGezinssamenstellingType has Gezinssamenstelling "
    "maxOccurs=unbounded; MAGDA-Mock's 14 histories never show a household change"
)
MANY_ALLOWED: dict[tuple[str, str], str] = {
    ("GeefHistoriekGezinssamenstelling", "/Inhoud/HistoriekGezinssamenstelling/Gezinssamenstelling"):
        _MANY_COMPOSITIONS,
}
"""Paths that may occur many times under one parent although the tiny canned set never shows it."""

MISSING_ALLOWED: dict[tuple[str, str], str] = {
    ("GeefHistoriekPersoon", f"/Inhoud/HistoriekPersoon/HistoriekAfstamming/Afstamming/{tail}"):
        "the store keeps no parents: a child born into a household of the store names its reference person and "
        "partner as parents, with the birth's place and certificate; anyone else (a partner living under another "
        "reference person: MAGDA-Mock's member histories are all children) gets the filiation's type only"
    for tail in ("Plaats", "Plaats/Gemeente", "Plaats/Gemeente/NISCode", "Plaats/Gemeente/Naam", "Plaats/Land",
                 "Plaats/Land/ISOCode", "Plaats/Land/NISCode", "Plaats/Land/Naam", "Aktenummer", "Ouders",
                 "Ouders/Ouder", "Ouders/Ouder/INSZ", "Ouders/Ouder/Naam", "Ouders/Ouder/Naam/Achternamen",
                 "Ouders/Ouder/Naam/Achternamen/Achternaam", "Ouders/Ouder/Naam/Voornamen",
                 "Ouders/Ouder/Naam/Voornamen/Voornaam", "Ouders/Ouder/Geslacht", "Ouders/Ouder/Geslacht/Code",
                 "Ouders/Ouder/Geslacht/Omschrijving", "Ouders/Ouder/Geboortedatum")
}
"""Paths the canned answers of a kind always have that the store cannot fill for every synthetic person of it."""

ALLOWED: dict[tuple[str, str], str] = {
    ("GeefGezinssamenstelling", "/Inhoud/Gezinsleden/Gezinslid/Adressen/Hoofdverblijfplaats/Busnummer"):
        "same address type as GeefPersoon's Hoofdverblijfplaats, where 91 of 392 canned addresses have a Busnummer; "
        "the 7 canned household answers just have none",
    ("GeefHistoriekPersoon", "/Inhoud/HistoriekPersoon/HistoriekAdressen/HistoriekHoofdverblijfplaats/"
                             "Hoofdverblijfplaats/Busnummer"):
        "same address type as GeefPersoon's Hoofdverblijfplaats, where 91 of 392 canned addresses have a Busnummer; "
        "the 20 canned histories just have none",
    ("GeefHistoriekPersoon", "/Inhoud/HistoriekPersoon/HistoriekGeboorte/Geboorte/Aktenummer"):
        "the birth certificate number: in all 10 canned histories of members and in 343 of 407 canned GeefPersoon "
        "Geboorte elements; "
        "the 10 canned histories of people never under another reference person happen to lack it",
    ("GeefLeefloonbedragen", "/Inhoud/Leefloonbedragen/Leefloonbedrag/Tegemoetkoming/Maandelijks/Maand/"
                             "LeefloonPerPeriode/LeefloonPeriode/Partner/TweedeGerechtigde"):
        "the no-partner form of the Partner type the canned Equivalent- and KinderbijslagPeriode use; the one canned "
        "LeefloonPeriode happens to have a partner",
    **{("GeefHistoriekPersoon", f"/Inhoud/HistoriekPersoon/HistoriekAdressen/HistoriekHoofdverblijfplaats/"
                                f"Hoofdverblijfplaats[ended]{tail}"): _ENDED_RESIDENCE
       for tail in ("", *(f"/{p}" for p in ("Straatnaam", "Straatnaam/String", "Straatnaam/Taal", "Huisnummer",
                                              "Busnummer", "Gemeentenaam", "Gemeentenaam/String",
                                              "Gemeentenaam/Taal", "Land", "Land/String", "Land/Taal", "Postcode",
                                              "NISCodeLand", "ISOCodeLand", "NISCodeGemeente")))},
    **{("GeefHistoriekGezinssamenstelling", f"/Inhoud/HistoriekGezinssamenstelling/Gezinssamenstelling/Gezinsleden/"
                                            f"Gezinslid[ended]{tail}"): _ENDED_MEMBER
       for tail in ("", *(f"/{p}" for p in ("INSZ", "Naam", "Naam/Achternamen", "Naam/Achternamen/Achternaam",
                                              "Naam/Voornamen", "Naam/Voornamen/Voornaam", "Geslacht",
                                              "Geslacht/Code", "Geslacht/Omschrijving", "Geboortedatum", "Positie",
                                              "Positie/Code", "Positie/Omschrijving", "Woonvorm", "Woonvorm/Code",
                                              "Bron", "Bron/Code", "Bron/Omschrijving")))},
}
"""Paths flagged only because a service's canned set is tiny, each with the evidence that MAGDA sends them."""


def divergences(service: str, kinds: set[str], shape: Shape, canned: dict[str, KindShapes]) -> Iterator[str]:
    """Every way one synthetic answer of ``kinds`` differs from the canned answers of those kinds."""
    for kind in sorted(kinds):
        ref = canned.get(kind)
        if ref is None or ref.n == 0:
            yield f"{service} [{kind}]: no canned answer of this kind to compare with"
            continue
        for p in sorted(shape):
            if (service, p) in ALLOWED:
                continue
            if not ref.licensed(ref.present[p]):
                yield f"{service} [{kind}]: {p} never sent by MAGDA ({ref.present[p]} of {ref.n} canned)"
            elif shape[p] > 1 and not ref.licensed(ref.many[p], ref.present[p]) and (service, p) not in MANY_ALLOWED:
                yield (f"{service} [{kind}]: {p} occurs many times under one parent "
                       f"({ref.many[p]} of the {ref.present[p]} canned that have it)")
        for p in sorted(ref.required() - set(shape) - {q for s, q in MISSING_ALLOWED if s == service}):
            yield f"{service} [{kind}]: {p} missing (in {ref.present[p]} of {ref.n} canned)"


# ------------------------------------------------------------------------------------------------ truth


@dataclass(frozen=True)
class Truth:
    """The generator's facts about one person, as of today (the simulator answers as of today)."""

    obj: dict[str, Any]

    @property
    def insz(self) -> str:
        return str(self.obj["insz"])

    @property
    def bis(self) -> bool:
        """Only in the KSZ bis register: a contact address, no main residence, no household (the generator's bis)."""
        return not self.obj.get("residences") and self.obj.get("contact_address") is not None

    @property
    def deceased(self) -> bool:
        d = self.obj.get("death_date")
        return d is not None and date.fromisoformat(d) <= date.today()

    def current_household(self) -> list[dict[str, Any]]:
        today = date.today().isoformat()
        return [m for m in self.obj.get("household") or [] if m.get("end") is None or m["end"] >= today]

    def role(self) -> str:
        hh = self.current_household()
        me = next((m for m in hh if m["insz"] == self.insz), None)
        has_ref = any(m["position"] == "01" for m in hh)
        if me is not None and me["position"] == "01" and len(hh) > 1:
            return "reference person"
        if me is not None and me["position"] != "01" and has_ref:
            return "member"
        return "single"

    def lives_in_ghent(self) -> bool:
        today = date.today().isoformat()
        return any(r["begin"] <= today and (r.get("end") is None or r["end"] >= today) and r["nis_code"] == GHENT_NIS
                   for r in self.obj.get("residences") or [])

    def person_kinds(self) -> set[str]:
        if self.bis:
            return {"bis"}
        if self.deceased:
            return {"deceased"}
        return {self.role()} | ({"moved away"} if not self.lives_in_ghent() else set())


def canned_person_kinds(root: etree._Element) -> set[str]:
    """Kind of a canned GeefPersoon answer, read from its content (same kinds as :meth:`Truth.person_kinds`)."""
    p = root.find("Repliek/Antwoorden/Antwoord/Inhoud/Persoon")
    if p is None:
        return set()
    if p.findtext("Register/Code") == "BIS" or p.get("Bron") == "KSZ":
        return {"bis"}
    if p.find("Overlijden") is not None:
        return {"deceased"}
    if p.find("Gezinsleden") is not None:
        kinds = {"reference person"}
    elif any(not r.get("DatumEinde") for r in p.iterfind("Referentiepersoon")):
        kinds = {"member"}
    else:
        kinds = {"single"}
    if not any(h.findtext("NISCodeGemeente") == GHENT_NIS for h in p.iterfind("Adressen/Hoofdverblijfplaats")):
        kinds.add("moved away")
    return kinds


def _codes(root: etree._Element) -> set[str]:
    return {(u.findtext("Identificatie") or "").strip() for u in root.iterfind("Repliek/Antwoorden/Antwoord/"
                                                                                "Uitzonderingen/Uitzondering")}


def found_or_no_data(found: Callable[[etree._Element], bool], no_data_codes: Iterable[str] = ("30001",)
                     ) -> Callable[[etree._Element], set[str]]:
    """A canned classifier for the KSZ/tax services: data found, or a definitive "no data" answer."""
    wanted = set(no_data_codes)

    def classify(root: etree._Element) -> set[str]:
        if root.find("Repliek/Antwoorden/Antwoord/Inhoud") is not None:
            return {"found"} if found(root) else {"no data"}
        return {"no data"} if _codes(root) & wanted else set()
    return classify


def _has(path: str) -> Callable[[etree._Element], bool]:
    return lambda root: root.find(f"Repliek/Antwoorden/Antwoord/Inhoud/{path}") is not None


# ------------------------------------------------------------------------------------------------ the world

World = tuple[list[Truth], RunningSimulator, requests.Session]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """3,000 generated persons (enough bis and deceased ones) behind a real, self-validating simulator."""
    out = tmp_path_factory.mktemp("fidelity-population")
    generate(3000, 11, out=out, workers=1)
    with open(out / "magda-population.jsonl", encoding="utf-8") as fh:
        persons = [Truth(json.loads(line)) for line in fh]
    with running_simulator(population=out / "magda-population.jsonl", repertorium_check=False,
                           validate_responses=True) as sim, requests.Session() as http:
        yield persons, sim, http


def ask(sim: RunningSimulator, http: requests.Session, request: env.Request | bytes) -> etree._Element:
    """Post one request over HTTP and return the SOAP Body child."""
    payload = request if isinstance(request, bytes) else request.to_bytes()
    r = http.post(sim.soap_url(), data=payload, timeout=30,
                  headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'})
    assert r.status_code == 200, r.text[:500]
    return body_child(r.content)


def sample(persons: list[Truth], kind_of: Callable[[Truth], set[str]]) -> list[tuple[Truth, set[str]]]:
    """Up to :data:`PER_KIND` persons of every kind, in store order (deterministic)."""
    seen: Counter[str] = Counter()
    picked = []
    for t in persons:
        kinds = kind_of(t)
        if kinds and any(seen[k] < PER_KIND for k in kinds):
            picked.append((t, kinds))
            seen.update(kinds)
    return picked


def compare(service: str, world: World, folder: str,
            classify: Callable[[etree._Element], set[str]], kind_of: Callable[[Truth], set[str]],
            build: Callable[[Truth], env.Request | bytes], expect_kinds: set[str]) -> None:
    persons, sim, http = world
    canned = canned_shapes(folder, classify)
    picked = sample(persons, kind_of)
    covered = set().union(*(k for _t, k in picked)) if picked else set()
    assert expect_kinds <= covered, f"the synthetic population lacks kinds {expect_kinds - covered}"
    found: Counter[str] = Counter()
    for t, kinds in picked:
        a = antwoord(ask(sim, http, build(t)))
        assert a is not None
        found.update(divergences(service, kinds, shape_of(a), canned))
    assert not found, "synthetic answers differ from MAGDA's shape:\n" + "\n".join(
        f"  {msg}  (x{n})" for msg, n in sorted(found.items()))


# ------------------------------------------------------------------------------------------------ services


def test_geef_persoon_has_magda_shape_per_kind_of_person(world):
    compare("GeefPersoon", world, "Persoon/GeefPersoon/02.02.0000", canned_person_kinds, Truth.person_kinds,
            lambda t: env.geef_persoon(AFZENDER, t.insz),
            {"reference person", "member", "single", "bis", "deceased", "moved away"})


def test_geef_gezinssamenstelling_has_magda_shape(world):
    def kind(t: Truth) -> set[str]:
        if t.bis:
            return {"no data"}  # the bis register keeps no household composition
        return set() if t.deceased else {"found"}  # no canned answer about a deceased person to compare with
    compare("GeefGezinssamenstelling", world, "Persoon/GeefGezinssamenstelling/02.02.0000",
            found_or_no_data(_has("Gezinsleden")), kind, lambda t: env.geef_gezinssamenstelling(AFZENDER, t.insz),
            {"found", "no data"})


def _member_kind(t: Truth) -> str:
    """``member``: lives under another reference person now; ``former member``: did once, no longer (MAGDA-Mock
    has no history of such a person); ``never a member``."""
    if t.role() == "member":
        return "member"
    hh = t.obj.get("household") or []
    was = any(m["insz"] == t.insz and m["position"] != "01" for m in hh) and any(
        m["position"] == "01" and m["insz"] != t.insz for m in hh)
    return "former member" if was else "never a member"


def canned_history_kinds(root: etree._Element) -> set[str]:
    p = root.find("Repliek/Antwoorden/Antwoord/Inhoud/HistoriekPersoon")
    if p is None:
        return set()
    return {"member" if p.find("HistoriekReferentiepersoon") is not None else "never a member"}


def _changes_first(world: World) -> World:
    """The same world with the persons who moved or whose household changed first, so the sample of each kind
    holds the cases a history exists for (ended residences and members, several compositions)."""
    persons, sim, http = world

    def changed(t: Truth) -> bool:
        return len(t.obj.get("residences") or []) > 1 or any(m.get("end") for m in t.obj.get("household") or [])
    return sorted(persons, key=lambda t: not changed(t)), sim, http


def test_geef_historiek_persoon_has_magda_shape(world):
    def kind(t: Truth) -> set[str]:
        kind = _member_kind(t)
        if t.bis or t.deceased or kind == "former member":
            return set()  # no canned history of a bis, deceased or former member to compare with
        return {kind}
    compare("GeefHistoriekPersoon", _changes_first(world), "Persoon/GeefHistoriekPersoon/02.02.0000",
            canned_history_kinds, kind, lambda t: historiek("GeefHistoriekPersoon", t.insz),
            {"member", "never a member"})


def test_geef_historiek_gezinssamenstelling_has_magda_shape(world):
    def kind(t: Truth) -> set[str]:
        if t.bis:
            return {"no data"}
        return set() if t.deceased else {"found"}
    compare("GeefHistoriekGezinssamenstelling", _changes_first(world),
            "Persoon/GeefHistoriekGezinssamenstelling/02.02.0000",
            found_or_no_data(_has("HistoriekGezinssamenstelling")), kind,
            lambda t: historiek("GeefHistoriekGezinssamenstelling", t.insz), {"found", "no data"})


def test_history_fidelity_compares_people_who_moved_and_households_that_changed(world):
    """The samples above must hold the cases the history exists for, or the shape checks prove little."""
    persons, _sim, _http = world
    moved = [t for t in persons if len(t.obj.get("residences") or []) > 1]
    changed = [t for t in persons if any(m.get("end") for m in t.obj.get("household") or [])]
    assert len(moved) >= PER_KIND and len(changed) >= PER_KIND


def test_geef_dossier_handicap_has_magda_shape(world):
    today = date.today()

    def kind(t: Truth) -> set[str]:
        cards = [c for c in t.obj.get("social_cards") or [] if c["delivery_date"] <= today.isoformat()]
        return {"found" if cards else "no data"}

    def classify(root: etree._Element) -> set[str]:
        value = root.findtext("Repliek/Antwoorden/Antwoord/Inhoud/ConsultFilesByDateResponse/status/value")
        return {"found"} if value == "DATA_FOUND" else {"no data"} if value == "NO_DATA_FOUND" else set()
    compare("GeefDossierHandicap", world, "SocZek/GeefDossierHandicap/03.00.0000", classify, kind,
            lambda t: env.geef_dossier_handicap(AFZENDER, t.insz, today), {"found", "no data"})


TAX_YEAR = 2024


def test_geef_aanslagbiljet_has_magda_shape(world):
    def kind(t: Truth) -> set[str]:
        return {"found" if any(a["income_year"] == TAX_YEAR for a in t.obj.get("tax") or []) else "no data"}
    compare("GeefAanslagbiljetPersonenbelasting", world, "Inkomen/GeefAanslagbiljetPersonenbelasting/02.00.0000",
            found_or_no_data(_has("AanslagbiljetPersonenbelasting"), ("30001", "45008")), kind,
            lambda t: env.geef_aanslagbiljet(AFZENDER, t.insz, TAX_YEAR), {"found", "no data"})


def _leefloon_year(t: Truth) -> int:
    years = [y["year"] for y in t.obj.get("leefloon") or [] if y.get("payments")]
    return max(years) if years else TAX_YEAR


def test_geef_leefloonbedragen_has_magda_shape(world):
    def kind(t: Truth) -> set[str]:
        return {"found" if (t.obj.get("leefloon") or []) and any(y.get("payments") for y in t.obj["leefloon"])
                else "no data"}
    compare("GeefLeefloonbedragen", world, "SocZek/GeefLeefloonbedragen/02.00.0000",
            found_or_no_data(_has("Leefloonbedragen/Leefloonbedrag/Tegemoetkoming")), kind,
            lambda t: env.geef_leefloonbedragen(AFZENDER, t.insz, _leefloon_year(t)), {"found", "no data"})


STATUTES = ("BIM_BVT", "LIVING_WAGES_PCSA_HELP", "PCSA_AND_BIM_HELP")


def _statute_day(t: Truth) -> date:
    for s in t.obj.get("statutes") or []:
        for p in s.get("periods") or []:
            return date.fromisoformat(p["begin"])
    return date.today()


def test_geef_sociaal_statuut_has_magda_shape(world):
    def kind(t: Truth) -> set[str]:
        return {"found" if any(s["name"] in STATUTES for s in t.obj.get("statutes") or []) else "no data"}

    def classify(root: etree._Element) -> set[str]:
        codes = [c.text for c in root.iterfind("Repliek/Antwoorden/Antwoord/Inhoud/Persoon/SocialeStatuten/"
                                               "SociaalStatuut/Resultaat/Code")]
        if codes:
            return {"found"} if "1" in codes else {"no data"}
        return {"no data"} if _codes(root) & {"30001"} else set()
    compare("GeefSociaalStatuut", world, "SocZek/GeefSociaalStatuut/03.00.0000", classify, kind,
            lambda t: env.geef_sociaal_statuut(AFZENDER, t.insz, STATUTES, _statute_day(t)), {"found", "no data"})


def test_geef_sociaal_statuut_voor_lijst_validates_no_canned_answers_exist(world):
    """MAGDA-Mock ships no canned list answers: structure checked against the official response XSD only."""
    assert not (reference.testcases_root() / "SocZek" / "GeefSociaalStatuutVoorLijst").exists()
    persons, sim, http = world
    with_statutes = [t.insz for t in persons if t.obj.get("statutes")][:5]
    without = [t.insz for t in persons if not t.obj.get("statutes")][:5]
    spec = SERVICES["SocZek.GeefSociaalStatuutVoorLijst-02.00"]
    child = ask(sim, http, env.geef_sociaal_statuut_voor_lijst(with_statutes + without, STATUTES, date.today()))
    schema = reference.schema_for(spec.response_xsd)
    assert schema.validate(child), schema.error_log.last_error
    assert len(child.findall("Repliek/Antwoorden/Antwoord/Inhoud/Personen/Persoon")) == 10


def test_vehicle_rest_mock_has_the_canned_registration_shape(world):
    persons, sim, http = world
    canned = KindShapes()
    for path in sorted((reference.reference_root() / "rest" / "__files" / "mobility" / "registrations").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("items"):
            canned.add(json_shape(doc))
    plates = [v["plate"] for t in persons for v in t.obj.get("vehicles") or []][:PER_KIND * 2]
    assert plates
    found: Counter[str] = Counter()
    for plate in plates:
        r = http.get(f"{sim.base_url}/v1/mobility/registrations", params={"plateNr": plate}, timeout=30)
        assert r.status_code == 200
        found.update(divergences("registrations", {"found"}, json_shape(r.json()), {"found": canned}))
    assert not found, "synthetic registrations differ from the canned shape:\n" + "\n".join(
        f"  {msg}  (x{n})" for msg, n in sorted(found.items()))


def test_fidelity_rules_catch_a_member_that_lists_the_household():
    """The rules themselves: a member's answer with Gezinsleden is flagged (MAGDA-Mock 10712995476 vs 84640438954)."""
    canned = canned_shapes("Persoon/GeefPersoon/02.02.0000", canned_person_kinds)
    folder = reference.testcases_root() / "Persoon" / "GeefPersoon" / "02.02.0000"
    member = antwoord(etree.parse(str(folder / "10712995476.xml")).getroot())
    ref = antwoord(etree.parse(str(folder / "84640438954.xml")).getroot())
    assert member is not None and ref is not None
    assert not [d for d in divergences("GeefPersoon", {"member"}, shape_of(member), canned) if "never sent" in d]
    persoon = member.find("Inhoud/Persoon")
    persoon.append(ref.find("Inhoud/Persoon/Gezinsleden"))
    flagged = list(divergences("GeefPersoon", {"member"}, shape_of(member), canned))
    assert any("/Gezinsleden never sent" in d for d in flagged), flagged
