"""A scheme's cron schedule is checked when the YAML loads: a broken one is named with its file, line and path
instead of surfacing as a DAG import error in the DAG processor."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.schemes.test_scheme_definitions import _broken

CRON = 'cron: "0 6 1 * *"'


@pytest.mark.parametrize(("cron", "why"), [
    ("99 99 * * *", "is not a valid cron expression"),
    ("0 6 1 * * *", "does not have the expected form"),
    ("0 6", "does not have the expected form"),
    ("0 6 31 2 *", "never fires"),
    ("0 6 1 * maandag", "is not a valid cron expression"),
])
def test_an_impossible_schedule_fails_the_load_with_file_line_and_path(tmp_path: Path, cron: str, why: str) -> None:
    err = _broken(tmp_path, "uitpas-kansentarief", CRON, f'cron: "{cron}"')
    assert "uitpas-kansentarief.yaml" in str(err) and "$.schedule.cron" in str(err) and why in str(err)
    text = (tmp_path / "uitpas-kansentarief.yaml").read_text()
    assert err.problems[0].line == text[: text.index(cron)].count("\n") + 1
