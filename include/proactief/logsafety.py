"""Keep INSZ numbers out of third-party log lines, at every level.

Some APIs put the number in the URL (UiTPAS ``GET /passholders?inszNumber=…``, MAGDA Mobility
``/registrations?nationalNr=…``), and urllib3 logs every request line at DEBUG and every retry with its URL. A
filter on those loggers rewrites the message before any handler sees it: the query values of the known personal
parameters and any run of 11 digits become a placeholder. Installed once, when ``proactief`` is imported.
"""

from __future__ import annotations

import logging
import re

__all__ = ["REDACTED", "RedactINSZ", "install"]

REDACTED = "<verborgen>"
_PARAMS = re.compile(r"((?:inszNumber|nationalNr|insz|ssin|rijksregisternummer)=)[^&\s\"')]+", re.IGNORECASE)
_ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")
LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager", "requests")


def redact(text: str) -> str:
    return _ELEVEN_DIGITS.sub(REDACTED, _PARAMS.sub(lambda m: m.group(1) + REDACTED, text))


class RedactINSZ(logging.Filter):
    """Rewrites a record's message without the personal parts; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def install() -> None:
    """Attach the filter to the HTTP libraries' loggers (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactINSZ) for f in logger.filters):
            logger.addFilter(RedactINSZ())
