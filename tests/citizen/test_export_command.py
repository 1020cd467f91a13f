"""`proactief citizen export`: the access document to a file (HTML or PDF) or stdout, audited with --by; a bad
INSZ or a missing folder gets a one-line error, and no file or log row is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from proactief.citizen import EXPORT_SERVICE
from proactief.cli import app as cli
from proactief.ledger.models import MagdaConsultation
from tests.citizen.ledger_data import ANNA, build

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(ledger: Engine) -> Engine:
    build(ledger)
    return ledger


def _exports(engine: Engine) -> list[tuple[str | None, str | None, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            select(MagdaConsultation.subject_insz, MagdaConsultation.consulted_by, MagdaConsultation.outcome)
            .where(MagdaConsultation.service == EXPORT_SERVICE).order_by(MagdaConsultation.id))]


def test_pdf_and_html_to_a_file_audited_with_by(engine: Engine, pg_url: str, tmp_path: Path) -> None:
    pdf = tmp_path / "inzage.pdf"
    out = CliRunner().invoke(cli, ["citizen", "export", "--insz", ANNA, "--format", "pdf", "--out", str(pdf),
                                   "--by", "dpo.gent", "--db-url", pg_url])
    assert out.exit_code == 0, out.output
    assert pdf.read_bytes().startswith(b"%PDF") and oct(pdf.stat().st_mode)[-3:] == "600"
    assert ANNA not in out.output
    html = CliRunner().invoke(cli, ["citizen", "export", "--insz", ANNA, "--by", "dpo.gent", "--db-url", pg_url])
    assert html.exit_code == 0 and "Wat deed de stad Gent met uw gegevens?" in html.stdout
    assert "Woont in Gent op de peildatum." in html.stdout and ANNA not in html.stdout
    assert _exports(engine) == [(ANNA, "dpo.gent", "pdf"), (ANNA, "dpo.gent", "html")]
    assert list(tmp_path.iterdir()) == [pdf]  # no temporary file left


def test_an_invalid_insz_is_one_clear_line_and_writes_nothing(engine: Engine, pg_url: str, tmp_path: Path) -> None:
    target = tmp_path / "inzage.html"
    bad = ANNA[:-1] + str((int(ANNA[-1]) + 1) % 10)
    out = CliRunner().invoke(cli, ["citizen", "export", "--insz", bad, "--out", str(target), "--by", "dpo.gent",
                                   "--db-url", pg_url])
    assert out.exit_code == 2
    assert out.output.strip() == "error: INSZ check digits do not match (modulo 97)"
    assert bad not in out.output
    assert not target.exists() and _exports(engine) == []


def test_bad_options_are_refused_before_the_ledger_is_touched(engine: Engine, pg_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    no_out = runner.invoke(cli, ["citizen", "export", "--insz", ANNA, "--format", "pdf", "--by", "x",
                                 "--db-url", pg_url])
    assert no_out.exit_code == 2 and "--format pdf needs --out FILE" in no_out.output
    word = runner.invoke(cli, ["citizen", "export", "--insz", ANNA, "--format", "docx", "--by", "x",
                               "--db-url", pg_url])
    assert word.exit_code == 2 and "--format must be html or pdf" in word.output
    folder = runner.invoke(cli, ["citizen", "export", "--insz", ANNA, "--out", str(tmp_path / "no" / "f.html"),
                                 "--by", "x", "--db-url", pg_url])
    assert folder.exit_code == 2 and "does not exist" in folder.output
    assert _exports(engine) == []


def test_without_by_the_export_is_logged_as_the_os_account(engine: Engine, pg_url: str) -> None:
    import getpass

    blank = CliRunner().invoke(cli, ["citizen", "export", "--insz", ANNA, "--by", " ", "--db-url", pg_url])
    assert blank.exit_code == 0, blank.output
    assert [who for _, who, _ in _exports(engine)] == [getpass.getuser()]
