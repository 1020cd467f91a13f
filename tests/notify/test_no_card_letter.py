"""The kansentarief of a person without a UiTPAS (issue 17 point 1): the message says the tariff is ready and how
to get the pass — where, what to bring, the price, until when — instead of "on your UiTPAS", and the combined
message no longer says there is nothing to do."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from proactief.notify.model import CardInfo
from proactief.notify.render import render
from tests.notify.notices import INSZ, INSZ_DOTTED, ivago, notice, uitpas, uitpas_no_card


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_kansentarief_waiting_for_a_pass_says_where_what_to_bring_the_price_and_until_when() -> None:
    out = render(notice(uitpas_no_card()))

    text, html = _flat(out.text), _flat(out.html)
    assert out.subject == "Wat de stad u toekent: uw kansentarief staat klaar: haal uw UiTPAS"
    for body in (text, html):
        assert "Uw kansentarief staat klaar" in body and "U hebt nog geen UiTPAS" in body
        assert "Aan een UiTPAS-balie in Gent" in body and "identiteitskaart" in body
        assert "Met kansentarief betaalt u € 1,00" in body
        assert "30 juni 2027" in body and "geen nieuwe brief" in body
        assert "U hoeft er niets voor te doen" not in body and "Op uw UiTPAS staat nu" not in body
        assert INSZ not in body and INSZ_DOTTED not in body


def test_a_kansentarief_on_a_pass_says_nothing_about_fetching_one() -> None:
    text = _flat(render(notice(uitpas())).text)

    assert "Op uw UiTPAS staat nu het kansentarief" in text and "U hoeft er niets voor te doen" in text
    assert "UiTPAS-balie" not in text and "staat klaar" not in text


def test_the_combined_message_tells_the_benefit_that_needs_a_pass_beside_the_others() -> None:
    text = _flat(render(notice(ivago(), uitpas_no_card())).text)

    assert "De stad Gent geeft u automatisch twee voordelen. U moet wel nog een pas gaan halen" in text
    assert "waardebon" in text.lower() and "Uw kansentarief staat klaar" in text


def test_a_scheme_without_where_or_price_still_says_until_when() -> None:
    bare = replace(uitpas(), card=CardInfo(where=None, bring=None, price=None, fetch_by=dt.date(2027, 3, 1)))

    text = _flat(render(notice(bare)).text)

    assert "U hebt nog geen UiTPAS" in text and "uiterlijk op 1 maart 2027" in text
    assert "Wat kost de pas" not in text and "Waar?" not in text
