"""The access document from the call-centre lookup: behind Airflow's authentication, offered only to a user who
reads every scheme, asked by POSTing the lookup's log reference (no INSZ in the page or a URL), audited with the
user's name."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, select

from tests.citizen.ledger_data import ANNA, UITPAS, build
from tests.dags import airflow_env  # noqa: F401 (sets the Airflow environment before Airflow is imported)
from tests.dashboard.airflow_auth import bearer as _headers
from tests.dashboard.airflow_auth import dashboard_client

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(ledger: Engine) -> Engine:
    build(ledger)
    return ledger


@pytest.fixture
def client(auth: Any, engine: Engine) -> Iterator[Any]:
    with dashboard_client(engine) as c:
        yield c


def _looked_up(client: Any, headers: dict[str, str]) -> tuple[str, str]:
    page = client.post("lookup", data={"insz": ANNA, "scheme": UITPAS}, headers=headers)
    assert page.status_code == 200, page.text
    return page.text, re.search(r'name="lookup" value="([0-9a-f-]{36})"', page.text).group(1)  # type: ignore[union-attr]


def _exports(engine: Engine) -> list[tuple[str | None, str | None, str]]:
    from proactief.citizen import EXPORT_SERVICE
    from proactief.ledger.models import MagdaConsultation

    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            select(MagdaConsultation.subject_insz, MagdaConsultation.consulted_by, MagdaConsultation.outcome)
            .where(MagdaConsultation.service == EXPORT_SERVICE).order_by(MagdaConsultation.id))]


def test_the_lookup_page_offers_the_document_by_reference_not_by_insz(client: Any, auth: Any) -> None:
    page, ref = _looked_up(client, _headers(auth, "an.callcenter", "viewer"))
    assert 'action="inzage"' in page and 'method="post"' in page and ref
    assert ANNA not in page


def test_html_and_pdf_downloads_are_audited_with_the_user(client: Any, auth: Any, engine: Engine) -> None:
    headers = _headers(auth, "an.callcenter", "viewer")
    _, ref = _looked_up(client, headers)
    html = client.post("inzage", data={"lookup": ref, "format": "html"}, headers=headers)
    assert html.status_code == 200, html.text
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["cache-control"] == "no-store"
    assert re.fullmatch(r'attachment; filename="inzage-\d{8}-\d{4}\.html"', html.headers["content-disposition"])
    assert "Woont in Gent op de peildatum." in html.text and ANNA not in html.text
    pdf = client.post("inzage", data={"lookup": ref, "format": "pdf"}, headers=headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Welke beslissingen namen we?" in text and ANNA not in text
    assert _exports(engine) == [(ANNA, "an.callcenter", "dashboard-html"), (ANNA, "an.callcenter", "dashboard-pdf")]


def test_anonymous_other_users_and_unknown_references_get_nothing(client: Any, auth: Any, engine: Engine) -> None:
    _, ref = _looked_up(client, _headers(auth, "an.callcenter", "viewer"))
    assert client.post("inzage", data={"lookup": ref, "format": "html"}).status_code == 401
    other = client.post("inzage", data={"lookup": ref, "format": "html"},
                        headers=_headers(auth, "someone.else", "viewer"))
    assert other.status_code == 404
    no_access = client.post("inzage", data={"lookup": ref, "format": "html"},
                            headers=_headers(auth, "an.callcenter", None))
    assert no_access.status_code == 403
    bogus = client.post("inzage", data={"lookup": "not-a-ref", "format": "pdf"},
                        headers=_headers(auth, "an.callcenter", "viewer"))
    assert bogus.status_code == 404
    word = client.post("inzage", data={"lookup": ref, "format": "docx"},
                       headers=_headers(auth, "an.callcenter", "viewer"))
    assert word.status_code == 422
    assert _exports(engine) == []
