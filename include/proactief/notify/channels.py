"""The three ways a notice reaches a citizen: e-mail (SMTP), a printed letter, and the federal eBox.

Each channel has a ``name`` (the outbox channel it serves) and ``send(notice, rendered) -> Delivered``. The
outcome is the one every delivery has (:mod:`proactief.delivery`, as for the grant adapters): ``Delivered``
(``already=True`` when the channel can tell the message was delivered before), :class:`TransientDeliveryError`
(try again later: connection refused, timeout, 4xx SMTP, HTTP 5xx/429) or :class:`PermanentDeliveryError` (a
person must act: recipient rejected, credentials refused, invalid data). The dispatcher may hand the same notice
twice after a crash; the letter and the eBox then answer ``already``, e-mail cannot tell (its ``Message-ID`` lets
the recipient's mail client fold the duplicate).

No error message carries an INSZ, an e-mail address or a postal address: they are for the operator's log. Only
the eBox request carries the INSZ, in its JSON body, because the eBox is addressed by it.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from proactief.delivery import Delivered, PermanentDeliveryError, TransientDeliveryError, write_atomically
from proactief.insz import InvalidINSZ, validate_insz
from proactief.notify.model import Notice, NoticeChannel, RenderedNotice
from proactief.notify.pdf import message_id_keyword, render_pdf

__all__ = ["EBOX_PUBLISH_PATH", "EboxChannel", "LetterChannel", "NoticeChannel", "SmtpChannel", "letter_file_name"]

EBOX_PUBLISH_PATH = "/publication/v3/messages"
"""Where the eBox takes a publication (assumed, loosely after e-Box Enterprise's publication API)."""


def _check_channel(channel: str, notice: Notice) -> None:
    if notice.channel != channel:
        raise ValueError(f"notice {notice.message_id} is for channel {notice.channel!r}, not {channel!r}")


# ---------------------------------------------------------------- e-mail

_ENHANCED_STATUS = re.compile(rb"^\s*([245]\.\d{1,3}\.\d{1,3})")


def _smtp_error(what: str, code: int, reply: bytes | str | None) -> TransientDeliveryError | PermanentDeliveryError:
    """4xx is worth a retry, 5xx is not. Only the codes go in the message: a reply may echo the address."""
    raw = reply.encode() if isinstance(reply, str) else (reply or b"")
    match = _ENHANCED_STATUS.match(raw)
    detail = f"{code} {match.group(1).decode()}" if match else str(code)
    if 400 <= code < 500:
        return TransientDeliveryError(f"{what}: temporary SMTP failure ({detail})")
    return PermanentDeliveryError(f"{what}: SMTP rejected ({detail})")


class SmtpChannel:
    """E-mail through the city's SMTP relay: one multipart/alternative message (plain text and HTML)."""

    name = "email"

    def __init__(self, host: str, port: int, sender: str, *, starttls: bool = False, username: str | None = None,
                 password: str | None = None, timeout: float = 10) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.starttls = starttls
        self.username = username
        self.password = password
        self.timeout = timeout

    def build_message(self, notice: Notice, rendered: RenderedNotice) -> EmailMessage:
        """The message as it goes on the wire; ``Message-ID`` is ``<notice.message_id>``."""
        if not notice.email:
            raise PermanentDeliveryError(f"notice {notice.message_id}: no e-mail address")
        msg = EmailMessage(policy=SMTP)
        try:
            msg["From"] = self.sender
            # "Jan Peeters <jan@…>": the name from the register extract, read at send time (never stored)
            msg["To"] = (email.utils.formataddr((notice.addressee_names[0], notice.email))
                         if notice.addressee_names else notice.email)
            msg["Subject"] = rendered.subject
        except ValueError as exc:  # a header with a line break: invalid data, not a transient fault
            raise PermanentDeliveryError(f"notice {notice.message_id}: invalid e-mail header") from exc
        msg["Message-ID"] = f"<{notice.message_id}>"
        msg["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
        msg["Content-Language"] = "nl-BE"
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to a notification
        msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
        msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
        return msg

    def send(self, notice: Notice, rendered: RenderedNotice) -> Delivered:
        _check_channel(self.name, notice)
        msg = self.build_message(notice, rendered)
        where = f"SMTP {self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(msg, from_addr=self.sender, to_addrs=[notice.email or ""])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (550, b""))
            raise _smtp_error(f"{where}: recipient", code, reply) from None
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth failed, HELO refused…
            raise _smtp_error(f"{where}: {type(exc).__name__}", exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentDeliveryError(f"{where}: server does not support {exc}") from None
        except smtplib.SMTPServerDisconnected as exc:  # smtplib turns a read timeout into this
            why = f"timed out after {self.timeout}s" if "timed out" in str(exc) else "server disconnected"
            raise TransientDeliveryError(f"{where}: {why}") from None
        except ssl.SSLCertVerificationError:
            raise PermanentDeliveryError(f"{where}: TLS certificate not trusted") from None
        except TimeoutError:
            raise TransientDeliveryError(f"{where}: timed out after {self.timeout}s") from None
        except OSError as exc:  # connection refused, unreachable, TLS handshake…
            raise TransientDeliveryError(f"{where}: {type(exc).__name__} ({exc.errno or 'no errno'})") from None
        return Delivered(reference=notice.message_id)


# ---------------------------------------------------------------- letter

_SAFE = "@.-_+"


def letter_file_name(message_id: str) -> str:
    """``<safe message id>.pdf``: one-to-one with the message id (percent-encoded), so the same name means the
    same message; never hidden (a leading dot is encoded) and short enough for any file system."""
    safe = quote(message_id, safe=_SAFE)
    if safe.startswith("."):
        safe = "%2E" + safe[1:]
    if len(safe) > 200:
        safe = f"{safe[:150]}-{hashlib.sha256(message_id.encode()).hexdigest()[:32]}"
    return f"{safe}.pdf"


def _pdf_keywords(path: Path) -> str | None:
    from pypdf import PdfReader

    try:
        info = PdfReader(path).metadata
    except Exception:  # an unreadable file is simply "not this message"
        return None
    return str(info.get("/Keywords")) if info and info.get("/Keywords") is not None else None


class LetterChannel:
    """The city's print-and-post service, stood in for by a directory: one PDF per message, written atomically.

    A file is complete or absent (temporary file, ``fsync``, ``os.replace``, ``fsync`` of the directory), so the
    print service never picks up half a letter, and a second send of the same message finds the file and
    answers ``already`` instead of printing twice.
    """

    name = "letter"

    def __init__(self, outdir: Path | str) -> None:
        self.outdir = Path(outdir)

    def path_for(self, message_id: str) -> Path:
        return self.outdir / letter_file_name(message_id)

    def send(self, notice: Notice, rendered: RenderedNotice) -> Delivered:
        _check_channel(self.name, notice)
        if not notice.address_line:
            raise PermanentDeliveryError(f"notice {notice.message_id}: no postal address for a letter")
        target = self.path_for(notice.message_id)
        if target.exists():
            if _pdf_keywords(target) == message_id_keyword(notice.message_id):
                return Delivered(reference=target.name, already=True)
            raise PermanentDeliveryError(f"letter {target.name} exists but is not message {notice.message_id}")
        pdf = render_pdf(notice, rendered)
        try:
            self.outdir.mkdir(parents=True, exist_ok=True)
            write_atomically(self.outdir, target.name, pdf, tmp_prefix=".tmp-", tmp_suffix=".pdf")
        except PermissionError:
            raise PermanentDeliveryError(f"letter directory {self.outdir}: permission denied") from None
        except OSError as exc:  # disk full, I/O error: may pass
            raise TransientDeliveryError(f"letter directory {self.outdir}: {type(exc).__name__}") from None
        return Delivered(reference=target.name)


# ---------------------------------------------------------------- eBox


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: leave the back-off to the dispatcher


class EboxChannel:
    """The citizen's eBox (federal e-Box for citizens), addressed by INSZ: subject, text and the PDF letter.

    The request shape is assumed, loosely after the e-Box Enterprise publication API; ``messageId`` is the
    idempotency key, so a duplicate is answered 409 and counts as ``already`` delivered.
    """

    name = "ebox"

    def __init__(self, base_url: str, *, timeout: float = 10, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()

    def payload(self, notice: Notice, rendered: RenderedNotice) -> dict[str, Any]:
        """The JSON body: the only place a notice's INSZ leaves the project."""
        try:
            ssin = validate_insz(notice.insz)
        except InvalidINSZ as exc:
            raise PermanentDeliveryError(f"notice {notice.message_id}: {exc}") from None
        pdf = render_pdf(notice, rendered)
        return {
            "messageId": notice.message_id,
            "recipient": {"eboxType": "citizen", "ssin": ssin},
            "subject": {"nl": rendered.subject},
            "bodyMainContent": {"nl": {"mediaType": "text/plain", "content": rendered.text}},
            "attachments": [{
                "fileName": "wat-de-stad-u-toekent.pdf",
                "mediaType": "application/pdf",
                "content": base64.b64encode(pdf).decode("ascii"),
            }],
        }

    def send(self, notice: Notice, rendered: RenderedNotice) -> Delivered:
        _check_channel(self.name, notice)
        body = self.payload(notice, rendered)
        url = self.base_url + EBOX_PUBLISH_PATH
        try:
            response = self.session.post(url, json=body, timeout=self.timeout)
        except requests.Timeout:
            raise TransientDeliveryError(f"eBox: timed out after {self.timeout}s") from None
        except requests.RequestException as exc:
            raise TransientDeliveryError(f"eBox: {type(exc).__name__}") from None
        status = response.status_code
        if status in (200, 201):
            return Delivered(reference=self._reference(response, notice))
        if status == 409:
            return Delivered(reference=self._reference(response, notice), already=True)
        if status in (408, 425, 429) or status >= 500:
            raise TransientDeliveryError(f"eBox: HTTP {status}", retry_after=_retry_after(response))
        raise PermanentDeliveryError(f"eBox: HTTP {status} for message {notice.message_id}")

    @staticmethod
    def _reference(response: requests.Response, notice: Notice) -> str:
        try:
            data = response.json()
        except ValueError:
            return notice.message_id
        ref = data.get("id") if isinstance(data, dict) else None
        return str(ref) if ref else notice.message_id
