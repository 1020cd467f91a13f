"""The MAGDA.md error table, and the decisions for codes outside it."""

from __future__ import annotations

import pytest

from proactief.magda.audit import OutcomeClass as O
from proactief.magda.uitzondering import Uitzondering, classify, classify_code, decide, scrub
from proactief.magda.uitzondering import UitzonderingType as T


def u(code: str, type_: T = T.FOUT, **kw: object) -> Uitzondering:
    return Uitzondering(code, "MAGDA", type_, "diagnose", **kw)  # type: ignore[arg-type]


TABLE = [
    ("30001", T.FOUT, O.DEFINITIVE), ("30003", T.FOUT, O.DEFINITIVE),
    ("45008", T.INFORMATIE, O.DEFINITIVE),
    ("40003", T.FOUT, O.NEEDS_INSCRIPTION),
    ("40143", T.WAARSCHUWING, O.OK),
    ("20002", T.FOUT, O.DATA_ERROR), ("30004", T.WAARSCHUWING, O.DATA_ERROR),
    ("13001", T.FOUT, O.CONFIGURATION_ERROR), ("40001", T.FOUT, O.CONFIGURATION_ERROR),
    ("40005", T.FOUT, O.CONFIGURATION_ERROR), ("40006", T.FOUT, O.CONFIGURATION_ERROR),
    ("13501", T.FOUT, O.CONFIGURATION_ERROR),
    ("99996", T.FOUT, O.TRANSIENT), ("99995", T.FOUT, O.TRANSIENT), ("60006", T.FOUT, O.TRANSIENT),
    ("60007", T.FOUT, O.TRANSIENT), ("60009", T.FOUT, O.TRANSIENT), ("99994", T.FOUT, O.TRANSIENT),
    ("70002", T.FOUT, O.TRANSIENT), ("99997", T.FOUT, O.TRANSIENT),
    ("70001", T.WAARSCHUWING, O.OK),
]


@pytest.mark.parametrize(("code", "type_", "expected"), TABLE)
def test_codes_of_the_magda_table(code: str, type_: T, expected: O) -> None:
    assert classify(u(code, type_)) is expected


@pytest.mark.parametrize(("code", "type_", "expected"), [
    ("30101", T.FOUT, O.DEFINITIVE),  # "Geen gegevens gevonden" (Onderwijs)
    ("30016", T.FOUT, O.DEFINITIVE),  # mutations: nothing pending
    ("30014", T.FOUT, O.DATA_ERROR),  # mutations: invalid receipt
    ("40000", T.FOUT, O.DATA_ERROR),  # Aanslagbiljet: "Adres: Ongeldige straatcode"
    ("20110", T.FOUT, O.CONFIGURATION_ERROR),  # too many questions in one message: our bug
    ("30042", T.INFORMATIE, O.OK),  # several occurrences, one returned
    ("99984", T.WAARSCHUWING, O.OK),  # description missing for a code
])
def test_codes_seen_in_the_canned_data_outside_the_table(code: str, type_: T, expected: O) -> None:
    assert classify(u(code, type_)) is expected


def test_unknown_warnings_and_information_never_block_reading() -> None:
    assert classify(u("12345", T.WAARSCHUWING)) is O.OK
    assert classify(u("54321", T.INFORMATIE)) is O.OK
    assert classify([u("12345", T.WAARSCHUWING)], has_content=False) is O.DEFINITIVE


@pytest.mark.parametrize("code", ["12345", "30999", "41000", "50000", "80001", "69999", "90000", "99999"])
def test_an_unknown_fout_never_becomes_a_definitive_no(code: str) -> None:
    cls = classify_code(code, T.FOUT)
    assert cls in (O.TRANSIENT, O.DATA_ERROR)
    assert cls is (O.TRANSIENT if code[0] in "69" else O.DATA_ERROR)
    assert classify([u(code), u("30001")]) is not O.DEFINITIVE


def test_the_most_blocking_exception_decides() -> None:
    assert decide([u("30001"), u("99996")]) == (O.TRANSIENT, u("99996"))
    assert classify([u("99996"), u("40003")]) is O.NEEDS_INSCRIPTION
    assert classify([u("40003"), u("20002")]) is O.DATA_ERROR
    assert classify([u("20002"), u("13001")]) is O.CONFIGURATION_ERROR
    assert classify([u("70001", T.WAARSCHUWING), u("30042", T.INFORMATIE)]) is O.OK


def test_no_exceptions_means_ok_with_content_and_definitive_without() -> None:
    assert decide([]) == (O.OK, None)
    assert decide([], has_content=False) == (O.DEFINITIVE, None)
    assert classify([u("70001", T.WAARSCHUWING)], has_content=False) is O.DEFINITIVE


def test_annotations_are_found_by_name_and_kept_out_of_repr() -> None:
    x = u("99996", annotaties=(("INSZ", "84640438954"),))
    assert x.annotatie("insz") == "84640438954" and x.annotatie("other") is None
    assert "84640438954" not in repr(x)


def test_scrub_blanks_values_that_may_identify_a_person() -> None:
    text = "Element 'INSZ': [facet 'pattern'] The value '8464043895' is not accepted; persoon 84640438954"
    clean = scrub(text)
    assert "84640438954" not in clean and "8464043895" not in clean and "Element 'INSZ'" in clean
