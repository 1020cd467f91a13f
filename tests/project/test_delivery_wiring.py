"""Delivery is wired in one place: ``grants`` and ``notify`` share only ``proactief.delivery`` and never import
each other, and ``proactief.wiring`` alone turns the delivery configuration into adapters and channels."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import create_engine

import proactief
from proactief.delivery.config import DeliveryConfig
from proactief.grants.ivago import IvagoVoucherFile
from proactief.grants.lez import LezRegistration
from proactief.grants.school import SchoolBillingExport
from proactief.grants.uitpas import UitpasAdapter
from proactief.magda.config import MagdaConfig
from proactief.notify.channels import EboxChannel, LetterChannel, SmtpChannel
from proactief.schemes import load_all
from proactief.wiring import grant_adapters, notice_channels

PACKAGE = Path(proactief.__file__).parent
ROOT_MODULE = "wiring.py"
BUILT_THERE = {"IvagoVoucherFile": "grants/ivago.py", "SchoolBillingExport": "grants/school.py",
               "UitpasAdapter": "grants/uitpas.py", "LezRegistration": "grants/lez.py",
               "EboxChannel": "notify/channels.py", "LetterChannel": "notify/channels.py",
               "SmtpChannel": "notify/channels.py"}


def _modules(sub: str) -> list[Path]:
    return sorted((PACKAGE / sub).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (function bodies and ``TYPE_CHECKING`` blocks included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's own package
                package = path.relative_to(PACKAGE.parent).parent.parts
                base = ".".join(package[:len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)  # ``from proactief import grants``
    return found


def _offenders(sub: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{p.relative_to(PACKAGE)} -> {name}" for p in _modules(sub) for name in sorted(_imports(p))
            if any(name == f or name.startswith(f + ".") for f in forbidden)]


def test_notify_never_imports_grants_and_grants_never_imports_notify() -> None:
    assert _modules("notify") and _modules("grants")
    assert _offenders("notify", ("proactief.grants",)) == []
    assert _offenders("grants", ("proactief.notify",)) == []


def test_the_delivery_basics_import_neither_grants_nor_notify_nor_the_root() -> None:
    assert _offenders("delivery", ("proactief.grants", "proactief.notify", "proactief.wiring")) == []


def test_only_the_composition_root_names_the_concrete_adapters_and_channels() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == ROOT_MODULE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = {a.name for a in node.names}
            elif isinstance(node, ast.Call):
                func = node.func
                names = {func.id} if isinstance(func, ast.Name) else {func.attr} if isinstance(
                    func, ast.Attribute) else set()
            else:
                continue
            offenders += [f"{rel}: {n}" for n in names if n in BUILT_THERE and BUILT_THERE[n] != rel]
    assert offenders == []
    assert set(BUILT_THERE) <= {name.rpartition(".")[2] for name in _imports(PACKAGE / ROOT_MODULE)}


def test_the_root_builds_the_file_adapters_always_and_uitpas_only_with_its_credentials(tmp_path: Path) -> None:
    bare = grant_adapters(DeliveryConfig(ivago_dir=str(tmp_path / "i"), school_dir=str(tmp_path / "s")))
    assert set(bare) == {"ivago", "school-billing"}
    assert isinstance(bare["ivago"], IvagoVoucherFile) and isinstance(bare["school-billing"], SchoolBillingExport)
    half = DeliveryConfig(uitpas_url="http://127.0.0.1:9/uitpas", uitpas_client_id="proactief-gent")
    assert "uitpas" not in grant_adapters(half), "no secret, no UiTPAS adapter: its rows wait"
    full = grant_adapters(DeliveryConfig(uitpas_url="http://127.0.0.1:9/uitpas", uitpas_client_id="proactief-gent",
                                         uitpas_client_secret="s"))
    assert set(full) == {"ivago", "school-billing", "uitpas"} and isinstance(full["uitpas"], UitpasAdapter)
    for channel, adapter in full.items():
        assert adapter.channel == channel


def test_the_root_builds_the_lez_registration_only_with_magda_and_the_ledger() -> None:
    engine = create_engine("sqlite://")  # never connected: the ledger is only reached by a registration
    magda = MagdaConfig(base_url="http://127.0.0.1:9", hoedanigheden={"lez-vrijstelling": "9999"})
    assert "lez-magda" not in grant_adapters(DeliveryConfig(), magda=magda)
    assert "lez-magda" not in grant_adapters(DeliveryConfig(), engine=engine)
    adapters = grant_adapters(DeliveryConfig(), magda=magda, engine=engine)
    assert set(adapters) == {"ivago", "school-billing", "lez-magda"}
    lez = adapters["lez-magda"]
    assert isinstance(lez, LezRegistration) and lez.channel == "lez-magda"
    client = lez._client_factory()
    purposes = {s.id: s.magda.hoedanigheid for s in load_all().values()}
    # every scheme's purpose is known to the client, and what the deployment configured wins
    assert dict(client.config.hoedanigheden) == {**purposes, "lez-vrijstelling": "9999"}


@pytest.mark.parametrize(("settings", "expected"), [
    ({}, {"letter"}),
    ({"smtp_host": "127.0.0.1"}, {"letter", "email"}),
    ({"ebox_url": "http://127.0.0.1:9"}, {"letter", "ebox"}),
    ({"smtp_host": "127.0.0.1", "ebox_url": "http://127.0.0.1:9"}, {"letter", "email", "ebox"}),
])
def test_the_root_builds_exactly_the_configured_notice_channels(tmp_path: Path, settings: dict[str, str],
                                                                 expected: set[str]) -> None:
    built = notice_channels(DeliveryConfig(letter_dir=str(tmp_path), **settings))
    assert set(built) == expected
    kinds = {"letter": LetterChannel, "email": SmtpChannel, "ebox": EboxChannel}
    for name, channel in built.items():
        assert isinstance(channel, kinds[name]) and channel.name == name
    assert built["letter"].outdir == tmp_path  # type: ignore[attr-defined]


def test_the_email_channel_carries_every_smtp_setting() -> None:
    cfg = DeliveryConfig(smtp_host="mail.gent.be", smtp_port=587, smtp_sender="Stad Gent <x@stad.gent>",
                         smtp_starttls=True, smtp_username="u", smtp_password="p")
    email = notice_channels(cfg)["email"]
    assert isinstance(email, SmtpChannel)
    assert (email.host, email.port, email.sender, email.starttls, email.username, email.password) == (
        "mail.gent.be", 587, "Stad Gent <x@stad.gent>", True, "u", "p")
