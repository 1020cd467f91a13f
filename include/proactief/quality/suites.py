"""The four lifecycle suites and the GX plumbing they share.

Every suite builds a narrow frame of its own (only the columns it checks, plus computed boolean columns), so GX
never sees other personal data. Results are read field by field: only expectation names, column names, counts and
shares are kept; GX's own result objects, exception messages and tracebacks (which may quote data) are dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas

__all__ = [
    "DQFailure",
    "DQResult",
    "check_decisions",
    "check_freshness",
    "check_magda_results",
    "check_population",
    "check_reconciliation",
    "merge_results",
]

log = logging.getLogger(__name__)

OUTCOMES = ("eligible", "not_eligible", "undetermined")
# SUMMARY gives counts and percentages; partial_unexpected_count 0 keeps sample values out of the result.
RESULT_FORMAT: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 0}


@dataclass(frozen=True)
class DQFailure:
    """One failed expectation, described without any data value."""

    expectation: str
    column: str | None
    unexpected_count: int | None
    unexpected_percent: float | None
    detail: str


@dataclass(frozen=True)
class DQResult:
    """Outcome of one suite: safe to log, to e-mail, to store in the ledger and to push to XCom."""

    suite: str
    success: bool
    evaluated: int
    failures: tuple[DQFailure, ...]
    statistics: Mapping[str, float | int] = field(hash=False)
    needs_approval: bool = False

    def summary(self) -> str:
        """One plain-text paragraph: verdict, each failure in words with counts, then the statistics."""
        verdict = "passed" if self.success else "FAILED"
        parts = [f"Data quality suite '{self.suite}' {verdict}: "
                 f"{self.evaluated - len(self.failures)} of {self.evaluated} expectations met."]
        if self.suite == "decisions" and "eligible_share" in self.statistics:
            parts.append(_share_sentence(self.statistics) + ".")
        for f in self.failures:
            where = f" on {f.column}" if f.column else ""
            parts.append(f"{f.detail} [{f.expectation}{where}].")
        if self.needs_approval:
            parts.append("Human approval is needed before decisions are applied.")
        stats = ", ".join(f"{k} {_fmt(v)}" for k, v in self.statistics.items())
        if stats:
            parts.append(f"Statistics: {stats}.")
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types only (for a ledger row and XCom)."""
        return {
            "suite": self.suite,
            "success": self.success,
            "evaluated": self.evaluated,
            "needs_approval": self.needs_approval,
            "failures": [asdict(f) for f in self.failures],
            "statistics": dict(self.statistics),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DQResult:
        """Rebuild a result pulled from XCom or the ledger."""
        return cls(
            suite=str(data["suite"]),
            success=bool(data["success"]),
            evaluated=int(data["evaluated"]),
            failures=tuple(DQFailure(**f) for f in data.get("failures", ())),
            statistics=MappingProxyType(dict(data.get("statistics", {}))),
            needs_approval=bool(data.get("needs_approval", False)),
        )


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _share_sentence(stats: Mapping[str, Any]) -> str:
    share = float(stats["eligible_share"]) * 100
    if "previous_eligible_share" not in stats:
        return f"eligible share {share:.1f}% (no comparison with a previous run)"
    prev = float(stats["previous_eligible_share"]) * 100
    jump = share - prev
    threshold = float(stats["threshold_points"])
    return (f"eligible share {share:.1f}% vs {prev:.1f}% in the previous run "
            f"({jump:+.1f} points, threshold {threshold:.1f})")


# --------------------------------------------------------------------------------------------------- GX plumbing

@dataclass(frozen=True)
class _Check:
    """An expectation to build once GX is imported, with the words used when it fails.

    ``detail`` is the whole failure text for aggregate expectations; for per-row ones the row counts are appended.
    """

    expectation: str  # GX class name, e.g. "ExpectColumnValuesToBeUnique"
    kwargs: Mapping[str, Any]
    detail: str
    row_condition: tuple[str, bool] | None = None  # (boolean column, value): check only those rows
    per_row: bool = True  # False: a one-row frame of computed figures, row counts mean nothing


_lock = threading.Lock()
_batch_definition_cache: list[Any] = []


def _quiet_gx() -> None:
    """GX log records and exceptions can quote data values: keep them out of task logs entirely."""
    gx_log = logging.getLogger("great_expectations")
    gx_log.setLevel(logging.CRITICAL + 1)
    gx_log.propagate = False


def _batch_definition() -> Any:
    """One ephemeral context, pandas data source and whole-frame batch definition per process (creation is slow)."""
    if _batch_definition_cache:
        return _batch_definition_cache[0]
    _quiet_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.config.analytics_enabled = False
    source = context.data_sources.add_pandas(name="proactief_quality")
    asset = source.add_dataframe_asset(name="frame")
    definition = asset.add_batch_definition_whole_dataframe("whole_frame")
    _batch_definition_cache.append(definition)
    return definition


def _raised(exception_info: Any) -> bool:
    if not isinstance(exception_info, Mapping):
        return False
    if exception_info.get("raised_exception"):
        return True
    return any(isinstance(v, Mapping) and v.get("raised_exception") for v in exception_info.values())


def _run(
    suite_name: str,
    frame: pandas.DataFrame,
    checks: list[_Check],
    statistics: Mapping[str, float | int],
) -> DQResult:
    """Validate ``frame`` against ``checks`` in the shared context and keep counts only."""
    with _lock:
        definition = _batch_definition()
        import great_expectations as gx
        from great_expectations.expectations.row_conditions import Column

        suite = gx.ExpectationSuite(name=f"proactief_{suite_name}")
        for i, check in enumerate(checks):
            kwargs = dict(check.kwargs)
            if check.row_condition is not None:
                column, value = check.row_condition
                kwargs["row_condition"] = Column(column) == value
            suite.add_expectation(getattr(gx.expectations, check.expectation)(meta={"proactief_check": i}, **kwargs))
        try:
            batch = definition.get_batch(batch_parameters={"dataframe": frame})
            outcome = batch.validate(suite, result_format=RESULT_FORMAT)
        except Exception as exc:
            # GX messages may quote data: keep only the exception type (and drop the chained original).
            raise RuntimeError(f"{suite_name} suite: GX validation failed ({type(exc).__name__})") from None
        finally:
            # The data source's execution engine caches the last batch and its metrics: drop them, so neither the
            # frame nor computed values outlive the check in this long-lived context.
            definition.data_asset.datasource._execution_engine = None

    failures: dict[int, DQFailure] = {}
    for r in outcome.results:
        if r.success:
            continue
        index = int(r.expectation_config.meta["proactief_check"])
        check = checks[index]
        column = check.kwargs.get("column")
        if _raised(r.exception_info):
            failures[index] = DQFailure(r.expectation_config.type, column, None, None,
                                        f"{check.detail}: could not be evaluated (GX raised an error)")
            continue
        res = r.result if check.per_row and r.result else {}
        count = res.get("unexpected_count")
        percent = res.get("unexpected_percent")  # GX: share of the non-missing rows checked
        count = None if count is None else int(count)
        percent = None if percent is None else round(float(percent), 4)
        detail = check.detail
        if count is not None:
            of = res.get("element_count")
            if of is not None:
                detail += f": {count} of {int(of) - int(res.get('missing_count') or 0)} rows checked"
            else:
                detail += f": {count} rows"
            if percent is not None:
                detail += f" ({percent:.2f}%)"
        failures[index] = DQFailure(r.expectation_config.type, column, count, percent, detail)
    ordered = tuple(failures[i] for i in sorted(failures))
    result = DQResult(
        suite=suite_name,
        success=not ordered,
        evaluated=len(checks),
        failures=ordered,
        statistics=MappingProxyType(dict(statistics)),
    )
    log.info("%s", result.summary())
    return result


def _require(frame: pandas.DataFrame, suite: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{suite} suite: frame lacks column(s) {', '.join(missing)}")


def _empty_to_none(series: pandas.Series) -> pandas.Series:
    """None for missing and blank values, str otherwise (object dtype)."""
    import pandas as pd

    def norm(v: object) -> object:
        if v is None or (not isinstance(v, str) and pd.isna(v)):  # type: ignore[call-overload]
            return None
        s = v if isinstance(v, str) else str(v)
        return s if s.strip() else None

    return series.map(norm).astype(object)


def _as_bool(series: pandas.Series) -> pandas.Series:
    return series.fillna(False).astype(bool)


# -------------------------------------------------------------------------------------------------------- suites

def check_population(frame: pandas.DataFrame, *, max_household_anomaly_share: float = 0.005) -> DQResult:
    """Population snapshot before selection: valid, unique INSZ and one reference person per household.

    A real extract lags the register by some days: a reference person who died last week is still listed beside
    the successor who already carries position 01. A few such households are normal (MAGDA, not the extract,
    decides who lives where), so that expectation fails only above ``max_household_anomaly_share`` of the rows;
    the INSZ expectations tolerate nothing."""
    import pandas as pd

    from proactief.insz import is_valid_insz

    _require(frame, "population", ("insz", "household_id", "reference_person"))
    insz = _empty_to_none(frame["insz"])
    shaped = insz.str.fullmatch(r"\d{11}").fillna(False).astype(bool)
    # None where the shape check already fails or the value is missing: each bad row counts in one expectation.
    valid = pd.Series([is_valid_insz(v) if ok else None for v, ok in zip(insz, shaped, strict=True)],
                      index=frame.index, dtype=object)
    household = _empty_to_none(frame["household_id"])
    reference = _as_bool(frame["reference_person"]).astype(int)
    references = reference.groupby(household).sum()  # NaN keys (no household) are dropped
    one_reference = household.map(references == 1)
    one_reference = one_reference.where(household.notna(), None).astype(object)
    narrow = pd.DataFrame({"insz": insz, "insz_valid": valid, "household_has_one_reference_person": one_reference})

    checks = [
        _Check("ExpectTableRowCountToBeBetween", {"min_value": 1}, "the population is empty"),
        _Check("ExpectColumnValuesToNotBeNull", {"column": "insz"}, "INSZ missing"),
        _Check("ExpectColumnValuesToMatchRegex", {"column": "insz", "regex": r"^\d{11}$"},
               "INSZ is not 11 digits"),
        _Check("ExpectColumnValuesToBeInSet", {"column": "insz_valid", "value_set": [True]},
               "INSZ has 11 digits but fails the modulo-97 check or has an impossible date"),
        _Check("ExpectColumnValuesToBeUnique", {"column": "insz"}, "INSZ occurs more than once"),
        _Check("ExpectColumnValuesToBeInSet", {"column": "household_has_one_reference_person", "value_set": [True],
                                               "mostly": 1.0 - max_household_anomaly_share},
               "person in a household without exactly one reference person"),
    ]
    statistics = {
        "rows": len(frame),
        "households": int(references.size),
        "persons_without_household": int(household.isna().sum()),
        "households_without_one_reference_person": int((references != 1).sum()),
    }
    return _run("population", narrow, checks, statistics)


def check_freshness(sources: Sequence[Mapping[str, Any]]) -> DQResult:
    """The sources a run uses, judged against its reference date (:mod:`proactief.freshness`): one expectation per
    source, failing when it is stale. Each row: ``source`` (id), ``stale`` (bool), ``message`` (one sentence naming
    the source and how old it is), ``age_days`` (int or None: unknown). No data values, only names and dates."""
    import pandas as pd

    if not sources:
        return DQResult("freshness", True, 0, (), MappingProxyType({"sources": 0, "stale_sources": 0}))
    row = {f"{s['source']}_fresh": not bool(s["stale"]) for s in sources}
    checks = [_Check("ExpectColumnValuesToBeInSet", {"column": f"{s['source']}_fresh", "value_set": [True]},
                     f"stale source: {s['message']}", per_row=False) for s in sources]
    statistics: dict[str, float | int] = {"sources": len(sources),
                                          "stale_sources": sum(1 for s in sources if s["stale"])}
    for s in sources:
        if s.get("age_days") is not None:
            statistics[f"{s['source']}_age_days"] = int(s["age_days"])
    return _run("freshness", pd.DataFrame([row]), checks, statistics)


def merge_results(suite: str, first: DQResult, second: DQResult) -> DQResult:
    """One gate's result from two suites: failures of ``first`` listed first (they lead the summary, and so the
    operators' e-mail, which keeps the exception's first 500 characters)."""
    return DQResult(suite=suite, success=first.success and second.success,
                    evaluated=first.evaluated + second.evaluated, failures=(*first.failures, *second.failures),
                    statistics=MappingProxyType({**second.statistics, **first.statistics}),
                    needs_approval=first.needs_approval or second.needs_approval)


def check_magda_results(
    frame: pandas.DataFrame, *, selected: int, max_transient_share: float = 0.05,
    max_data_error_share: float = 0.05, min_rows_for_data_error_share: int = 200,
) -> DQResult:
    """MAGDA answers of a run: one per selected subject; too many transient errors fails the run, not the person.

    An optional ``data_error`` column marks subjects quarantined for a MAGDA data error (20002, 30004 …): they
    are counted apart (``data_errors``; the operators are told), must be undetermined, and only a share that no
    set of bad records explains (above ``max_data_error_share``: a systemic refusal) fails the run — judged from
    ``min_rows_for_data_error_share`` results on: a re-evaluation of a few changed persons (a new INSZ is a
    mutation) would otherwise fail on one record."""
    import pandas as pd

    if not 0.0 <= max_transient_share <= 1.0:
        raise ValueError("max_transient_share must be between 0 and 1")
    if not 0.0 <= max_data_error_share <= 1.0:
        raise ValueError("max_data_error_share must be between 0 and 1")
    _require(frame, "magda_results", ("subject", "outcome", "transient"))
    transient = _as_bool(frame["transient"])
    narrow = pd.DataFrame({
        "subject": _empty_to_none(frame["subject"]),
        "outcome": frame["outcome"].astype(object),
        "transient": transient,
    })
    rows = len(frame)
    n_transient = int(transient.sum())
    share = n_transient / rows if rows else 0.0
    n_data_errors = 0
    data_error_checks: list[_Check] = []
    if "data_error" in frame.columns:
        narrow["data_error"] = _as_bool(frame["data_error"])
        n_data_errors = int(narrow["data_error"].sum())
        data_share = n_data_errors / rows if rows else 0.0
        data_error_checks = [
            _Check("ExpectColumnValuesToBeInSet", {"column": "outcome", "value_set": ["undetermined"]},
                   "MAGDA data error but outcome is not undetermined", row_condition=("data_error", True)),
        ]
        if rows >= min_rows_for_data_error_share:
            data_error_checks.append(_Check("ExpectColumnValuesToBeInSet",
                   {"column": "data_error", "value_set": [False], "mostly": 1.0 - max_data_error_share},
                   f"share of MAGDA data errors {data_share * 100:.1f}% exceeds {max_data_error_share * 100:.1f}%: "
                   "a refusal of whole messages, not bad records"))
    checks = [
        _Check("ExpectTableRowCountToEqual", {"value": int(selected)},
               f"{rows} results for {int(selected)} selected subjects"),
        _Check("ExpectColumnValuesToNotBeNull", {"column": "subject"}, "subject missing"),
        _Check("ExpectColumnValuesToBeUnique", {"column": "subject"}, "subject has more than one result"),
        _Check("ExpectColumnValuesToBeInSet", {"column": "outcome", "value_set": list(OUTCOMES)},
               "outcome not one of " + ", ".join(OUTCOMES)),
        _Check("ExpectColumnValuesToBeInSet", {"column": "outcome", "value_set": ["undetermined"]},
               "transient MAGDA error but outcome is not undetermined", row_condition=("transient", True)),
        _Check("ExpectColumnValuesToBeInSet",
               {"column": "transient", "value_set": [False], "mostly": 1.0 - max_transient_share},
               f"share of transient MAGDA errors {share * 100:.1f}% exceeds {max_transient_share * 100:.1f}%"),
        *data_error_checks,
    ]
    # Where the city's extract and MAGDA disagree about a household, MAGDA decided (SCHEMES.md); the count tells
    # the population service to look at the extract. It fails nothing.
    n_household = (int(_as_bool(frame["household_differs"]).sum())
                   if "household_differs" in frame.columns else 0)
    statistics = {
        "selected": int(selected),
        "results": rows,
        "household_disagreements": n_household,
        "answered": rows - n_transient,
        "transient": n_transient,
        "transient_share": round(share, 6),
        "max_transient_share": max_transient_share,
        "data_errors": n_data_errors,
    }
    return _run("magda_results", narrow, checks, statistics)


def _counts(counts: Mapping[str, int], which: str) -> dict[str, int]:
    unknown = sorted(set(counts) - set(OUTCOMES))
    if unknown:
        raise ValueError(f"{which} counts have unknown outcome(s) {', '.join(unknown)}")
    out = {k: int(counts.get(k, 0)) for k in OUTCOMES}
    if any(v < 0 for v in out.values()):
        raise ValueError(f"{which} counts must not be negative")
    return out


def check_decisions(
    counts: Mapping[str, int], previous: Mapping[str, int] | None, *, max_jump: float = 0.10
) -> DQResult:
    """Compare the eligible share with the previous run; a jump beyond ``max_jump`` share points needs approval.

    A first run (``previous`` None) or a previous run without decisions has nothing to compare with and passes.
    A run without any decision fails (no approval: there is nothing to approve).
    """
    import pandas as pd

    now = _counts(counts, "current")
    total = sum(now.values())
    share = now["eligible"] / total if total else 0.0
    statistics: dict[str, float | int] = {**now, "total": total, "eligible_share": round(share, 6)}
    row: dict[str, Any] = {"total": total, "eligible_share_jump": None}
    checks = [_Check("ExpectColumnValuesToBeBetween", {"column": "total", "min_value": 1},
                     "this run has no decisions", per_row=False)]
    if previous is not None:
        before = _counts(previous, "previous")
        prev_total = sum(before.values())
        statistics["previous_total"] = prev_total
        if prev_total and total:
            prev_share = before["eligible"] / prev_total
            jump = round(abs(share - prev_share), 9)  # rounding: a jump equal to max_jump passes
            statistics.update(previous_eligible_share=round(prev_share, 6), jump_points=round(jump * 100, 4),
                              threshold_points=round(max_jump * 100, 4))
            row["eligible_share_jump"] = jump
            checks.append(_Check("ExpectColumnValuesToBeBetween",
                                 {"column": "eligible_share_jump", "min_value": 0.0, "max_value": max_jump},
                                 f"eligible share changed by more than {max_jump * 100:.1f} points",
                                 per_row=False))
    frame = pd.DataFrame([row]).astype({"eligible_share_jump": float})
    result = _run("decisions", frame, checks, statistics)
    if any(f.column == "eligible_share_jump" for f in result.failures):
        result = DQResult(result.suite, result.success, result.evaluated, result.failures, result.statistics,
                          needs_approval=True)
    return result


def check_reconciliation(frame: pandas.DataFrame) -> DQResult:
    """After granting: exactly one grant per eligible decision, none for people who opted out."""
    import pandas as pd

    _require(frame, "reconciliation", ("subject", "grants", "opted_out"))
    opted_out = _as_bool(frame["opted_out"])
    grants = pd.to_numeric(frame["grants"]).fillna(0).astype(int)
    narrow = pd.DataFrame({"subject": _empty_to_none(frame["subject"]), "grants": grants, "opted_out": opted_out})
    checks = [
        _Check("ExpectColumnValuesToBeUnique", {"column": "subject"}, "subject has more than one decision row"),
        _Check("ExpectColumnValuesToBeBetween", {"column": "grants", "min_value": 1, "max_value": 1},
               "eligible subject without exactly one grant", row_condition=("opted_out", False)),
        _Check("ExpectColumnValuesToBeBetween", {"column": "grants", "min_value": 0, "max_value": 0},
               "subject who opted out has a grant", row_condition=("opted_out", True)),
    ]
    to_grant = ~opted_out
    statistics = {
        "rows": len(frame),
        "to_grant": int(to_grant.sum()),
        "opted_out": int(opted_out.sum()),
        "granted_once": int((to_grant & (grants == 1)).sum()),
        "missing_grant": int((to_grant & (grants == 0)).sum()),
        "duplicate_grant": int((to_grant & (grants > 1)).sum()),
        "granted_despite_opt_out": int((opted_out & (grants > 0)).sum()),
    }
    return _run("reconciliation", narrow, checks, statistics)
