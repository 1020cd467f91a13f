"""The channel protocol the outbox dispatcher relies on is declared once, beside the notice data it carries, and
every channel the delivery configuration builds answers to it."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import proactief
from proactief.delivery.config import DeliveryConfig
from proactief.lifecycle import outbox
from proactief.notify import channels, model
from proactief.wiring import notice_channels

PACKAGE = Path(proactief.__file__).parent


def test_notice_channel_is_defined_once_and_imported_everywhere_else() -> None:
    defined_in = [p.relative_to(PACKAGE).as_posix() for p in sorted(PACKAGE.rglob("*.py"))
                  if re.search(r"^class NoticeChannel\b", p.read_text(encoding="utf-8"), re.M)]
    assert defined_in == ["notify/model.py"]
    assert channels.NoticeChannel is model.NoticeChannel
    assert "NoticeChannel" not in vars(outbox)  # the dispatcher names it for typing only, from notify.model


def test_every_configured_channel_has_the_protocols_name_and_send(tmp_path: Path) -> None:
    cfg = DeliveryConfig(letter_dir=str(tmp_path), smtp_host="127.0.0.1", ebox_url="http://127.0.0.1:9")
    built = notice_channels(cfg)
    assert set(built) == {"letter", "email", "ebox"}
    wanted = list(inspect.signature(model.NoticeChannel.send).parameters)
    for key, channel in built.items():
        assert channel.name == key
        assert list(inspect.signature(type(channel).send).parameters) == wanted, key
