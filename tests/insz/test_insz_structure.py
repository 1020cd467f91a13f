"""An INSZ is checked for its structure, not only its check digits: a month of birth that no numbering uses
(15, 99 …) is refused for ordinary, bis and TST numbers, with a message that does not repeat the number."""

from __future__ import annotations

import pytest

from proactief.insz import INSZKind, InvalidINSZ, insz_kind, is_valid_insz, validate_insz


def with_check_digits(first_nine: str, *, born_2000: bool = False) -> str:
    base = int(first_nine) + (2_000_000_000 if born_2000 else 0)
    return f"{first_nine}{97 - base % 97:02d}"


@pytest.mark.parametrize("month", ["13", "15", "19", "33", "39", "53", "59", "73", "79", "93", "99"])
def test_an_impossible_month_is_refused_even_with_valid_check_digits(month: str) -> None:
    insz = with_check_digits(f"85{month}01123")
    assert not is_valid_insz(insz)
    with pytest.raises(InvalidINSZ, match="impossible month") as caught:
        validate_insz(insz)
    assert insz not in str(caught.value)


@pytest.mark.parametrize(("month", "kind"), [
    ("00", INSZKind.RIJKSREGISTER), ("01", INSZKind.RIJKSREGISTER), ("12", INSZKind.RIJKSREGISTER),
    ("20", INSZKind.BIS), ("32", INSZKind.BIS), ("41", INSZKind.BIS), ("52", INSZKind.BIS),
    ("60", INSZKind.TEST), ("72", INSZKind.TEST), ("80", INSZKind.TEST_BIS), ("92", INSZKind.TEST_BIS),
])
def test_every_numbering_keeps_its_months(month: str, kind: INSZKind) -> None:
    insz = with_check_digits(f"85{month}01123")
    assert validate_insz(insz) == insz and insz_kind(insz) is kind


def test_born_from_2000_uses_the_other_check_digits() -> None:
    insz = with_check_digits("05061512345"[:9], born_2000=True)
    assert validate_insz(insz) == insz
    with pytest.raises(InvalidINSZ, match="impossible month"):
        validate_insz(with_check_digits("05150112345"[:9], born_2000=True))


def test_the_published_magda_test_persons_stay_valid() -> None:
    for insz in ("84640438954", "86710585636", "44640618933", "73640618960", "91610100176", "85673012367"):
        assert is_valid_insz(insz), insz
