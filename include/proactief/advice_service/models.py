"""What goes in and out of the advice service. The response models are the boundary: they have no field that
could carry a MAGDA value (no statute periods, incomes, card or vehicle data, addresses, names, dates of birth),
refuse extra fields, and constrain every string to a code, a reference or the scheme's own wording.

Amounts and percentages are the scheme's tariffs for the decided tier, not the person's; reasons are the scheme's
reason codes (``RESIDENT_GHENT``, ``STATUTE_BIM_BVT``): which rule decided, not what MAGDA answered.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from proactief.insz import InvalidINSZ, validate_insz

__all__ = ["AdviceOut", "AdviceRequest", "BatchRequest", "BatchResult", "BatchStatus", "BatchSubject",
           "CityFacts", "GrantTermsOut", "OcmwPeriodIn", "StagedAdviceOut", "TraceOut"]

Decision = Literal["eligible", "not_eligible", "undetermined"]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,79}$")]
"""A reason code: upper-case letters, digits and underscores, never a number or a date."""
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,79}$")]
Reference = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]
"""A MAGDA ``Referte`` (a UUID): what the audit trail of the service knows the question by."""
BatchId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,119}$")]
Insz = Annotated[str, StringConstraints(pattern=r"^[0-9]{11}$")]
Service = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9._-]{0,119}$")]
"""A MAGDA service's name (``Persoon.GeefPersoon-02.02``)."""
Purpose = Literal["advice", "grant"]
_NO_DIGIT_RUN = 8
"""A batch id or key with this many digits in a row could be an INSZ (ids appear in URLs and logs): refused."""


def _checked_insz(value: str) -> str:
    try:
        validate_insz(value)
    except InvalidINSZ as exc:
        raise ValueError(f"invalid INSZ: {exc}") from None
    return value


def _no_number(value: str | None) -> str | None:
    run = 0
    for ch in value or "":
        run = run + 1 if ch.isdigit() else 0
        if run >= _NO_DIGIT_RUN:
            raise ValueError("must not contain a run of 8 or more digits (it could be a national number)")
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OcmwPeriodIn(_In):
    """A period of OCMW budget management or debt mediation the city knows of, for the subject or a member of its
    household (``insz``; default the subject)."""

    kind: Literal["budgetbeheer", "schuldbemiddeling"]
    begin: dt.date
    end: dt.date | None = None
    insz: Insz | None = None

    _insz = field_validator("insz")(lambda v: None if v is None else _checked_insz(v))


class CityFacts(_In):
    """The city's own facts about a subject, as far as the scheme needs them (``scheme.city_data``)."""

    ocmw: list[OcmwPeriodIn] = Field(default_factory=list, max_length=200)
    ocmw_delivered: bool = True
    """False: the OCMW data set was not delivered; OCMW criteria are undetermined, never "no"."""
    enrolled: bool | None = False
    """Enrolled in a city school or childcare for the school year D starts; None: enrolments not delivered."""
    household: list[Insz] | None = Field(default=None, max_length=50)
    """The other members of the subject's household in the city's register extract: a hint for bulk questions
    only (MAGDA decides who the household is). None: not sent (``household_differs`` is then never set)."""


class AdviceRequest(_In):
    """``POST /v1/advice``: one subject, decided synchronously."""

    scheme: Name
    reference_date: dt.date
    """The scheme's reference date D (``Scheme.reference_date_for`` of the run date)."""
    insz: Insz
    city: CityFacts = Field(default_factory=CityFacts)

    _insz = field_validator("insz")(_checked_insz)


class TraceOut(_Out):
    """One criterion as it was evaluated: the rule's wording and outcome, never the value it was evaluated on."""

    criterion: Annotated[str, StringConstraints(max_length=300)]
    label: Annotated[str, StringConstraints(max_length=300)]
    source: Annotated[str, StringConstraints(max_length=120)]
    outcome: Literal["true", "false", "unknown", "not_asked"]
    reason: Code | None = None
    tier: Name | None = None
    kind: Literal["criterion", "lookup"] = "criterion"

    @field_validator("criterion", "label", "source")
    @classmethod
    def _no_number(cls, value: str) -> str:
        _no_number(value)
        return value


class AdviceOut(_Out):
    """The advice about one subject: what the counter and the runs may see (the same keys as
    :meth:`proactief.advice.engine.Advice.to_json`, without the subject)."""

    scheme: Name
    reference_date: dt.date
    decision: Decision
    tier: Name | None
    amount: Decimal | None
    amounts: dict[Name, Decimal]
    percentages: dict[Name, Decimal]
    reasons: list[Code]
    rule_version: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._+-]{1,80}$")]
    valid_until: dt.date | None
    trace: list[TraceOut]
    consultation_count: int
    consultations: list[Reference]
    household_differs: bool = False

    @classmethod
    def from_advice(cls, advice: Any, *, compared_household: bool = True) -> AdviceOut:
        """From an :class:`~proactief.advice.engine.Advice` (its ``to_json``: no subject, no values).
        ``compared_household`` False: the caller sent no household, so there was nothing to differ from."""
        data = advice.to_json()
        data["household_differs"] = bool(data.get("household_differs")) and compared_household
        return cls.model_validate(data)

    def to_json(self) -> dict[str, Any]:
        """As :meth:`Advice.to_json` prints it (amounts as strings; ``household_differs`` only when true)."""
        out = self.model_dump(mode="json")
        if not out["household_differs"]:
            del out["household_differs"]
        return out


