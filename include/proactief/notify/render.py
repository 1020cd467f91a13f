"""Turn a :class:`Notice` into the words a citizen reads: subject, plain text and HTML, in plain Dutch (B1).

The wording lives in Jinja2 templates (``notify/templates``), not in code, so the communication team can change
it without touching Python. One notice gives one message ("Wat de stad u toekent") with one block per benefit;
each block comes from the scheme's own partial, named after its ``notification.template`` in the scheme
definition (``uitpas-kansentarief/toegekend`` → ``uitpas-kansentarief/toegekend.txt.j2``, ``.html.j2`` and
``.onderwerp.txt.j2``). Title, owner department, contact e-mail, legal basis and tier titles come from the
scheme YAML, so the letter says what the rules say.

The environment is strict (``StrictUndefined``): a benefit that lacks a value its template needs (an IVAGO line
without ``amounts["waardebon"]``, a LEZ line without a plate) fails to render instead of sending a letter with a
hole in it. A ``None`` field of a :class:`BenefitLine` is *absent* for the templates (``is defined`` tests it).

The INSZ never reaches a template: the context is built field by field without it, and the result is checked
once more for the number (raw and as ``YY.MM.DD-SSS.CC``) before it is returned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    Undefined,
    UndefinedError,
    select_autoescape,
)

from proactief.delivery import PermanentDeliveryError
from proactief.notify.model import BenefitLine, Notice, RenderedNotice
from proactief.schemes import Scheme, load_scheme
from proactief.schemes.loader import extra_scheme_dirs

__all__ = [
    "COMBINED_TEMPLATES",
    "GREETING",
    "RENEWAL_PART",
    "RENEWAL_TEMPLATES",
    "STOP_PART",
    "STOP_TEMPLATES",
    "RenderError",
    "TEMPLATES_DIR",
    "environment",
    "format_date",
    "format_euro",
    "format_percent",
    "greeting",
    "render",
    "scheme_template",
]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
GREETING = "Beste Gentenaar"
"""When the register extract has no name for the addressee (an older extract without name columns)."""


def greeting(names: Iterable[str]) -> str:
    """``Beste Jan Peeters``, ``Beste Jan Peeters en Sara Claes``; :data:`GREETING` without a name. The names come
    from the register extract at send time and are used to address the message only."""
    known = [" ".join(str(n).split()) for n in names if n and str(n).strip()]
    return f"Beste {_enumeration(known)}" if known else GREETING
COMBINED_TEMPLATES = {
    "subject": "bericht/onderwerp.txt.j2",
    "text": "bericht/tekst.txt.j2",
    "html": "bericht/html.html.j2",
}
"""The combined message "Wat de stad u toekent"; it includes one scheme partial per benefit."""
STOP_TEMPLATES = {
    "subject": "stopzetting/onderwerp.txt.j2",
    "text": "stopzetting/tekst.txt.j2",
    "html": "stopzetting/html.html.j2",
}
"""The message "Een voordeel stopt": a benefit ends because the person no longer qualifies. Its partials are the
scheme's ``<scheme id>/stopgezet.*`` (only schemes that end grants early have them: ``lez-vrijstelling``)."""
STOP_PART = "stopgezet"
RENEWAL_TEMPLATES = {
    "subject": "verlenging/onderwerp.txt.j2",
    "text": "verlenging/tekst.txt.j2",
    "html": "verlenging/html.html.j2",
}
"""The short message "Uw voordeel loopt langer": a running benefit was renewed inside its window. It says only what
changed (the new end date), never "toegekend" again. Partials: ``<scheme id>/verlengd.*`` (``lez-vrijstelling``)."""
RENEWAL_PART = "verlengd"
_PART_SUFFIX = {"subject": ".onderwerp.txt.j2", "text": ".txt.j2", "html": ".html.j2"}

_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december")
_NUMBER_WORDS = {1: "één", 2: "twee", 3: "drie", 4: "vier", 5: "vijf", 6: "zes", 7: "zeven", 8: "acht"}


class RenderError(PermanentDeliveryError, ValueError):
    """The notice cannot be told: no benefits, unknown scheme or tier, no sources, or a value its template needs
    is missing (then ``__cause__`` is the ``jinja2.UndefinedError``). A :class:`PermanentDeliveryError`, so a
    dispatcher that renders inside its ``try`` records it against that one notice; the message names no values."""


