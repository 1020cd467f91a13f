"""The eBox channel against the stand-in served by uvicorn (mounted under /ebox): delivered, duplicate is
'already', faults are transient and store nothing, refusals are permanent; the stand-in never shows an INSZ."""

from __future__ import annotations

import base64
import io
from dataclasses import replace

import pytest
import requests
from pypdf import PdfReader

from proactief.delivery import Delivered, PermanentDeliveryError, TransientDeliveryError
from proactief.notify.channels import EBOX_PUBLISH_PATH, EboxChannel
from proactief.notify.render import render
from proactief_sim.standins.ebox import EboxState, create_app
from tests.notify.notices import INSZ, INSZ_DOTTED, free_port, ivago, notice, on_channel, uitpas
from tests.notify.servers import serve


def ebox_notice(message_id: str = "notify.ebox.77aa11bb22cc@proactief.gent"):
    return on_channel(notice(uitpas(), ivago()), "ebox", message_id=message_id)


def fault(base_url: str, status: int, count: int = 1, **kw) -> None:
    requests.put(f"{base_url}/_standin/faults", json={"status": status, "count": count, **kw}, timeout=5)


def test_ebox_message_is_delivered_with_recipient_subject_body_and_pdf(ebox):
    base_url, _ = ebox
    n = ebox_notice()
    r = render(n)
    result = EboxChannel(base_url).send(n, r)
    assert result == Delivered(reference="ebox-000001")
    stored = requests.get(f"{base_url}/_standin/messages/{n.message_id}", timeout=5).json()
    assert stored["recipient"] == INSZ, "the eBox is addressed by INSZ"
    assert stored["subject"] == r.subject
    assert stored["body"] == r.text
    [attachment] = stored["attachments"]
    assert attachment["mediaType"] == "application/pdf"
    pdf = base64.b64decode(attachment["content"])
    assert n.message_id in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_duplicate_message_id_is_already_delivered_and_stored_once(ebox):
    base_url, state = ebox
    n = ebox_notice()
    ch = EboxChannel(base_url)
    first = ch.send(n, render(n))
    second = ch.send(n, render(n))
    assert second == Delivered(reference=first.reference, already=True)
    assert requests.get(f"{base_url}/_standin/state", timeout=5).json()["count"] == 1


def test_503_fault_is_transient_and_nothing_is_stored_then_the_retry_delivers(ebox):
    base_url, _ = ebox
    fault(base_url, 503, count=1)
    n = ebox_notice()
    with pytest.raises(TransientDeliveryError, match="503"):
        EboxChannel(base_url).send(n, render(n))
    state = requests.get(f"{base_url}/_standin/state", timeout=5).json()
    assert state["count"] == 0 and state["messages"] == []
    assert EboxChannel(base_url).send(n, render(n)).already is False


def test_429_is_transient_with_retry_after(ebox):
    base_url, _ = ebox
    fault(base_url, 429, count=1, retry_after=7)
    n = ebox_notice()
    with pytest.raises(TransientDeliveryError) as err:
        EboxChannel(base_url).send(n, render(n))
    assert err.value.retry_after == 7


@pytest.mark.parametrize("status", [400, 401, 403])
def test_refusals_are_permanent(ebox, status):
    base_url, _ = ebox
    fault(base_url, status)
    n = ebox_notice()
    with pytest.raises(PermanentDeliveryError, match=str(status)) as err:
        EboxChannel(base_url).send(n, render(n))
    assert INSZ not in str(err.value)


def test_ebox_down_is_transient():
    n = ebox_notice()
    with pytest.raises(TransientDeliveryError):
        EboxChannel(f"http://127.0.0.1:{free_port()}", timeout=2).send(n, render(n))


def test_invalid_insz_is_refused_before_sending():
    n = replace(ebox_notice(), insz="85073003329")
    with pytest.raises(PermanentDeliveryError, match="check digits") as err:
        EboxChannel("http://127.0.0.1:1").send(n, render(n))
    assert "85073003329" not in str(err.value)


def test_standin_state_lists_message_ids_and_subjects_never_insz_or_bodies(ebox):
    base_url, _ = ebox
    n = ebox_notice()
    r = render(n)
    EboxChannel(base_url).send(n, r)
    raw = requests.get(f"{base_url}/_standin/state", timeout=5).text
    assert INSZ not in raw and INSZ_DOTTED not in raw
    assert "Beste Gentenaar" not in raw
    state = requests.get(f"{base_url}/_standin/state", timeout=5).json()
    assert state["messages"] == [{"id": "ebox-000001", "messageId": n.message_id, "subject": r.subject}]


def test_standin_answers_400_for_a_bad_insz_without_echoing_it(ebox):
    base_url, _ = ebox
    body = EboxChannel(base_url).payload(ebox_notice(), render(ebox_notice()))
    body["recipient"]["ssin"] = "85073003329"
    answer = requests.post(base_url + EBOX_PUBLISH_PATH, json=body, timeout=5)
    assert answer.status_code == 400 and "85073003329" not in answer.text
    del body["subject"]
    body["recipient"]["ssin"] = "8507300332"
    answer = requests.post(base_url + EBOX_PUBLISH_PATH, json=body, timeout=5)
    assert answer.status_code == 400 and "subject" in answer.text and "8507300332" not in answer.text


def test_standin_reset_forgets_messages_and_faults(ebox):
    base_url, _ = ebox
    n = ebox_notice()
    EboxChannel(base_url).send(n, render(n))
    fault(base_url, 503, count=3)
    assert requests.post(f"{base_url}/_standin/reset", timeout=5).status_code == 204
    state = requests.get(f"{base_url}/_standin/state", timeout=5).json()
    assert state["count"] == 0 and state["faults"] == {"status": None, "count": 0}


def test_standin_works_at_the_root_as_well_as_mounted(ebox):
    mounted_url, _ = ebox
    state = EboxState()
    with serve(create_app(state)) as root_url:
        n = ebox_notice()
        assert EboxChannel(root_url).send(n, render(n)) == Delivered(reference="ebox-000001")
        assert requests.get(f"{root_url}/_standin/state", timeout=5).json()["count"] == 1
    assert len(state.messages) == 1
    assert requests.get(f"{mounted_url}/_standin/state", timeout=5).json()["count"] == 0, "separate states"
