"""MAGDA answers → observations, on the canned MAGDA-Mock answers (no network): the outcome semantics of MAGDA.md."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from proactief.advice.observe import (
    register_from_answer,
    social_cards_from_answer,
    statutes_from_answer,
    tax_from_answer,
    vehicles_from_answer,
)
from proactief.magda.audit import OutcomeClass
from proactief.magda.parse import parse_response, parse_vehicle_registrations
from proactief.magda.results import MagdaAnswer
from proactief.schemes import Statute
from proactief.schemes.derive import ghent_resident, parking_card_valid
from proactief.schemes.observations import Answer, PersonObservation, RegisterRecord, Span, StatuteAnswer

D = dt.date(2026, 11, 1)
PERSOON = "Persoon.GeefPersoon-02.02"
STATUUT = "SocZek.GeefSociaalStatuut-03.00"
HANDICAP = "SocZek.GeefDossierHandicap-03.00"
TAX = "Inkomen.GeefAanslagbiljetPersonenbelasting-02.00"


def canned(shared: Path, folder: str, name: str, service: str) -> MagdaAnswer:  # type: ignore[type-arg]
    return parse_response(service, (shared / "testcases" / folder / f"{name}.xml").read_bytes())


def test_persoon_ghent_household(shared_magda: Path) -> None:
    obs = register_from_answer(canned(shared_magda, "Persoon/GeefPersoon/02.02.0000", "84640438954", PERSOON), D)
    rec = obs.record
    assert isinstance(rec, RegisterRecord)
    assert rec.born == dt.date(1984, 4, 4) and rec.died is None
    assert [(a.kind, a.nis_code, a.postcode) for a in rec.addresses] == [("main", "44021", "9000")]
    assert rec.addresses[0].span == Span(dt.date(2004, 4, 4), None)
    # His Referentiepersoon is an ended position 03 (once a son in his parents' household): today he is the
    # reference person of his own household, which is why his answer lists the Gezinsleden.
    assert rec.reference_person is True and obs.reference is None
    assert ghent_resident(rec, D) is True
    assert isinstance(obs.members, tuple) and len(obs.members) >= 4
    partner = obs.members[0]
    assert partner.register.born == dt.date(1988, 8, 15) and partner.membership.start == dt.date(2004, 4, 4)
    assert not any(m.register.reference_person for m in obs.members)
    assert "8868" not in repr(obs) and "8868" not in repr(partner)  # no INSZ in a repr


@pytest.mark.parametrize(("member", "reference"), [("10712995476", "84640438954"), ("15663045929", "81652315946"),
                                                   ("15692423467", "87631845908"), ("14641974142", "88661177739")])
def test_a_members_answer_names_its_reference_person_and_no_household(shared_magda: Path, member: str,
                                                                       reference: str) -> None:
    # MAGDA-Mock: only the reference person's GeefPersoon lists Gezinsleden; a member's names its Referentiepersoon.
    obs = register_from_answer(canned(shared_magda, "Persoon/GeefPersoon/02.02.0000", member, PERSOON), D)
    assert isinstance(obs.record, RegisterRecord) and obs.record.reference_person is False
    assert obs.reference == reference and obs.members == ()
    assert reference not in repr(obs) and member not in repr(obs)
    head = register_from_answer(canned(shared_magda, "Persoon/GeefPersoon/02.02.0000", reference, PERSOON), D)
    assert isinstance(head.record, RegisterRecord) and head.record.reference_person is True
    assert head.reference is None and member in {m.insz for m in head.members}  # type: ignore[union-attr]


@pytest.mark.parametrize("insz", ["73640618960", "72640618939"])  # 9070 Destelbergen, 9820 Merelbeke
def test_lookalike_postcode_is_not_ghent(shared_magda: Path, insz: str) -> None:
    rec = register_from_answer(canned(shared_magda, "Persoon/GeefPersoon/02.02.0000", insz, PERSOON), D).record
    assert isinstance(rec, RegisterRecord)
    assert rec.addresses[0].postcode and rec.addresses[0].postcode[:2] in ("90", "98")
    assert ghent_resident(rec, D) is False


def test_contact_address_only_is_not_a_residence(shared_magda: Path) -> None:
    rec = register_from_answer(canned(shared_magda, "Persoon/GeefPersoon/02.02.0000", "83320675958", PERSOON), D).record
    assert isinstance(rec, RegisterRecord)
    assert [(a.kind, a.nis_code) for a in rec.addresses] == [("contact", "44021")]
    assert ghent_resident(rec, D) is False


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("74612515806", Answer.NO_DATA),  # 30001: definitive, the criterion is false
        ("notfound", Answer.NO_DATA),
        ("91610100176", Answer.TRANSIENT),  # 99996: undetermined, never a refusal
        ("75680836687", Answer.TRANSIENT),  # 30004 new INSZ: data error, no decision
    ],
)
def test_persoon_without_data(shared_magda: Path, name: str, expected: Answer) -> None:
    obs = register_from_answer(canned(shared_magda, "Persoon/GeefPersoon/02.02.0000", name, PERSOON), D)
    assert obs.record is expected and obs.members is expected


def test_needs_inscription_left_after_registration_is_transient() -> None:
    answer = MagdaAnswer(PERSOON, OutcomeClass.NEEDS_INSCRIPTION, code="40003")
    assert register_from_answer(answer, D).record is Answer.TRANSIENT
    assert statutes_from_answer(MagdaAnswer(STATUUT, OutcomeClass.NEEDS_INSCRIPTION), ["BIM_BVT"]) == {
        Statute.BIM_BVT: Answer.TRANSIENT
    }


def test_statutes(shared_magda: Path) -> None:
    answer = canned(shared_magda, "SocZek/GeefSociaalStatuut/03.00.0000", "84640438954", STATUUT)
    got = statutes_from_answer(answer, ["BIM_BVT", "LIVING_WAGES_PCSA_HELP"])
    assert got[Statute.BIM_BVT] == StatuteAnswer(1, (Span(dt.date(2024, 1, 1), dt.date(2030, 1, 1)),))
    assert got[Statute.LIVING_WAGES_PCSA_HELP] is Answer.NO_DATA  # not listed in the answer: absent = false
    transient = MagdaAnswer(STATUUT, OutcomeClass.TRANSIENT, code="99996")
    assert statutes_from_answer(transient, ["BIM_BVT"]) == {Statute.BIM_BVT: Answer.TRANSIENT}
    definitive = MagdaAnswer(STATUUT, OutcomeClass.DEFINITIVE, code="30003")
    assert statutes_from_answer(definitive, ["BIM_BVT"]) == {Statute.BIM_BVT: Answer.NO_DATA}


def test_social_cards(shared_magda: Path) -> None:
    answer = canned(shared_magda, "SocZek/GeefDossierHandicap/03.00.0000", "12630962125", HANDICAP)
    cards = social_cards_from_answer(answer)
    assert isinstance(cards, tuple)
    assert {c.category for c in cards} == {"PARKINGCARD", "REDUCTIONCARD"}
    assert parking_card_valid(PersonObservation(social_cards=cards), D) is True
    only_reduction = tuple(c for c in cards if c.category == "REDUCTIONCARD")
    assert parking_card_valid(PersonObservation(social_cards=only_reduction), D) is False
    assert social_cards_from_answer(MagdaAnswer(HANDICAP, OutcomeClass.TRANSIENT)) is Answer.TRANSIENT


def test_tax(shared_magda: Path) -> None:
    folder = "Inkomen/GeefAanslagbiljetPersonenbelasting/02.00.0000"
    tax = tax_from_answer(canned(shared_magda, folder, "81652315946", TAX))
    assert not isinstance(tax, Answer)
    assert tax.article == "727270607" and tax.items["A7555"] == 1677545
    assert tax_from_answer(canned(shared_magda, folder, "notfound", TAX)) is Answer.YEAR_MISSING  # 45008
    assert tax_from_answer(MagdaAnswer(TAX, OutcomeClass.DEFINITIVE, code="30001")) is Answer.NO_DATA
    assert tax_from_answer(MagdaAnswer(TAX, OutcomeClass.TRANSIENT, code="60006")) is Answer.TRANSIENT


def test_vehicles(shared_magda: Path) -> None:
    raw = (shared_magda / "rest/__files/mobility/registrations/1ABC123.json").read_bytes()
    found = parse_vehicle_registrations(raw)
    got = vehicles_from_answer(MagdaAnswer("Mobiliteit.Registrations-REST-v1", OutcomeClass.OK, found))
    assert isinstance(got, tuple) and got
    assert {v.plate for v in got} == {v.plate for v in found}
    assert all(v.titular in ("natural", "legal") for v in got)
    none = MagdaAnswer("Mobiliteit.Registrations-REST-v1", OutcomeClass.DEFINITIVE, ())
    assert vehicles_from_answer(none) == ()
    assert vehicles_from_answer(MagdaAnswer("x", OutcomeClass.TRANSIENT)) is Answer.TRANSIENT
