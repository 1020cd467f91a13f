"""Every scheme, every tier and the combined notice, sent through each real channel: what arrives has the
benefits' facts and never the INSZ (e-mail as received by SMTP, the letter's PDF, the eBox's stored message)."""

from __future__ import annotations

import base64
import email
import io
from email.policy import default

import pytest
import requests
from pypdf import PdfReader

from proactief.notify.channels import EboxChannel, LetterChannel, SmtpChannel
from proactief.notify.render import render
from tests.notify.notices import CASES, INSZ, INSZ_DOTTED, assert_no_insz, facts, notice, on_channel


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


@pytest.mark.parametrize("case", CASES)
def test_email_of_every_case_arrives_without_insz(case, smtp_server):
    host, port, sink = smtp_server
    n = on_channel(notice(*CASES[case]), "email")
    SmtpChannel(host, port, "noreply@stad.gent").send(n, render(n))
    msg = email.message_from_bytes(sink.received[-1][2], policy=default)
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for line in n.benefits:
        for fact in facts(line):
            assert fact in text
    assert_no_insz(sink.received[-1][2].decode("ascii", "replace"), text, html, str(msg["Subject"]))


@pytest.mark.parametrize("case", CASES)
def test_letter_of_every_case_is_written_without_insz(case, tmp_path):
    n = on_channel(notice(*CASES[case]), "letter")
    ref = LetterChannel(tmp_path).send(n, render(n)).reference
    data = (tmp_path / ref).read_bytes()
    text = pdf_text(data)
    for line in n.benefits:
        for fact in facts(line):
            assert fact in text, fact
    assert INSZ.encode() not in data
    assert_no_insz(text)


@pytest.mark.parametrize("case", CASES)
def test_ebox_message_of_every_case_is_stored_without_insz_in_what_the_citizen_reads(case, ebox):
    base_url, _ = ebox
    n = on_channel(notice(*CASES[case]), "ebox")
    EboxChannel(base_url).send(n, render(n))
    stored = requests.get(f"{base_url}/_standin/messages/{n.message_id}", timeout=5).json()
    pdf = base64.b64decode(stored["attachments"][0]["content"])
    assert_no_insz(stored["subject"], stored["body"], pdf_text(pdf))
    assert INSZ_DOTTED not in stored["body"]
