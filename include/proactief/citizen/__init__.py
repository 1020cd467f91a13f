"""The citizen's access document ("wie keek naar mijn gegevens?"): what the city's system did with one person's
data — MAGDA consultations, reads of the city's own files, decisions and reasons, grants, letters, objections and
staff lookups — in plain Dutch, as HTML or PDF, never with a raw MAGDA value. No Airflow here; the CLI
(``proactief citizen export``) and the dashboard plugin call :func:`export_and_audit`, which audits the export.
"""

from proactief.citizen.inzage import EXPORT_SERVICE, Inzage, export_and_audit, gather, mask_insz
from proactief.citizen.render import render_html, render_pdf

__all__ = ["EXPORT_SERVICE", "Inzage", "export_and_audit", "gather", "mask_insz", "render_html", "render_pdf"]