class GrantTermsOut(_Out):
    """What an advice grants, as a scheme run stages it (:func:`proactief.advice_service.staging.staged_summary`).

    Data minimisation, field by field: ``system``, ``valid_from``/``valid_until``, ``attributes``, ``amounts``,
    ``percentages`` are the scheme's own terms for the decided tier and period (the downstream system books
    them); ``key_parts`` make a retried run find its grant again (scheme, period, plate, end date; the ``subject``
    part stays empty here and is filled with an INSZ digest); ``vehicle_plate`` is the one vehicle the LEZ rules
    chose (the LEZ register exempts a plate, not a person); ``basis`` are the counts an amount was looked up by
    (IVAGO's household size: the voucher's amount depends on it and IVAGO wants it); ``sources`` name the sources
    the decision used (the letter says which data we used). No statute, income, card or address ever fits.
    """

    system: Name
    valid_from: dt.date
    valid_until: dt.date | None
    key_parts: list[tuple[Name, Annotated[str, StringConstraints(max_length=40)]]] = Field(max_length=12)
    attributes: dict[Name, Annotated[str, StringConstraints(max_length=120)]]
    vehicle_plate: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 .-]{1,20}$")] | None = None
    amounts: dict[Name, Decimal]
    percentages: dict[Name, Decimal]
    basis: dict[Name, Annotated[int, Field(ge=0, le=1000)]]
    sources: list[Annotated[str, StringConstraints(max_length=120)]] = Field(max_length=40)

    @field_validator("key_parts")
    @classmethod
    def _no_subject(cls, parts: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for name, value in parts:
            if name == "subject" and value:
                raise ValueError("the subject key part must stay empty (the run fills in an INSZ digest)")
            _no_number(value)
        return parts

    @field_validator("attributes")
    @classmethod
    def _plain_attributes(cls, attributes: dict[str, str]) -> dict[str, str]:
        for value in attributes.values():
            _no_number(value)
        return attributes

    @field_validator("sources")
    @classmethod
    def _plain_sources(cls, sources: list[str]) -> list[str]:
        for value in sources:
            _no_number(value)
        return sources


class StagedAdviceOut(AdviceOut):
    """The advice as a scheme run stages it (``purpose: grant`` batches): :class:`AdviceOut` plus what the run's
    grant and its data-quality gate strictly need, computed in the service by the runs' own code
    (:mod:`proactief.advice_service.staging`).

    Beyond the decision: ``grant_terms`` (:class:`GrantTermsOut`); ``grant_key``, the grant's idempotency key
    (scheme, period, plate, end date and a digest of the recipient's INSZ: not reversible); ``grant_recipient``,
    only for a household scheme asked about a member, the INSZ of the household's reference person on D, because
    the grant and the letter go to that person; ``transient`` / ``data_error``, whether an undetermined decision
    waits for MAGDA or the city, or is quarantined (the run's MAGDA gate counts them).
    """

    grant_terms: GrantTermsOut | None = None
    grant_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9|:._ -]{1,300}$")] | None = None
    grant_recipient: Insz | None = None
    transient: bool = False
    data_error: bool = False

    _recipient = field_validator("grant_recipient")(lambda v: None if v is None else _checked_insz(v))

    def staged(self) -> tuple[dict[str, Any], bool, bool]:
        """``(summary, transient, data_error)``: the summary exactly as
        :func:`proactief.advice_service.staging.staged_summary` built it in the service (absent keys stay absent)."""
        out = self.model_dump(mode="json")
        transient, data_error = out.pop("transient"), out.pop("data_error")
        if not out["household_differs"]:
            del out["household_differs"]
        for name in ("grant_terms", "grant_key", "grant_recipient"):
            if out[name] is None:
                del out[name]
        return out, transient, data_error


class BatchSubject(_In):
    insz: Insz
    key: Annotated[str, StringConstraints(max_length=120)] | None = None
    """The caller's own opaque key (e.g. its row id), echoed with the result; never an INSZ."""
    city: CityFacts = Field(default_factory=CityFacts)

    _insz = field_validator("insz")(_checked_insz)
    _key = field_validator("key")(_no_number)


class BatchRequest(_In):
    """``POST /v1/batches``: many subjects of one scheme and reference date, decided in the background."""

    batch_id: BatchId
    """Chosen by the caller (e.g. derived from run and chunk): the same id again is the same batch."""
    scheme: Name
    reference_date: dt.date
    subjects: list[BatchSubject] = Field(min_length=1)
    purpose: Purpose = "advice"
    """``grant``: a scheme run's chunk; each result is a :class:`StagedAdviceOut` (``staged``) instead of an
    :class:`AdviceOut`, and objectors among household members are withheld exactly as in a run."""

    _batch = field_validator("batch_id")(_no_number)


class BatchResult(_Out):
    position: int
    """The subject's index in the submitted ``subjects``."""
    key: str | None = None
    advice: AdviceOut | None = None
    """The advice (a ``purpose: advice`` batch)."""
    staged: StagedAdviceOut | None = None
    """The advice as a run stages it (a ``purpose: grant`` batch)."""
    error: Annotated[str, StringConstraints(max_length=300)] | None = None
    """Set instead of ``advice`` when MAGDA refused the questions (configuration error or SOAP Fault)."""


class BatchStatus(_Out):
    """``GET /v1/batches/{id}``: progress, and one page of results in submission order."""

    batch_id: str
    scheme: Name
    reference_date: dt.date
    state: Literal["pending", "running", "done"]
    total: int
    decided: int
    failed: int
    offset: int
    results: list[BatchResult]
    next_offset: int | None
    """Offset of the next page of decided results (None: no more decided yet, or the end)."""
    purpose: Purpose = "advice"
    answered: dict[Service, dt.date] = Field(default_factory=dict)
    """Per MAGDA service, the date of its latest ok/definitive answer while deciding the batch (a run's freshness:
    the as-of of what it learnt from that source). Names and dates only."""
    withheld_questions: int = 0
    """Questions not asked because the person they were about objected (a run's figure)."""
