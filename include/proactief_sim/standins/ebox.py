"""A local stand-in for the federal eBox (e-Box for citizens): takes a publication, keeps it in memory.

Why: the eBox channel (:class:`proactief.notify.channels.EboxChannel`) must be tested over real HTTP, with its
duplicates and failures, but the real service needs an agreement, certificates and the network. This stand-in
answers the way the channel expects and can be told to fail.

The request shape is **assumed**, loosely after the e-Box Enterprise "publication" API (publish a message to a
citizen's eBox, addressed by INSZ/SSIN): the real API's paths, field names and error bodies differ in detail.

Served (relative paths, so it works at the root or mounted, e.g. ``app.mount("/ebox", create_app())``):

* ``POST /publication/v3/messages`` with ``{"messageId", "recipient": {"eboxType": "citizen", "ssin"},
  "subject": {"nl"}, "bodyMainContent": {"nl": {"mediaType", "content"}}, "attachments": [{"fileName",
  "mediaType", "content" (base64)}]}`` → ``201 {"id"}``; the same ``messageId`` again → ``409 {"id", "detail"}``
  (the first message's id); an invalid body, an INSZ with bad check digits or an attachment that is not base64 →
  ``400`` (the error names the field, never its value).

For tests, under ``/_standin/``: ``GET state`` (count, and ``messageId`` and subject per message, never an INSZ
or a body), ``GET messages/{messageId}`` (recipient, subject, body, attachments: test use only), ``PUT faults``
(``{"status": 503, "count": 2}``: the next two publications answer 503 and store nothing; ``retry_after``
seconds sets the header) and ``POST reset``.

Run alone: ``python -m proactief_sim.standins.ebox --port 8093``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from proactief.insz import is_valid_insz

__all__ = ["EboxState", "StoredMessage", "create_app", "main"]


# ---------------------------------------------------------------- request body (assumed shape)


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class _Recipient(_Model):
    ebox_type: str = Field(alias="eboxType", pattern="^citizen$")
    ssin: str = Field(min_length=11, max_length=11)


class _Text(_Model):
    nl: str = Field(min_length=1)


class _Content(_Model):
    media_type: str = Field(alias="mediaType")
    content: str


class _Body(_Model):
    nl: _Content


class _Attachment(_Model):
    file_name: str = Field(alias="fileName", min_length=1, max_length=200)
    media_type: str = Field(alias="mediaType")
    content: str


class Publication(_Model):
    message_id: str = Field(alias="messageId", min_length=1, max_length=200)
    recipient: _Recipient
    subject: _Text
    body_main_content: _Body = Field(alias="bodyMainContent")
    attachments: list[_Attachment] = Field(default_factory=list, max_length=10)


# ---------------------------------------------------------------- state


@dataclass(frozen=True)
class StoredMessage:
    id: str
    message_id: str
    ssin: str = field(repr=False)
    subject: str
    body: str = field(repr=False)
    attachments: tuple[tuple[str, str, bytes], ...] = field(repr=False)
    """(file name, media type, content)."""


class EboxState:
    """The stand-in's memory, shared by the requests of one app (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: dict[str, StoredMessage] = {}
        self.fault_status: int | None = None
        self.fault_count = 0
        self.fault_retry_after: float | None = None
        self.publish_calls = 0
        self._seq = 0

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.fault_status, self.fault_count, self.fault_retry_after = None, 0, None
            self.publish_calls = 0
            self._seq = 0

    def set_fault(self, status: int, count: int, retry_after: float | None = None) -> None:
        with self.lock:
            self.fault_status, self.fault_count, self.fault_retry_after = status, count, retry_after

    def take_fault(self) -> tuple[int, float | None] | None:
        """The fault to answer this publication with, if one is armed (counts it down)."""
        with self.lock:
            self.publish_calls += 1
            if self.fault_status is None or self.fault_count <= 0:
                return None
            self.fault_count -= 1
            status, retry_after = self.fault_status, self.fault_retry_after
            if self.fault_count == 0:
                self.fault_status, self.fault_retry_after = None, None
            return status, retry_after

    def publish(self, pub: Publication, attachments: tuple[tuple[str, str, bytes], ...]) -> tuple[bool, str]:
        """Store ``pub`` unless its ``messageId`` is known: ``(created, id)``."""
        with self.lock:
            existing = self.messages.get(pub.message_id)
            if existing is not None:
                return False, existing.id
            self._seq += 1
            ebox_id = f"ebox-{self._seq:06d}"
            self.messages[pub.message_id] = StoredMessage(
                id=ebox_id, message_id=pub.message_id, ssin=pub.recipient.ssin, subject=pub.subject.nl,
                body=pub.body_main_content.nl.content, attachments=attachments)
            return True, ebox_id

    def summary(self) -> dict[str, Any]:
        """Counts, message ids and subjects: nothing personal (no INSZ, no body)."""
        with self.lock:
            return {
                "count": len(self.messages),
                "publish_calls": self.publish_calls,
                "messages": [{"id": m.id, "messageId": m.message_id, "subject": m.subject}
                             for m in self.messages.values()],
                "faults": {"status": self.fault_status, "count": self.fault_count},
            }


