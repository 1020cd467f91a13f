"""Letters for the print-and-post service: written atomically, one file per message id, a resend is 'already'."""

from __future__ import annotations

import io
import os
from dataclasses import replace

import pytest
from pypdf import PdfReader

from proactief.delivery import Delivered, PermanentDeliveryError, TransientDeliveryError
from proactief.notify.channels import LetterChannel, letter_file_name
from proactief.notify.render import render
from tests.notify.notices import PLATE, lez, notice, on_channel, uitpas


def letter_notice(message_id: str = "notify.letter.9a8b7c6d@proactief.gent"):
    return on_channel(notice(uitpas(), lez()), "letter", message_id=message_id)


def test_letter_is_written_under_its_message_id_and_returns_the_file_name(tmp_path):
    n = letter_notice()
    result = LetterChannel(tmp_path / "post").send(n, render(n))
    target = tmp_path / "post" / "notify.letter.9a8b7c6d@proactief.gent.pdf"
    assert result == Delivered(reference=target.name)
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name], "no temporary file left"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(target.read_bytes())).pages)
    assert PLATE in text and n.message_id in text


def test_second_send_of_the_same_message_is_already_and_leaves_the_file_alone(tmp_path):
    n = letter_notice()
    ch = LetterChannel(tmp_path)
    first = ch.send(n, render(n))
    target = tmp_path / first.reference
    before = (target.read_bytes(), target.stat().st_mtime_ns)
    second = ch.send(n, render(n))
    assert second == Delivered(reference=first.reference, already=True)
    assert (target.read_bytes(), target.stat().st_mtime_ns) == before


def test_write_is_atomic_tmp_fsync_replace(tmp_path, monkeypatch):
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append("fsync")
        return real_fsync(fd)

    def replace_(src, dst):
        assert not os.path.exists(dst), "the final name appears only at the replace"
        assert os.path.basename(src).startswith(".tmp-") and os.path.dirname(src) == os.path.dirname(dst)
        calls.append("replace")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace_)
    n = letter_notice()
    LetterChannel(tmp_path).send(n, render(n))
    assert calls == ["fsync", "replace", "fsync"], "file fsync, replace, then directory fsync"


def test_a_crash_before_the_replace_leaves_no_file_and_is_transient(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    n = letter_notice()
    with pytest.raises(TransientDeliveryError):
        LetterChannel(tmp_path).send(n, render(n))
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert LetterChannel(tmp_path).send(n, render(n)).already is False, "the retry writes the letter"


def test_a_file_with_that_name_but_another_message_is_permanent(tmp_path):
    n = letter_notice()
    (tmp_path / letter_file_name(n.message_id)).write_bytes(b"%PDF-1.4 something else")
    with pytest.raises(PermanentDeliveryError, match="is not message"):
        LetterChannel(tmp_path).send(n, render(n))


def test_file_names_are_safe_and_one_to_one_with_message_ids(tmp_path):
    assert letter_file_name("a/b@x") != letter_file_name("a_b@x")
    assert "/" not in letter_file_name("../../etc/passwd")
    assert not letter_file_name("..").startswith(".")
    n = letter_notice("../escape@x")
    result = LetterChannel(tmp_path / "out").send(n, render(n))
    assert (tmp_path / "out" / result.reference).is_file()
    assert len(letter_file_name("x" * 120 + "/" * 120)) < 255


def test_letter_without_postal_address_is_permanent(tmp_path):
    n = replace(letter_notice(), address_line=None)
    with pytest.raises(PermanentDeliveryError, match="no postal address"):
        LetterChannel(tmp_path).send(n, render(n))
    assert list(tmp_path.iterdir()) == []
