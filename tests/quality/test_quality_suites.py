"""The GX Core data-quality suites: real GX validations on small pandas frames; counts only, never values."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pandas as pd
import pytest

from proactief.insz import is_valid_insz
from proactief.quality import (
    DQResult,
    check_decisions,
    check_magda_results,
    check_population,
    check_reconciliation,
)


def insz(n: int) -> str:
    """A valid MAGDA test INSZ (month + 60), distinct for each n < 33,600."""
    base = int(f"{n // 336 % 100:02d}{61 + n // 28 % 12:02d}{1 + n % 28:02d}123")
    value = f"{base:09d}{97 - base % 97:02d}"
    assert is_valid_insz(value)
    return value


def bad_checksum(value: str) -> str:
    wrong = f"{(int(value[9:]) % 97) + 1:02d}"
    assert not is_valid_insz(value[:9] + wrong)
    return value[:9] + wrong


def population(n: int = 12) -> pd.DataFrame:
    """Households of three with one reference person each; every fourth household-less (contact address)."""
    rows = []
    for i in range(n):
        household = None if i // 3 % 4 == 3 else f"HH-{i // 3:04d}"
        rows.append({"insz": insz(i), "household_id": household, "reference_person": household is not None
                     and i % 3 == 0})
    return pd.DataFrame(rows)


def failed(result: DQResult) -> dict[tuple[str, str | None], int | None]:
    return {(f.expectation, f.column): f.unexpected_count for f in result.failures}


# ---------------------------------------------------------------------------------------------------- population

def test_population_passes_on_valid_unique_insz_and_one_reference_per_household() -> None:
    frame = population()
    before = frame.copy()
    result = check_population(frame)
    assert result.success, result.summary()
    assert result.suite == "population"
    assert result.evaluated == 6
    assert result.failures == ()
    assert dict(result.statistics) == {"rows": 12, "households": 3, "persons_without_household": 3,
                                       "households_without_one_reference_person": 0}
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is not modified


def test_population_counts_missing_and_blank_insz() -> None:
    frame = population()
    frame.loc[1, "insz"] = None
    frame.loc[2, "insz"] = "  "
    result = check_population(frame)
    assert not result.success
    assert failed(result) == {("expect_column_values_to_not_be_null", "insz"): 2}


def test_population_counts_insz_that_are_not_eleven_digits() -> None:
    frame = population()
    frame.loc[0, "insz"] = frame.loc[0, "insz"][:10]
    frame.loc[4, "insz"] = frame.loc[4, "insz"][:6] + "-" + frame.loc[4, "insz"][7:]
    result = check_population(frame)
    assert failed(result) == {("expect_column_values_to_match_regex", "insz"): 2}
    (failure,) = result.failures
    assert failure.unexpected_percent == pytest.approx(100 * 2 / 12, abs=1e-3)


def test_population_counts_insz_failing_the_modulo_97_check() -> None:
    frame = population()
    frame.loc[5, "insz"] = bad_checksum(frame.loc[5, "insz"])
    result = check_population(frame)
    assert failed(result) == {("expect_column_values_to_be_in_set", "insz_valid"): 1}
    assert "modulo-97" in result.failures[0].detail


def test_population_counts_every_row_of_a_duplicated_insz() -> None:
    frame = population()
    frame.loc[7, "insz"] = frame.loc[6, "insz"]
    result = check_population(frame)
    assert failed(result) == {("expect_column_values_to_be_unique", "insz"): 2}


def test_population_flags_households_without_exactly_one_reference_person() -> None:
    frame = population()
    frame.loc[1, "reference_person"] = True  # HH-0000 now has two reference persons
    frame.loc[3, "reference_person"] = False  # HH-0001 has none
    result = check_population(frame)
    assert failed(result) == {("expect_column_values_to_be_in_set", "household_has_one_reference_person"): 6}
    assert result.statistics["households_without_one_reference_person"] == 2


def test_population_tolerates_the_few_lagging_households_a_real_extract_has() -> None:
    """A reference person who died last week is still listed beside the successor: 2 rows in 1,200 pass."""
    frame = population(1200)
    frame.loc[1, "reference_person"] = True
    result = check_population(frame)
    assert result.success, result.summary()
    assert result.statistics["households_without_one_reference_person"] == 1
    assert not check_population(frame, max_household_anomaly_share=0.0).success


def test_a_generated_extract_passes_the_population_suite(tmp_path) -> None:
    from proactief_sim.population.generator import generate

    generate(3000, 11, out=tmp_path)
    frame = pd.read_csv(tmp_path / "residents.csv", dtype=str, keep_default_na=False)
    frame["reference_person"] = frame["reference_person"] == "true"
    result = check_population(frame)
    assert result.success, result.summary()


def test_population_fails_when_empty() -> None:
    result = check_population(population().iloc[0:0])
    assert failed(result) == {("expect_table_row_count_to_be_between", None): None}


def test_population_rejects_a_frame_without_the_columns_by_name_only() -> None:
    frame = population().drop(columns=["reference_person"])
    with pytest.raises(ValueError, match="reference_person") as info:
        check_population(frame)
    assert not any(v in str(info.value) for v in frame["insz"])


def test_no_insz_or_household_id_reaches_summary_json_repr_or_logs(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = population(24)
    frame.loc[1, "insz"] = frame.loc[0, "insz"]  # duplicate
    frame.loc[2, "insz"] = bad_checksum(frame.loc[2, "insz"])  # modulo 97
    frame.loc[3, "insz"] = frame.loc[3, "insz"][:10]  # shape
    frame.loc[4, "reference_person"] = True  # two reference persons
    secrets = {v for v in [*frame["insz"], *frame["household_id"]] if isinstance(v, str)}
    secrets |= {v[:10] for v in frame["insz"]}
    with caplog.at_level(logging.DEBUG):
        result = check_population(frame)
    assert len(result.failures) == 4
    texts = [result.summary(), json.dumps(result.to_json()), repr(result), str(result), caplog.text,
             *capsys.readouterr()]
    assert "Data quality suite 'population' FAILED" in caplog.text  # the summary is logged...
    for text in texts:
        leaked = [s for s in secrets if s in text]
        assert not leaked, "a data value leaked"  # ...but never a value


# ------------------------------------------------------------------------------------------------- magda results

def magda(n: int = 20, transient: int = 0) -> pd.DataFrame:
    outcomes = ["eligible", "not_eligible", "undetermined"]
    return pd.DataFrame({
        "subject": [f"p-{i:016x}" for i in range(n)],
        "outcome": ["undetermined" if i < transient else outcomes[i % 3] for i in range(n)],
        "transient": [i < transient for i in range(n)],
    })


def test_magda_results_pass_when_every_selected_subject_has_one_known_outcome() -> None:
    result = check_magda_results(magda(20, transient=1), selected=20)
    assert result.success, result.summary()
    assert result.evaluated == 6
    stats = dict(result.statistics)
    assert (stats["selected"], stats["answered"], stats["transient"]) == (20, 19, 1)
    assert stats["transient_share"] == pytest.approx(0.05)


def test_magda_results_fail_when_a_selected_subject_has_no_result() -> None:
    result = check_magda_results(magda(19), selected=20)
    assert failed(result) == {("expect_table_row_count_to_equal", None): None}
    assert "19 results for 20 selected subjects" in result.summary()


def test_magda_results_count_duplicate_subjects_and_unknown_outcomes() -> None:
    frame = magda(20)
    frame.loc[1, "subject"] = frame.loc[0, "subject"]
    frame.loc[5, "outcome"] = "maybe"
    result = check_magda_results(frame, selected=20)
    assert failed(result) == {("expect_column_values_to_be_unique", "subject"): 2,
                              ("expect_column_values_to_be_in_set", "outcome"): 1}


def test_magda_results_fail_the_run_when_transient_errors_exceed_the_share() -> None:
    result = check_magda_results(magda(20, transient=2), selected=20, max_transient_share=0.05)
    assert not result.success
    assert failed(result) == {("expect_column_values_to_be_in_set", "transient"): 2}
    assert "10.0% exceeds 5.0%" in result.failures[0].detail
    assert check_magda_results(magda(20, transient=2), selected=20, max_transient_share=0.10).success


def test_magda_results_count_quarantined_data_errors_apart_from_transient_ones() -> None:
    frame = magda(40, transient=1)
    frame["data_error"] = [i in (3, 6) for i in range(40)]
    frame.loc[[3, 6], "outcome"] = "undetermined"
    result = check_magda_results(frame, selected=40)
    assert result.success, result.summary()
    assert result.evaluated == 7  # the share of data errors is judged from 200 results on
    assert check_magda_results(frame, selected=40, min_rows_for_data_error_share=40).evaluated == 8
    stats = dict(result.statistics)
    assert (stats["transient"], stats["data_errors"]) == (1, 2)
    assert stats["transient_share"] == pytest.approx(0.025)


def test_magda_results_fail_when_data_errors_are_decided_or_too_many() -> None:
    frame = magda(400)
    frame["data_error"] = [i < 40 for i in range(400)]  # 10 %: a refused message, not 40 bad records
    frame.loc[range(40), "outcome"] = "undetermined"
    frame.loc[1, "outcome"] = "not_eligible"
    result = check_magda_results(frame, selected=400)
    assert failed(result) == {("expect_column_values_to_be_in_set", "outcome"): 1,
                              ("expect_column_values_to_be_in_set", "data_error"): 40}
    assert "MAGDA data error but outcome is not undetermined" in result.summary()
    assert "share of MAGDA data errors 10.0% exceeds 5.0%" in result.summary()
    frame.loc[1, "outcome"] = "undetermined"
    assert check_magda_results(frame, selected=400, max_data_error_share=0.10).success
    small = frame.head(20)  # a re-evaluation of a few persons is not judged by share
    assert check_magda_results(small, selected=20).success


def test_magda_results_flag_a_transient_error_with_a_decided_outcome() -> None:
    frame = magda(20, transient=1)
    frame.loc[0, "outcome"] = "eligible"
    result = check_magda_results(frame, selected=20)
    assert [(f.column, f.unexpected_count) for f in result.failures] == [("outcome", 1)]
    assert "transient" in result.failures[0].detail


# ----------------------------------------------------------------------------------------------------- decisions

def test_decisions_first_run_has_nothing_to_compare_and_passes() -> None:
    result = check_decisions({"eligible": 142, "not_eligible": 800, "undetermined": 58}, None)
    assert result.success and not result.needs_approval
    assert result.evaluated == 1
    assert "eligible share 14.2%" in result.summary()


def test_decisions_within_the_threshold_pass_and_state_both_shares() -> None:
    result = check_decisions({"eligible": 142, "not_eligible": 858, "undetermined": 0},
                             {"eligible": 98, "not_eligible": 900, "undetermined": 2})
    assert result.success and not result.needs_approval
    assert result.evaluated == 2
    assert "eligible share 14.2% vs 9.8% in the previous run (+4.4 points, threshold 10.0)" in result.summary()


def test_decisions_jump_beyond_the_threshold_fails_and_needs_approval() -> None:
    result = check_decisions({"eligible": 250, "not_eligible": 750}, {"eligible": 98, "not_eligible": 902},
                             max_jump=0.10)
    assert not result.success
    assert result.needs_approval
    assert failed(result) == {("expect_column_values_to_be_between", "eligible_share_jump"): None}
    summary = result.summary()
    assert "eligible share 25.0% vs 9.8% in the previous run (+15.2 points, threshold 10.0)" in summary
    assert "approval" in summary
    assert result.to_json()["needs_approval"] is True
    # a drop counts as well as a rise
    assert check_decisions({"eligible": 98, "not_eligible": 902}, {"eligible": 250, "not_eligible": 750}).needs_approval


def test_decisions_jump_exactly_at_the_threshold_passes() -> None:
    result = check_decisions({"eligible": 30, "not_eligible": 70}, {"eligible": 20, "not_eligible": 80}, max_jump=0.10)
    assert result.success, result.summary()


def test_decisions_without_any_decision_fail_without_approval() -> None:
    result = check_decisions({"eligible": 0}, {"eligible": 5, "not_eligible": 5})
    assert not result.success and not result.needs_approval
    assert failed(result) == {("expect_column_values_to_be_between", "total"): None}


def test_decisions_reject_unknown_outcomes() -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        check_decisions({"eligible": 1, "granted": 2}, None)


# ------------------------------------------------------------------------------------------------ reconciliation

def reconciliation() -> pd.DataFrame:
    return pd.DataFrame({"subject": [f"p-{i:04d}" for i in range(10)], "grants": [1] * 8 + [0, 0],
                         "opted_out": [False] * 8 + [True, True]})


def test_reconciliation_passes_with_one_grant_each_and_none_for_opt_outs() -> None:
    result = check_reconciliation(reconciliation())
    assert result.success, result.summary()
    assert result.statistics["granted_once"] == 8 and result.statistics["opted_out"] == 2


def test_reconciliation_counts_missing_and_duplicate_grants() -> None:
    frame = reconciliation()
    frame.loc[0, "grants"] = 0
    frame.loc[1, "grants"] = 2
    frame.loc[2, "grants"] = 0
    result = check_reconciliation(frame)
    (failure,) = result.failures
    assert (failure.expectation, failure.column, failure.unexpected_count) == (
        "expect_column_values_to_be_between", "grants", 3)
    assert failure.unexpected_percent == pytest.approx(37.5)
    assert "without exactly one grant" in failure.detail
    assert (result.statistics["missing_grant"], result.statistics["duplicate_grant"]) == (2, 1)


def test_reconciliation_flags_a_grant_for_someone_who_opted_out() -> None:
    frame = reconciliation()
    frame.loc[9, "grants"] = 1
    result = check_reconciliation(frame)
    (failure,) = result.failures
    assert (failure.column, failure.unexpected_count, failure.unexpected_percent) == ("grants", 1, 50.0)
    assert "opted out" in failure.detail


# ------------------------------------------------------------------------------------------------------- plumbing

def test_result_round_trips_through_json() -> None:
    result = check_reconciliation(reconciliation().assign(grants=0))
    data = json.loads(json.dumps(result.to_json()))
    assert DQResult.from_json(data) == result


def test_importing_quality_loads_neither_gx_nor_pandas() -> None:
    code = ("import sys, proactief.quality; "
            "print(sorted(m for m in ('great_expectations', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_expectation_gx_cannot_evaluate_is_a_failure_without_gx_message() -> None:
    from proactief.quality.suites import _Check, _run

    frame = pd.DataFrame({"subject": ["p-0001"]})
    result = _run("probe", frame, [_Check("ExpectColumnValuesToNotBeNull", {"column": "absent"}, "absent column")],
                  {"rows": 1})
    assert not result.success
    (failure,) = result.failures
    assert failure.detail == "absent column: could not be evaluated (GX raised an error)"
    assert failure.unexpected_count is None
