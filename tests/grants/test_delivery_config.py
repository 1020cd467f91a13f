"""Delivery settings are read like the MAGDA settings, by the one settings helper: ``PROACTIEF_<FIELD>`` or an
Airflow connection's extra, unset or empty keeps the default, an unknown name is refused before anything is built."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import proactief
from proactief.delivery.config import DeliveryConfig
from proactief.magda.config import MagdaConfig, MagdaConfigError

PACKAGE = Path(proactief.__file__).parent


def test_delivery_settings_come_from_prefixed_variables_and_empty_keeps_the_default() -> None:
    env = {"PROACTIEF_SMTP_HOST": "mail.gent.be", "PROACTIEF_SMTP_PORT": "587", "PROACTIEF_SMTP_STARTTLS": "yes",
           "PROACTIEF_IVAGO_DIR": "", "PROACTIEF_UITPAS_URL": "", "PROACTIEF_MAGDA_BASE_URL": "http://x",
           "SMTP_HOST": "not-ours"}
    cfg = DeliveryConfig.from_env(env)
    assert (cfg.smtp_host, cfg.smtp_port, cfg.smtp_starttls) == ("mail.gent.be", 587, True)
    assert cfg.ivago_dir == DeliveryConfig().ivago_dir and cfg.uitpas_url is None
    assert DeliveryConfig.from_env({}) == DeliveryConfig()


def test_a_connection_extra_is_coerced_and_none_or_empty_keeps_the_default() -> None:
    cfg = DeliveryConfig.from_mapping({"smtp_port": 2525, "smtp_starttls": "off", "ebox_url": None,
                                       "letter_dir": "", "smtp_sender": "Stad Gent <x@stad.gent>"})
    assert (cfg.smtp_port, cfg.smtp_starttls, cfg.ebox_url) == (2525, False, None)
    assert cfg.letter_dir == DeliveryConfig().letter_dir and cfg.smtp_sender == "Stad Gent <x@stad.gent>"
    assert DeliveryConfig.from_mapping({"smtp_starttls": True}).smtp_starttls is True


def test_unknown_names_are_refused_with_each_configurations_own_error() -> None:
    with pytest.raises(ValueError, match=r"^unknown delivery settings: smtp_hots, uitpas$"):
        DeliveryConfig.from_mapping({"uitpas": "x", "smtp_hots": "y", "smtp_host": "z"})
    with pytest.raises(MagdaConfigError, match=r"^unknown MAGDA configuration field\(s\): base_uri$"):
        MagdaConfig.from_mapping({"base_uri": "http://x"})
    with pytest.raises(ValueError, match="invalid literal"):
        DeliveryConfig.from_env({"PROACTIEF_SMTP_PORT": "twenty-five"})


def test_only_the_settings_helper_reads_the_environment_for_a_configuration() -> None:
    for module in ("delivery/config.py", "magda/config.py"):
        source = (PACKAGE / module).read_text(encoding="utf-8")
        assert "os.environ" not in source and not re.search(r"\bfields\(cls\)", source), module
        assert "from proactief.settings import env_settings, parse_settings" in source, module


def test_secrets_never_appear_in_the_repr() -> None:
    cfg = DeliveryConfig.from_env({"PROACTIEF_UITPAS_CLIENT_SECRET": "Uitpas-Geheim-42",
                                   "PROACTIEF_SMTP_PASSWORD": "Smtp-Geheim-43", "PROACTIEF_SMTP_USERNAME": "mailer"})
    assert cfg.uitpas_client_secret == "Uitpas-Geheim-42" and cfg.smtp_password == "Smtp-Geheim-43"
    shown = f"{cfg!r} {cfg!s} {[cfg]}"
    assert "Geheim" not in shown and "smtp_username='mailer'" in shown
