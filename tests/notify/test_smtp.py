"""E-mail reaches a real SMTP server (aiosmtpd on loopback) as text + HTML with the notice's Message-ID; failures
are sorted into "retry later" and "a person must act"."""

from __future__ import annotations

import email
import socket
import threading
from dataclasses import replace
from email.policy import default

import pytest

from proactief.delivery import Delivered, PermanentDeliveryError, TransientDeliveryError
from proactief.notify.channels import SmtpChannel
from proactief.notify.render import render
from tests.notify.notices import INSZ, INSZ_DOTTED, free_port, ivago, notice, uitpas

SENDER = "Stad Gent <noreply@stad.gent>"


def channel(host: str, port: int, **kw) -> SmtpChannel:
    return SmtpChannel(host, port, SENDER, **kw)


def test_email_arrives_with_message_id_subject_text_and_html(smtp_server):
    host, port, sink = smtp_server
    n = notice(uitpas(), ivago())
    r = render(n)
    result = channel(host, port).send(n, r)
    assert result == Delivered(reference=n.message_id)
    assert len(sink.received) == 1
    mail_from, rcpt_tos, raw = sink.received[0]
    assert mail_from == "noreply@stad.gent" and rcpt_tos == ["bewoner@example.org"]
    msg = email.message_from_bytes(raw, policy=default)
    assert msg["Message-ID"] == f"<{n.message_id}>"
    assert msg["Subject"] == r.subject
    assert msg["To"] == "bewoner@example.org"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = msg.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert text == r.text
    assert html.strip() == r.html.strip()
    assert "€ 42,00" in text and "één waardebon" in text
    assert not [part for part in msg.walk() if part.get_content_disposition() == "attachment"], "text/HTML only"


def test_no_insz_anywhere_in_the_email(smtp_server):
    host, port, sink = smtp_server
    n = notice(uitpas())
    channel(host, port).send(n, render(n))
    raw = sink.received[0][2]
    msg = email.message_from_bytes(raw, policy=default)
    decoded = "".join(str(part.get_content()) for part in msg.walk() if not part.is_multipart())
    headers = "".join(f"{k}: {v}\n" for k, v in msg.items())
    for blob in (raw.decode("ascii", "replace"), decoded, headers):
        assert INSZ not in blob and INSZ_DOTTED not in blob


def test_recipient_rejected_with_5xx_is_permanent_and_names_no_address(smtp_server):
    host, port, _ = smtp_server
    n = replace(notice(uitpas()), email="weg@example.org")
    with pytest.raises(PermanentDeliveryError) as err:
        channel(host, port).send(n, render(n))
    assert "550" in str(err.value) and "5.1.1" in str(err.value)
    assert "weg@" not in str(err.value)


def test_recipient_deferred_with_4xx_is_transient(smtp_server):
    host, port, _ = smtp_server
    n = replace(notice(uitpas()), email="later@example.org")
    with pytest.raises(TransientDeliveryError, match="451"):
        channel(host, port).send(n, render(n))


def test_smtp_server_down_is_transient():
    n = notice(uitpas())
    with pytest.raises(TransientDeliveryError, match="ConnectionRefusedError"):
        channel("127.0.0.1", free_port(), timeout=2).send(n, render(n))


def test_smtp_server_that_never_answers_times_out_as_transient():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    accepted: list[socket.socket] = []
    t = threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True)
    t.start()
    try:
        n = notice(uitpas())
        with pytest.raises(TransientDeliveryError, match="timed out"):
            channel("127.0.0.1", silent.getsockname()[1], timeout=0.5).send(n, render(n))
    finally:
        t.join(2)
        for s in accepted:
            s.close()
        silent.close()


def test_starttls_refused_by_a_server_without_it_is_permanent(smtp_server):
    host, port, sink = smtp_server
    n = notice(uitpas())
    with pytest.raises(PermanentDeliveryError, match="does not support"):
        channel(host, port, starttls=True).send(n, render(n))
    assert sink.received == []


def test_notice_without_email_address_is_permanent():
    n = replace(notice(uitpas()), email=None)
    with pytest.raises(PermanentDeliveryError, match="no e-mail address"):
        channel("127.0.0.1", 1).send(n, render(n))


def test_a_notice_for_another_channel_is_a_bug():
    n = replace(notice(uitpas()), channel="letter")
    with pytest.raises(ValueError, match="not 'email'"):
        channel("127.0.0.1", 1).send(n, render(n))
