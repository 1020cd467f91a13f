"""The advice service's configuration: callers are known by the hash of their token only, and a malformed or
missing setting stops the service before it listens (never a service that accepts anyone)."""

from __future__ import annotations

from pathlib import Path

import pytest

from proactief.advice_service.config import AdviceServiceConfig, AdviceServiceConfigError, hash_token
from proactief.advice_service.models import BatchRequest


def test_a_token_is_known_by_its_hash_and_names_its_application(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"airflow={hash_token('t-airflow')}\n")
    config = AdviceServiceConfig.from_env({
        "PROACTIEF_DB_URL": "postgresql+psycopg2://x@db/ledger",
        "PROACTIEF_ADVICE_TOKENS": f"counter={hash_token('t-counter')}",
        "PROACTIEF_ADVICE_TOKENS_FILE": str(tokens),
        "PROACTIEF_ADVICE_CHUNK_SIZE": "10",
    })
    assert config.application_for("t-counter") == "counter"
    assert config.application_for("t-airflow") == "airflow"
    assert config.application_for("t-other") is None and config.application_for("") is None
    assert "t-counter" not in repr(config) and config.chunk_size == 10
    assert config.db_url == "postgresql+psycopg2://x@db/ledger"
    assert config.grant_applications == {"airflow"}  # only the scheme runs get what a grant needs, by default
    assert AdviceServiceConfig.from_env({"PROACTIEF_DB_URL": "sqlite://",
                                         "PROACTIEF_ADVICE_GRANT_APPLICATIONS": "runs, runs-acc"}
                                        ).grant_applications == {"runs", "runs-acc"}


@pytest.mark.parametrize("tokens", ["counter=t-counter", "counter=sha256:abc", "=sha256:" + "0" * 64,
                                    "counter sha256:" + "0" * 64])
def test_a_token_in_clear_or_malformed_is_refused(tokens: str) -> None:
    with pytest.raises(AdviceServiceConfigError, match="TOKENS") as refused:
        AdviceServiceConfig.from_env({"PROACTIEF_DB_URL": "sqlite://", "PROACTIEF_ADVICE_TOKENS": tokens})
    assert "t-counter" not in str(refused.value)


def test_no_ledger_no_service() -> None:
    with pytest.raises(AdviceServiceConfigError, match="DB_URL"):
        AdviceServiceConfig.from_env({"PROACTIEF_ADVICE_TOKENS": f"counter={hash_token('x')}"})


@pytest.mark.parametrize("batch_id", ["run-84640438954", "uitpas/chunk-1", "", "x" * 121])
def test_a_batch_id_that_could_hold_an_insz_or_breaks_the_url_is_refused(batch_id: str) -> None:
    """Batch ids appear in URLs and access logs: no long digit runs (an INSZ), no slashes."""
    with pytest.raises(ValueError):
        BatchRequest(batch_id=batch_id, scheme="uitpas-kansentarief", reference_date="2026-11-01",  # type: ignore[arg-type]
                     subjects=[{"insz": "84640438954"}])  # type: ignore[list-item]
