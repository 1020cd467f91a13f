"""Helpers for the lifecycle tests: valid synthetic INSZ, a migrated ledger, rows of runs/grants/outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, func, insert, select

from proactief.ledger.models import GrantRow, OutboxMessage, SchemeRun

UTC = dt.UTC


def make_insz(n: int) -> str:
    """The n-th synthetic, valid INSZ (born 1930-1999, so the pre-2000 check digits apply)."""
    seq = n % 997 + 1
    day = (n // 997) % 28 + 1
    month = (n // (997 * 28)) % 12 + 1
    year = 30 + (n // (997 * 28 * 12)) % 70
    base = f"{year:02d}{month:02d}{day:02d}{seq:03d}"
    return base + f"{97 - int(base) % 97:02d}"


def many_insz(count: int, start: int = 0) -> list[str]:
    return [make_insz(i) for i in range(start, start + count)]


def count(engine: Engine, model: type, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def add_run(engine: Engine, *, status: str = "open", started_at: dt.datetime | None = None,
            external_id: str | None = None) -> int:
    at = started_at or dt.datetime.now(UTC)
    with engine.begin() as conn:
        return int(conn.execute(insert(SchemeRun).values(
            scheme_id="uitpas-kansentarief", rule_version="1", period="2026", reference_date=at.date(),
            external_id=external_id or f"test/{at.isoformat()}/{status}/{id(at)}", dry_run=False,
            selection="population", chunk_size=100, status=status, started_at=at, figures={},
        ).returning(SchemeRun.id)).scalar_one())


def add_grant(engine: Engine, insz: str, *, key: str, retain_until: dt.date | None = None,
              run_id: int | None = None) -> int:
    now = dt.datetime.now(UTC)
    with engine.begin() as conn:
        return int(conn.execute(insert(GrantRow).values(
            scheme_id="uitpas-kansentarief", grant_key=key, insz=insz, period="2026", run_id=run_id,
            system="uitpas", valid_from=now.date(), terms={}, status="granted", granted_at=now,
            retain_until=retain_until or dt.date(2031, 12, 31)).returning(GrantRow.id)).scalar_one())


def add_outbox(engine: Engine, grant_id: int, *, kind: str, channel: str, status: str = "pending") -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(OutboxMessage).values(
            grant_id=grant_id, kind=kind, channel=channel, status=status, attempts=0,
            message_id=f"{grant_id}.{kind}.{channel}@test", created_at=dt.datetime.now(UTC),
        ).returning(OutboxMessage.id)).scalar_one())


def outbox_status(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(OutboxMessage.id, OutboxMessage.status)).tuples().all())


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
