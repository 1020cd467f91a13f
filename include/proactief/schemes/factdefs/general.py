"""Reasons not tied to one fact: missing data, objections, data errors, tiers and the comparisons definitions name."""

from proactief.schemes.factdefs.base import register_reasons

register_reasons({
    "INCOME_BELOW_LOW_LIMIT": "Het inkomen van het gezin is lager dan de lage inkomensgrens.",
    "INCOME_NOT_BELOW_LOW_LIMIT": "Het inkomen van het gezin is niet lager dan de lage inkomensgrens.",
    "INCOME_BELOW_MIDDLE_LIMIT": "Het inkomen van het gezin is lager dan de middelste inkomensgrens.",
    "INCOME_NOT_BELOW_MIDDLE_LIMIT": "Het inkomen van het gezin is niet lager dan de middelste inkomensgrens.",
}, in_definitions=True)

register_reasons({
    "NO_TIER_APPLIES": "Geen enkele kortingsgroep past.",
    "MAGDA_TRANSIENT": "Een dienst van de overheid antwoordde tijdelijk niet. We proberen het bij de volgende run "
                       "opnieuw.",
    "CITY_DATA_UNAVAILABLE": "Gegevens van de stad waren tijdelijk niet beschikbaar. We proberen het bij de "
                             "volgende run opnieuw.",
    "FACTS_NOT_GATHERED": "We hadden nog niet alle gegevens. We proberen het bij de volgende run opnieuw.",
    "HOUSEHOLD_MEMBER_OBJECTED": "Een gezinslid heeft bezwaar gemaakt tegen het opvragen van gegevens: vraag het "
                                 "voordeel aan aan de balie.",
    "DECIDED_FOR_HOUSEHOLD": "Deze persoon is lid van een gezin. We beslisten voor het hele gezin: het voordeel gaat "
                             "naar de referentiepersoon van het gezin.",
    "MAGDA_DATA_ERROR": "Een dienst van de overheid meldde een fout in de gegevens van deze persoon of het gezin "
                        "(bijvoorbeeld een gewijzigd rijksregisternummer). We beslissen niets tot die fout "
                        "is rechtgezet; de operatoren kregen een melding.",
    "MANUAL_DECISION_IN_FORCE": "Een dossierbehandelaar van de stad besliste hierover zelf (na uw bezwaar). Die "
                                "beslissing geldt; de automatische controle verandert er niets aan.",
})