class _Fault(BaseModel):
    status: int = Field(ge=400, le=599)
    count: int = Field(default=1, ge=0)
    retry_after: float | None = Field(default=None, ge=0)


def _bad_request(detail: str) -> JSONResponse:
    return JSONResponse({"status": 400, "detail": detail}, status_code=400)


# ---------------------------------------------------------------- app


def create_app(state: EboxState | None = None) -> FastAPI:
    """The stand-in as an ASGI app; pass ``state`` to look into it (or share it) from a test."""
    st = state if state is not None else EboxState()
    app = FastAPI(title="eBox stand-in (assumed publication API)", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.ebox = st

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # name the fields only: pydantic's default error body echoes the input, which may be an INSZ
        fields = sorted({".".join(str(p) for p in err.get("loc", ()) if p != "body") for err in exc.errors()})
        named = ", ".join(f for f in fields if f)
        return _bad_request(f"invalid publication: {named}" if named else "invalid publication")

    @app.post("/publication/v3/messages", status_code=201)
    def publish(pub: Publication) -> Response:
        fault = st.take_fault()
        if fault is not None:
            status, retry_after = fault
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
            return JSONResponse({"status": status, "detail": "fault injected by the stand-in"}, status_code=status,
                                headers=headers)
        if not is_valid_insz(pub.recipient.ssin):
            return _bad_request("invalid publication: recipient.ssin is not a valid INSZ")
        attachments = []
        for i, att in enumerate(pub.attachments):
            try:
                content = base64.b64decode(att.content, validate=True)
            except (binascii.Error, ValueError):
                return _bad_request(f"invalid publication: attachments.{i}.content is not base64")
            attachments.append((att.file_name, att.media_type, content))
        created, ebox_id = st.publish(pub, tuple(attachments))
        if not created:
            return JSONResponse({"id": ebox_id, "detail": "duplicate messageId"}, status_code=409)
        return JSONResponse({"id": ebox_id}, status_code=201)

    @app.get("/_standin/state")
    def state_summary() -> dict[str, Any]:
        return st.summary()

    @app.get("/_standin/messages/{message_id}")
    def message(message_id: str) -> Response:
        with st.lock:
            m = st.messages.get(message_id)
        if m is None:
            return JSONResponse({"status": 404, "detail": "no such messageId"}, status_code=404)
        return JSONResponse({
            "id": m.id, "messageId": m.message_id, "recipient": m.ssin, "subject": m.subject, "body": m.body,
            "attachments": [{"fileName": n, "mediaType": t, "size": len(c),
                             "content": base64.b64encode(c).decode("ascii")} for n, t, c in m.attachments],
        })

    @app.put("/_standin/faults")
    def faults(fault: _Fault) -> dict[str, Any]:
        st.set_fault(fault.status, fault.count, fault.retry_after)
        return {"status": fault.status, "count": fault.count}

    @app.post("/_standin/reset", status_code=204)
    def reset() -> Response:
        st.reset()
        return Response(status_code=204)

    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the stand-in on loopback (``--port``)."""
    import uvicorn

    parser = argparse.ArgumentParser(description="eBox stand-in (assumed publication API)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8093)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
