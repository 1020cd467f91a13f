"""What the citizen reads: every scheme and tier renders, strictly, in plain Dutch, and never shows the INSZ."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from decimal import Decimal

import pytest
from jinja2 import StrictUndefined, UndefinedError

from proactief.delivery import PermanentDeliveryError
from proactief.notify.model import Notice, RenderedNotice
from proactief.notify.render import (
    TEMPLATES_DIR,
    RenderError,
    environment,
    format_date,
    format_euro,
    format_percent,
    render,
    scheme_template,
)
from proactief.schemes import load_all
from tests.notify.notices import (
    CASES,
    CHANNELS,
    COMBINED,
    INSZ,
    INSZ_DOTTED,
    MESSAGE_ID,
    SCHOOL,
    TIER_PERCENTAGES,
    assert_no_insz,
    facts,
    ivago,
    lez,
    notice,
    on_channel,
    onderwijs,
    uitpas,
)

# ---------------------------------------------------------------- every template, every tier, every channel


def test_every_scheme_has_subject_text_and_html_partials_named_after_its_notification_template():
    for scheme in load_all().values():
        name = scheme.notification.template
        assert scheme_template(scheme.id) == name
        for suffix in (".onderwerp.txt.j2", ".txt.j2", ".html.j2"):
            assert (TEMPLATES_DIR / f"{name}{suffix}").is_file(), f"{name}{suffix}"


def test_onderwijskorting_templates_cover_every_tier_of_the_scheme():
    tiers = {t.id for t in load_all()["onderwijskorting"].tiers}
    assert tiers == set(TIER_PERCENTAGES)


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("case", CASES)
def test_every_scheme_and_tier_renders_on_every_channel_with_its_facts_and_without_the_insz(case, channel):
    n = on_channel(notice(*CASES[case]), channel)
    r = render(n)
    assert isinstance(r, RenderedNotice)
    assert r.subject.startswith("Wat de stad u toekent: ")
    assert r.text.startswith("Beste Gentenaar\n")
    assert "<p>Beste Gentenaar</p>" in r.html
    for line in n.benefits:
        title = load_all()[line.scheme_id].title
        assert title in r.text and title in r.html
        for fact in facts(line):
            assert fact in r.text, fact
            assert fact in r.html.replace("<strong>", "").replace("</strong>", ""), fact
    nothing_to_do = "U hoeft er niets voor te doen." in r.text
    assert nothing_to_do == all(line.card is None for line in n.benefits)  # a pass to fetch is something to do
    assert "artikel 21 van de AVG" in r.text and "09 210 10 10" in r.text
    assert "bezwaar indienen" in r.text and "uiterlijk op 14 februari 2027" in r.text
    assert n.message_id in r.text and n.message_id in r.html
    assert_no_insz(r.subject, r.text, r.html)
    assert "bewoner@example.org" not in r.text + r.html, "the e-mail address is not content"


def test_a_person_with_four_benefits_gets_one_message_listing_all_of_them_in_order():
    r = render(notice(*COMBINED["alle-vier"]))
    assert r.subject == "Wat de stad u toekent: vier voordelen"
    assert "automatisch vier voordelen" in r.text
    headings = re.findall(r"^(\d)\. (.+)\n-+$", r.text, flags=re.M)
    assert [h[0] for h in headings] == ["1", "2", "3", "4"]
    assert [h[1] for h in headings] == [load_all()[b.scheme_id].title for b in COMBINED["alle-vier"]]
    assert r.text.count("Wilt u niet dat we uw gegevens hiervoor gebruiken?") == 1
    assert r.text.count("Bent u het niet eens met een beslissing?") == 1


def test_subject_names_one_or_two_benefits_and_counts_more():
    assert render(notice(uitpas())).subject == "Wat de stad u toekent: kansentarief op uw UiTPAS"
    assert render(notice(uitpas(), ivago())).subject == (
        "Wat de stad u toekent: kansentarief op uw UiTPAS en waardebon voor huisvuilzakken")
    assert render(notice(uitpas(), ivago(), lez())).subject == "Wat de stad u toekent: drie voordelen"


def test_each_block_names_the_scheme_owner_department_and_contact_from_the_yaml():
    schemes = load_all()
    r = render(notice(*COMBINED["alle-vier"]))
    for scheme in schemes.values():
        assert scheme.owner.department in r.text and scheme.owner.contact in r.text
        assert f'href="mailto:{scheme.owner.contact}"' in r.html


@pytest.mark.parametrize("tier", TIER_PERCENTAGES)
def test_onderwijskorting_says_the_tier_title_and_both_discounts(tier):
    r = render(notice(onderwijs(tier)))
    title = {t.id: t.title for t in load_all()["onderwijskorting"].tiers}[tier]
    assert f"Waarom? {title}." in r.text
    expected = {
        "leefloon": ["- Opvang: gratis (100% korting)", "- Maaltijden: 80% korting"],
        "inkomen-laag": ["- Opvang: 50% korting", "- Maaltijden: 25% korting"],
        "inkomen-midden": ["- Opvang: 50% korting", "- Maaltijden: geen korting"],
    }[tier]
    for line in expected:
        assert line in r.text


def test_uitpas_says_the_percentage_until_valid_until():
    r = render(notice(replace(uitpas(), valid_until=dt.date(2027, 6, 30))))
    assert "80% korting" in r.text and "tot en met 30 juni 2027" in r.text


def test_open_ended_benefit_says_from_when_only():
    r = render(notice(replace(lez(), valid_until=None)))
    assert "De vrijstelling geldt vanaf 11 januari 2027." in r.text
    assert "tot en met" not in r.text.split("Welke gegevens")[0]


# ---------------------------------------------------------------- strictness


def test_environment_is_strict_and_autoescapes_html_only():
    env = environment()
    assert env.undefined is StrictUndefined
    with pytest.raises(UndefinedError):
        env.from_string("{{ nergens }}").render()
    assert env.autoescape("bericht/html.html.j2") is True
    assert env.autoescape("bericht/tekst.txt.j2") is False


@pytest.mark.parametrize(
    ("line", "missing"),
    [
        (replace(ivago(), amounts={"waardebon": Decimal("42")}), "inzamelkrediet"),
        (replace(uitpas(), percentages={}), "korting"),
        (replace(onderwijs(), percentages={"opvang": Decimal("100")}), "maaltijden"),
        (replace(lez(), vehicle_plate=None), "vehicle_plate"),
    ],
)
def test_a_benefit_missing_a_value_its_template_needs_fails_to_render(line, missing):
    with pytest.raises(RenderError, match=missing) as err:
        render(notice(line))
    assert isinstance(err.value.__cause__, UndefinedError), "StrictUndefined caught it"


def test_a_render_failure_is_a_permanent_delivery_error_so_the_dispatcher_records_it_per_notice():
    with pytest.raises(PermanentDeliveryError):
        render(notice(replace(uitpas(), percentages={})))


def test_unknown_tier_unknown_scheme_no_sources_and_no_benefits_are_refused():
    with pytest.raises(RenderError, match="unknown tier"):
        render(notice(replace(onderwijs(), tier="inkomen-hoog")))
    with pytest.raises(RenderError, match="no scheme definition"):
        render(notice(replace(uitpas(), scheme_id="gratis-fiets")))
    with pytest.raises(RenderError, match="no data sources"):
        render(notice(replace(uitpas(), sources=())))
    with pytest.raises(RenderError, match="no benefits"):
        render(Notice(MESSAGE_ID, "email", INSZ, None, None, dt.date(2027, 1, 1), ()))


def test_html_escapes_data_and_text_keeps_it_as_is():
    r = render(notice(onderwijs(institution="School <De Boom> & Co")))
    assert "School &lt;De Boom&gt; &amp; Co" in r.html and "<De Boom>" not in r.html
    assert "School <De Boom> & Co" in r.text


def test_an_insz_that_reached_the_data_is_caught_before_sending():
    leaked = replace(uitpas(), sources=(f"Rijksregister – {INSZ_DOTTED}",))
    with pytest.raises(RenderError, match="contains the INSZ") as err:
        render(notice(leaked))
    assert INSZ not in str(err.value) and INSZ_DOTTED not in str(err.value)


# ---------------------------------------------------------------- Belgian-Dutch formatting


def test_formats_euro_date_and_percentage_belgian_style():
    assert format_euro(Decimal("42")) == "€ 42,00"
    assert format_euro(Decimal("58.5")) == "€ 58,50"
    assert format_euro(Decimal("1234.565")) == "€ 1.234,57"
    assert format_date(dt.date(2027, 1, 1)) == "1 januari 2027"
    assert format_date(dt.date(2026, 8, 31)) == "31 augustus 2026"
    assert format_percent(Decimal("80")) == "80%"
    assert format_percent(Decimal("80.00")) == "80%"
    assert format_percent(Decimal("12.5")) == "12,5%"


def test_school_name_is_optional_and_then_the_block_speaks_of_the_city_school():
    r = render(notice(onderwijs(institution=None)))
    assert SCHOOL not in r.text
    assert "de stedelijke school of kinderopvang" in r.text


# ---------------------------------------------------------------- a benefit that stops (LEZ revocation)


def _stopped(line_end: dt.date | None = dt.date(2027, 3, 1)) -> Notice:
    return replace(notice(replace(lez(), ends_on=line_end)), kind="stopgezet")


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_stopped_lez_exemption_says_which_plate_from_when_why_and_how_to_appeal(channel):
    n = on_channel(_stopped(), channel)
    r = render(n)
    assert r.subject == "Een voordeel van de stad stopt: vrijstelling voor de lage-emissiezone"
    text = " ".join(r.text.split())
    assert "1-ABC-123" in text and "Vanaf 1 maart 2027 geldt die vrijstelling niet meer" in text
    assert "parkeerkaart" in text and "boete" in text, "why, in general terms, and what it means"
    assert f"uiterlijk op {format_date(n.sent_on + dt.timedelta(days=30))}" in text, "the appeal deadline"
    assert "artikel 21 van de AVG" in text and n.message_id in text
    assert "Wat de stad u toekent" not in r.subject + r.text, "not the grant message"
    assert_no_insz(r.subject, r.text, r.html)


def test_a_stop_message_needs_an_end_date_and_a_scheme_with_stop_wording():
    with pytest.raises(RenderError, match="no end date"):
        render(_stopped(None))
    with pytest.raises(RenderError, match="no template uitpas-kansentarief/stopgezet"):
        render(replace(notice(replace(uitpas(), ends_on=dt.date(2027, 3, 1))), kind="stopgezet"))


# ---------------------------------------------------------------- a benefit that runs longer (LEZ renewal)


def _renewed(previous: dt.date | None = dt.date(2026, 12, 10)) -> Notice:
    line = replace(lez(), valid_from=dt.date(2026, 12, 11), valid_until=dt.date(2031, 11, 16),
                   previous_until=previous)
    return replace(notice(line), kind="verlengd")


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_renewed_lez_exemption_says_only_what_changed_never_granted_again(channel):
    n = on_channel(_renewed(), channel)
    r = render(n)
    assert r.subject == "Uw voordeel loopt langer: vrijstelling voor de lage-emissiezone"
    text = " ".join(r.text.split())
    assert "1-ABC-123" in text and "liep tot en met 10 december 2026" in text
    assert "verlengd tot en met 16 november 2031" in text and "Verder verandert er niets" in text
    assert "toekent" not in r.subject + r.text and "Wat de stad u toekent" not in r.html
    assert "artikel 21 van de AVG" in text and n.message_id in text
    assert len(r.text) < len(render(notice(lez())).text), "shorter than the grant message"
    assert_no_insz(r.subject, r.text, r.html)


def test_a_renewal_message_needs_the_old_end_and_a_scheme_with_renewal_wording():
    with pytest.raises(RenderError, match="no old or new end date"):
        render(_renewed(None))
    with pytest.raises(RenderError, match="no template ivago-tegemoetkoming/verlengd"):
        render(replace(notice(replace(ivago(), previous_until=dt.date(2026, 12, 31))), kind="verlengd"))


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_renewed_uitpas_kansentarief_says_only_the_new_end_date_never_granted_again(channel):
    line = replace(uitpas(), valid_from=dt.date(2027, 1, 1), valid_until=dt.date(2027, 12, 31),
                   previous_until=dt.date(2026, 12, 31))
    n = on_channel(replace(notice(line), kind="verlengd"), channel)
    r = render(n)
    assert r.subject == "Uw voordeel loopt langer: kansentarief op uw UiTPAS"
    text = " ".join(r.text.split())
    assert "liep tot en met 31 december 2026" in text and "verlengd tot en met 31 december 2027" in text
    assert "Verder verandert er niets" in text and "tot en met 31 december 2027" in r.html
    assert "toekent" not in r.subject + r.text and "Wat de stad u toekent" not in r.html
    assert "staat nu het kansentarief" not in text, "the grant wording is not repeated"
    assert n.message_id in text and len(r.text) < len(render(notice(uitpas())).text)
    assert_no_insz(r.subject, r.text, r.html)


def test_a_stopped_exemption_that_moves_to_another_vehicle_says_where_it_went():
    r = render(replace(notice(replace(lez(), ends_on=dt.date(2026, 11, 16), moved_to="2-XYZ-789")),
                       kind="stopgezet"))
    text = " ".join(r.text.split())
    assert "1-ABC-123" in text and "gaat ze nu naar het voertuig met nummerplaat 2-XYZ-789" in text
    assert "geen recht meer" not in text and "2-XYZ-789" in r.html


# ---------------------------------------------------------------- addressed by name (issue 17.2)


def test_a_message_greets_its_addressee_by_name_and_a_household_message_names_each_child_and_school():
    other = "Stedelijke Kleuterschool De Regenboog"
    family = replace(notice(replace(onderwijs("leefloon"), beneficiary_name="Lotte Peeters"),
                            replace(onderwijs("leefloon", institution=other), beneficiary_name="Milan Peeters")),
                     addressee_names=("Sara Peeters", "Tom Claes"))
    r = render(family)
    assert r.text.startswith("Beste Sara Peeters en Tom Claes\n")
    assert "<p>Beste Sara Peeters en Tom Claes</p>" in r.html
    assert f"Uw kind Lotte Peeters krijgt korting op de kosten van {SCHOOL}." in r.text
    assert f"Uw kind Milan Peeters krijgt korting op de kosten van {other}." in r.text
    assert "(voor Lotte Peeters)" in r.text and "(voor Milan Peeters)" in r.html
    assert "Uw kind <strong>Milan Peeters</strong> krijgt korting" in r.html
    assert r.subject == "Wat de stad u toekent: korting op school en opvang"
    own = render(replace(notice(uitpas()), addressee_names=("Sara Peeters",)))
    assert own.text.startswith("Beste Sara Peeters\n") and "(voor " not in own.text
    assert render(notice(uitpas())).text.startswith("Beste Gentenaar\n")  # the extract has no name
