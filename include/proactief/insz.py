"""INSZ (Identificatienummer van de Sociale Zekerheid): structure, checksum and pseudonyms.

An INSZ is a Rijksregister number or a bis number (KSZ register): 11 digits ``YYMMDDSSSCC``.
Bis numbers add 20 or 40 to the month; MAGDA test (TST) numbers add 60. A "TST bis" month (+ 80) passes the
checksum but not every MAGDA schema: the KSZ ``SsinType`` (GeefDossierHandicap) takes only months 00-12, 20-32,
40-52 and 60-72 (the client checks each service's own XSD before sending, see ``proactief.magda.subject``).
The check digits are ``97 - (YYMMDDSSS mod 97)``, or for people born from 2000 on
``97 - ((2000000000 + YYMMDDSSS) mod 97)``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from enum import StrEnum

__all__ = ["InvalidINSZ", "INSZKind", "is_valid_insz", "validate_insz", "insz_kind", "pseudonym"]


class InvalidINSZ(ValueError):
    """An INSZ that is not 11 digits or whose check digits do not match (MAGDA 20002)."""


class INSZKind(StrEnum):
    RIJKSREGISTER = "rijksregister"
    BIS = "bis"
    TEST = "test"
    TEST_BIS = "test-bis"


def _checksum_ok(digits: str) -> bool:
    base = int(digits[:9])
    check = int(digits[9:])
    return 97 - base % 97 == check or 97 - (2_000_000_000 + base) % 97 == check


def _month_ok(digits: str) -> bool:
    """Months 00-12 (00: month of birth unknown), + 20 or + 40 for bis numbers, + 60 for TST, + 80 for TST bis."""
    return int(digits[2:4]) % 20 <= 12


def is_valid_insz(value: object) -> bool:
    """True when ``value`` is an 11-digit string with valid check digits."""
    return (
        isinstance(value, str)
        and len(value) == 11
        and value.isascii()
        and value.isdigit()
        and _month_ok(value)
        and int(value[4:6]) <= 31
        and _checksum_ok(value)
    )


def validate_insz(value: object) -> str:
    """Return the INSZ unchanged or raise :class:`InvalidINSZ` with a message free of the value itself."""
    if not isinstance(value, str):
        raise InvalidINSZ(f"INSZ must be a string of 11 digits, got {type(value).__name__}")
    if len(value) != 11 or not value.isascii() or not value.isdigit():
        raise InvalidINSZ(f"INSZ must be exactly 11 digits (got {len(value)} characters)")
    if not _month_ok(value):
        raise InvalidINSZ("INSZ has an impossible month of birth (00-12, or + 20/40 bis, + 60/80 test numbers)")
    if int(value[4:6]) > 31:
        raise InvalidINSZ("INSZ has an impossible day of birth")
    if not _checksum_ok(value):
        raise InvalidINSZ("INSZ check digits do not match (modulo 97)")
    return value


def insz_kind(insz: str) -> INSZKind:
    """Which register numbering an (already valid) INSZ belongs to, from its month digits."""
    month = int(insz[2:4])
    if month >= 80:
        return INSZKind.TEST_BIS
    if month >= 60:
        return INSZKind.TEST
    if month >= 20:
        return INSZKind.BIS
    return INSZKind.RIJKSREGISTER


_DEFAULT_KEY_ENV = "PROACTIEF_PSEUDONYM_KEY"


def pseudonym(insz: str, key: bytes | None = None) -> str:
    """A keyed, stable pseudonym for logs: identifies a person to someone holding the key, nobody else."""
    if key is None:
        key = os.environ.get(_DEFAULT_KEY_ENV, "proactief-dev-pseudonym-key").encode()
    return "p-" + hmac.new(key, insz.encode(), hashlib.sha256).hexdigest()[:16]