# ---------------------------------------------------------------- filters (Belgian-Dutch formatting)


def _defined(value: Any) -> Any:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()  # raises UndefinedError naming what is missing
    if value is None:
        raise ValueError("a value the template needs is missing (None)")
    return value


def format_date(value: dt.date) -> str:
    """``1 januari 2027``."""
    d = _defined(value)
    if not isinstance(d, dt.date):
        raise TypeError(f"datum: expected a date, got {type(d).__name__}")
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def format_euro(value: Decimal | int | str) -> str:
    """``€ 42,00``, ``€ 1.234,50`` (Belgian style: thousands with a dot, decimals with a comma)."""
    amount = Decimal(str(_defined(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"€ {sign}{digits}"


def format_percent(value: Decimal | int | str) -> str:
    """``80%``, ``12,5%``: no trailing zeros."""
    number = Decimal(str(_defined(value)))
    text = f"{number.normalize():f}" if number != number.to_integral() else f"{number.to_integral():f}"
    return f"{text.replace('.', ',')}%"


def _number_word(value: int) -> str:
    return _NUMBER_WORDS.get(_defined(value), str(value))


def _enumeration(items: Iterable[str]) -> str:
    """``a``, ``a en b``, ``a, b en c``."""
    parts = [str(i) for i in _defined(items)]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " en " + parts[-1]


def _heading(title: str, underline: str = "-") -> str:
    """A plain-text heading: the title, then a line of ``underline`` as long as it (the PDF makes it bold)."""
    text = str(_defined(title))
    return f"{text}\n{underline * len(text)}"


def _plus_days(value: dt.date, days: int) -> dt.date:
    return _defined(value) + dt.timedelta(days=int(_defined(days)))


def environment() -> Environment:
    """The one Jinja2 environment: strict, autoescaping ``.html.j2`` only, with the Dutch filters. A scheme
    added from an extra folder (``PROACTIEF_SCHEME_DIRS``) brings its templates in that folder's ``templates/``."""
    return _environment((*(d / "templates" for d in extra_scheme_dirs()), TEMPLATES_DIR))


@lru_cache(maxsize=4)
def _environment(folders: tuple[Path, ...]) -> Environment:
    env = Environment(
        loader=FileSystemLoader(folders),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2", "html"), default_for_string=False,
                                     default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update({
        "datum": format_date,
        "euro": format_euro,
        "procent": format_percent,
        "telwoord": _number_word,
        "opsomming": _enumeration,
        "kop": _heading,
        "plus_dagen": _plus_days,
    })
    return env


# ---------------------------------------------------------------- context


@cache
def _scheme(scheme_id: str) -> Scheme:
    try:
        return load_scheme(scheme_id)
    except FileNotFoundError as exc:
        raise RenderError(f"no scheme definition for benefit line of scheme {scheme_id!r}") from exc


def scheme_template(scheme_id: str) -> str:
    """The scheme's partial template name, from its definition (``uitpas-kansentarief/toegekend``)."""
    return _scheme(scheme_id).notification.template


@dataclass(frozen=True)
class _Block:
    """What one benefit's partial gets: ``b`` (the benefit line, ``None`` fields absent) and ``s`` (the scheme)."""

    b: Mapping[str, Any]
    s: Mapping[str, Any]
    template: str


def _benefit(line: BenefitLine) -> dict[str, Any]:
    values: dict[str, Any] = {
        "scheme_id": line.scheme_id,
        "tier": line.tier,
        "period": line.period,
        "valid_from": line.valid_from,
        "valid_until": line.valid_until,
        "amount": line.amount,
        "amounts": dict(line.amounts),
        "percentages": dict(line.percentages),
        "vehicle_plate": line.vehicle_plate,
        "institution_name": line.institution_name,
        "sources": list(line.sources),
        "ends_on": line.ends_on,
        "previous_until": line.previous_until,
        "moved_to": line.moved_to,
        "naam": line.beneficiary_name,
        "pas": None if line.card is None else {k: v for k, v in {
            "waar": line.card.where, "meebrengen": line.card.bring, "prijs": line.card.price,
            "uiterlijk": line.card.fetch_by}.items() if v is not None},
    }
    return {k: v for k, v in values.items() if v is not None}


def _block(line: BenefitLine, kind: str) -> _Block:
    scheme = _scheme(line.scheme_id)
    if kind == "stopgezet" and line.ends_on is None:
        raise RenderError(f"stopped benefit line of {line.scheme_id}: no end date (the message must say it)")
    if kind == "verlengd" and (line.previous_until is None or line.valid_until is None):
        raise RenderError(f"renewed benefit line of {line.scheme_id}: no old or new end date (the message must "
                          "say what changed)")
    if not line.sources:
        raise RenderError(f"benefit line of {line.scheme_id}: no data sources (the message must name them)")
    info: dict[str, Any] = {
        "id": scheme.id,
        "titel": scheme.title,
        "dienst": scheme.owner.department,
        "contact": scheme.owner.contact,
        "regels": [lb.citation for lb in scheme.legal_basis],
    }
    if scheme.tiers:
        titles = {t.id: t.title for t in scheme.tiers}
        if line.tier not in titles:
            known = ", ".join(titles)
            raise RenderError(f"benefit line of {line.scheme_id}: unknown tier {line.tier!r} (known: {known})")
        info["tier_titel"] = titles[line.tier]
    template = (f"{scheme.id}/{STOP_PART}" if kind == "stopgezet" else f"{scheme.id}/{RENEWAL_PART}"
                if kind == "verlengd" else scheme.notification.template)
    return _Block(b=_benefit(line), s=info, template=template)


def _context(notice: Notice) -> dict[str, Any]:
    """Everything a template may use. Deliberately no ``insz``, and no e-mail address either."""
    if not notice.benefits:
        raise RenderError(f"notice {notice.message_id}: no benefits to tell about")
    blocks = [_block(line, notice.kind) for line in notice.benefits]
    return {
        "actie_nodig": any(line.card is not None for line in notice.benefits),
        "aanhef": greeting(notice.addressee_names),
        "voor_kinderen": all(line.beneficiary_name for line in notice.benefits),
        "kanaal": notice.channel,
        "verzonden_op": notice.sent_on,
        "bericht_id": notice.message_id,
        "voordelen": [{"b": blk.b, "s": blk.s, "sjabloon": blk.template} for blk in blocks],
    }


# ---------------------------------------------------------------- render


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and out and not out[-1]:
            continue  # at most one empty line between paragraphs
        out.append(line)
    return "\n".join(out) + "\n"


def _insz_forms(insz: str) -> tuple[str, ...]:
    forms = [insz]
    if len(insz) == 11 and insz.isdigit():
        forms.append(f"{insz[:2]}.{insz[2:4]}.{insz[4:6]}-{insz[6:9]}.{insz[9:]}")
    return tuple(f for f in forms if f)


def render(notice: Notice) -> RenderedNotice:
    """Subject, plain-text body and HTML body of the combined message for ``notice``.

    Raises :class:`RenderError` for a notice that cannot be told (no benefits, unknown scheme or tier, no sources,
    a value a template needs is missing, or the INSZ would show). Its message names no personal values.
    """
    env = environment()
    ctx = _context(notice)
    combined = {"stopgezet": STOP_TEMPLATES, "verlengd": RENEWAL_TEMPLATES}.get(notice.kind, COMBINED_TEMPLATES)
    try:
        labels: list[str] = []
        for block in ctx["voordelen"]:
            part = env.get_template(block["sjabloon"] + _PART_SUFFIX["subject"])
            label = part.render(ctx, b=block["b"], s=block["s"]).strip()
            if label not in labels:
                labels.append(label)
        subject = " ".join(env.get_template(combined["subject"]).render(ctx, onderwerpen=labels).split())
        text = _tidy_text(env.get_template(combined["text"]).render(ctx))
        html = env.get_template(combined["html"]).render(ctx)
    except UndefinedError as exc:
        raise RenderError(f"notice {notice.message_id}: a benefit lacks a value its template needs ({exc})") from exc
    except TemplateNotFound as exc:
        raise RenderError(f"notice {notice.message_id}: no template {exc.name} for a {notice.kind} message") from exc
    for form in _insz_forms(notice.insz):
        if form in subject or form in text or form in html:
            raise RenderError(f"notice {notice.message_id}: the rendered message contains the INSZ; not sent")
    return RenderedNotice(subject=subject, text=text, html=html)
