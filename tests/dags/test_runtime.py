"""Where tasks get their configuration: the ledger URL and the MAGDA client config (env first, then Airflow
connections), the run's day in the scheme's timezone, the INSZ trigger param; and the plugin loader leaving the
glue package alone."""

from __future__ import annotations

import datetime as dt
import json
import sys
from types import SimpleNamespace

import pytest
from proactief_airflow import runtime

from tests.dags.airflow_env import PLUGINS


def test_the_ledger_url_comes_from_the_env_before_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PROACTIEF_LEDGER", json.dumps({
        "conn_type": "postgres", "host": "db.internal", "port": 5433, "login": "proactief", "password": "p@ss/w",
        "schema": "ledger"}))
    monkeypatch.setenv("PROACTIEF_DB_URL", "sqlite:////tmp/x.sqlite")
    assert runtime.ledger_url() == "sqlite:////tmp/x.sqlite"
    monkeypatch.delenv("PROACTIEF_DB_URL")
    assert runtime.ledger_url() == "postgresql+psycopg2://proactief:p%40ss%2Fw@db.internal:5433/ledger"
    monkeypatch.setenv("AIRFLOW_CONN_PROACTIEF_LEDGER", json.dumps({
        "conn_type": "generic", "extra": {"sqlalchemy_url": "postgresql+psycopg2://u@h/db"}}))
    assert runtime.ledger_url() == "postgresql+psycopg2://u@h/db"


def test_magda_config_comes_from_the_connection_extra_else_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_MAGDA_DEFAULT", raising=False)
    monkeypatch.setenv("PROACTIEF_MAGDA_BASE_URL", "http://127.0.0.1:9/from-env")
    assert runtime.magda_config().base_url == "http://127.0.0.1:9/from-env"
    monkeypatch.setenv("AIRFLOW_CONN_MAGDA_DEFAULT", json.dumps({
        "conn_type": "generic", "extra": {"base_url": "https://127.0.0.1:9443/", "max_concurrency": "3"}}))
    config = runtime.magda_config()
    assert config.base_url == "https://127.0.0.1:9443/" and config.max_concurrency == 3


def test_the_advice_service_comes_from_the_connection_else_the_env_else_none(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIRFLOW_CONN_PROACTIEF_ADVICE", "PROACTIEF_ADVICE_URL", "PROACTIEF_ADVICE_TOKEN",
                 "PROACTIEF_ADVICE_USER"):
        monkeypatch.delenv(name, raising=False)
    assert runtime.advice_service() is None  # the default: the runs ask MAGDA in the task
    monkeypatch.setenv("PROACTIEF_ADVICE_URL", "http://advice:8091")
    with pytest.raises(ValueError, match="PROACTIEF_ADVICE_TOKEN"):  # never a silent fall-back to asking MAGDA
        runtime.advice_service()
    monkeypatch.setenv("PROACTIEF_ADVICE_TOKEN", "tok-env")
    env = runtime.advice_service()
    assert env is not None and (env.url, env.token, env.user) == ("http://advice:8091", "tok-env", "airflow")
    assert "tok-env" not in repr(env)
    monkeypatch.setenv("AIRFLOW_CONN_PROACTIEF_ADVICE", json.dumps({
        "conn_type": "http", "host": "advice.internal", "port": 8091, "login": "scheme-runs", "password": "tok-c"}))
    conn = runtime.advice_service()
    assert conn is not None and (conn.url, conn.token, conn.user) == ("http://advice.internal:8091", "tok-c",
                                                                      "scheme-runs")


def test_the_run_day_is_the_logical_date_in_the_scheme_timezone() -> None:
    late = dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC)  # already 1 November in Ghent
    assert runtime.run_day({"logical_date": late}, "Europe/Brussels") == dt.date(2026, 11, 1)
    after = dt.datetime(2026, 11, 30, 4, tzinfo=dt.UTC)
    asset_run = {"logical_date": None, "dag_run": SimpleNamespace(run_after=after)}
    assert runtime.run_day(asset_run, "Europe/Brussels") == dt.date(2026, 11, 30)


def test_the_insz_param_is_split_on_commas() -> None:
    assert runtime.parse_insz_list(None) == [] and runtime.parse_insz_list(" ") == []
    assert runtime.parse_insz_list("85073003328, 90010100123,") == ["85073003328", "90010100123"]


def test_the_plugin_loader_skips_the_glue_package() -> None:
    from airflow._shared.plugins_manager.plugins_manager import _load_plugins_from_plugin_directory

    plugins, errors = _load_plugins_from_plugin_directory(str(PLUGINS))
    assert errors == {}
    assert not {"factory", "alerts", "runtime", "assets"} & set(sys.modules)
