"""The operator's `proactief` commands never guess: no ledger configured → a one-line refusal naming
PROACTIEF_DB_URL (not a silent ./var/ledger.sqlite); an empty ``$USER`` → the OS account is recorded, never nobody
(issue 14: an objection was stored without a recorder, a held scheme was seen as running in the wrong ledger)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from proactief.cli import app
from proactief.ledger import make_engine
from tests.lifecycle.ledger_rows import make_insz

pytestmark = pytest.mark.integration

PERSON = make_insz(4343)
SCHEME = "lez-vrijstelling"


def _invoke(*args: str, env: dict[str, str | None]) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize("args", [
    ("scheme", "status"),
    ("optout", "status", "--insz", PERSON),
    ("db", "audit", "--insz", PERSON),
    ("db", "upgrade"),
    ("outbox", "failed"),
])
def test_without_a_configured_ledger_the_command_refuses_in_one_line(
        args: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = _invoke(*args, env={"PROACTIEF_DB_URL": None})
    assert code == 2, out
    error_lines = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "PROACTIEF_DB_URL" in error_lines[0], out
    assert "Traceback" not in out
    assert not (tmp_path / "var").exists()  # nothing was written to a guessed ledger


def test_an_empty_user_records_the_os_account_for_an_objection_and_a_hold(pg_url: str) -> None:
    env = {"PROACTIEF_DB_URL": pg_url, "USER": "", "LOGNAME": "", "LNAME": "", "USERNAME": ""}
    import pwd

    account = pwd.getpwuid(os.getuid()).pw_name
    assert _invoke("db", "upgrade", env=env)[0] == 0  # only `db upgrade` creates the ledger
    code, out = _invoke("optout", "add", "--insz", PERSON, "--channel", "contact-centre", env=env)
    assert code == 0, out
    code, out = _invoke("scheme", "hold", SCHEME, "--by", "", "--reason", "drill", env=env)
    assert code == 0, out
    code, out = _invoke("scheme", "release", SCHEME, env=env)
    assert code == 0, out
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            recorders = conn.execute(text("SELECT recorded_by FROM opt_out_event")).scalars().all()
            holders = conn.execute(text("SELECT held_by, released_by FROM scheme_hold")).one()
    finally:
        engine.dispose()
    assert recorders and all(r and r.strip() for r in recorders), recorders
    assert all(h and h.strip() for h in holders), holders
    assert recorders == [account] and holders == (account, account)
