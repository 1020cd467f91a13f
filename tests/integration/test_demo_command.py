"""``proactief demo`` on a PostgreSQL ledger whose URL carries a password: the walk-through runs against the real
simulator and prints the audit hint without the password."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from proactief_sim.demo import run_demo

pytestmark = pytest.mark.integration


def test_the_demo_never_prints_the_ledger_password(pg_url: str, tmp_path: Path) -> None:
    url = re.sub(r"//([^:/@]+)@", r"//\1:Demo-Geheim-7@", pg_url)
    assert "Demo-Geheim-7" in url  # trust authentication accepts any password
    lines: list[str] = []
    assert run_demo(lines.append, tmp_path, db_url=url) == 0
    text = "\n".join(lines)
    assert "proactief db audit --insz 84640438954 --db-url" in text
    assert "Demo-Geheim-7" not in text and ":***@" in text
