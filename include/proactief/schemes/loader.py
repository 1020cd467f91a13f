"""Load scheme definitions: YAML → JSON Schema check → meaning checks → typed :class:`Scheme`.

A scheme owner edits YAML by hand, so every problem is reported with the file, the line, and the JSON
path of the offending value, all problems at once, in words the owner can act on. Proportionality is
checked here too: a definition must list exactly the MAGDA services, statutes and city data its rules need.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from croniter import CroniterBadDateError, croniter
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from proactief.schemes._yaml import YamlProblem, json_path, line_of, load_yaml
from proactief.schemes.facts import FactError, FactKey, Holder, Statute
from proactief.schemes.model import (
    AllOf,
    AmountSpec,
    AnyOf,
    AwaitingCardTerms,
    Benefit,
    Compare,
    DateRule,
    EarliestOf,
    FactDate,
    FactTest,
    Grant,
    LegalBasis,
    MagdaUse,
    NextDayMonth,
    Not,
    Notification,
    Owner,
    Parameter,
    ParameterVersion,
    Period,
    ReferenceDateRule,
    Rule,
    Schedule,
    Scheme,
    Subject,
    Table,
    Tier,
    YearsAfterReferenceDate,
)
from proactief.schemes.subjects import GrantSystem, SubjectKind, grant_system, identity_part_names, subject_kind

__all__ = [
    "DEFINITIONS_DIR",
    "SCHEME_DIRS_ENV",
    "SCHEMA_PATH",
    "Problem",
    "SchemeDefinitionError",
    "definition_dirs",
    "definition_schema",
    "extra_scheme_dirs",
    "load_all",
    "load_file",
    "load_scheme",
    "schema_problems",
    "scheme_ids",
]

PACKAGE_DIR = Path(__file__).resolve().parent
DEFINITIONS_DIR = PACKAGE_DIR / "definitions"
SCHEMA_PATH = PACKAGE_DIR / "schema.json"

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, located by JSON path (and line, when known)."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        return f"{where}at {self.path}: {self.message}"


class SchemeDefinitionError(ValueError):
    """A scheme definition that cannot be used; lists every problem found with file, line and JSON path."""

    def __init__(self, file: Path, problems: Sequence[Problem], what: str = "scheme definition") -> None:
        self.file = file
        self.problems = tuple(problems)
        count = f"{len(self.problems)} problem" + ("s" if len(self.problems) != 1 else "")
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{what} {file.name} is not valid ({count}):\n{lines}")


@cache
def definition_schema() -> dict[str, Any]:
    """The JSON Schema every definition must satisfy (draft 2020-12)."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(definition_schema())


SCHEME_DIRS_ENV = "PROACTIEF_SCHEME_DIRS"
"""Extra folders of schemes (``os.pathsep``-separated), each laid out like the package: ``<id>.yaml``,
``cases/<id>.yaml`` and ``templates/<id>/…``. The city adds a scheme by dropping such a folder beside the
image and naming it here; the package's own four schemes stay where they are."""


def extra_scheme_dirs() -> tuple[Path, ...]:
    """The folders named in ``PROACTIEF_SCHEME_DIRS``; a named folder that does not exist is an error, not a
    silently missing scheme."""
    raw = os.environ.get(SCHEME_DIRS_ENV, "")
    dirs = tuple(Path(part).expanduser() for part in raw.split(os.pathsep) if part.strip())
    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing:
        raise FileNotFoundError(f"{SCHEME_DIRS_ENV} names folders that do not exist: {', '.join(missing)}")
    return dirs


def definition_dirs() -> tuple[Path, ...]:
    """Where scheme definitions are looked up: the extra folders first, then the package's own."""
    return (*extra_scheme_dirs(), DEFINITIONS_DIR)


def _definition_files(directory: Path | None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in (directory,) if directory is not None else definition_dirs():
        for path in sorted(folder.glob("*.yaml")):
            if path.stem in found:
                raise SchemeDefinitionError(path, [Problem("$", f"scheme id {path.stem!r} is also defined in "
                                                                 f"{found[path.stem]}")])
            found[path.stem] = path
    return found


def scheme_ids(directory: Path | None = None) -> tuple[str, ...]:
    """The ids of all definitions (file names without ``.yaml``), sorted: in ``directory``, or by default in
    the package and the folders of ``PROACTIEF_SCHEME_DIRS``."""
    return tuple(sorted(_definition_files(directory)))


def load_scheme(scheme_id: str, directory: Path | None = None) -> Scheme:
    """Load and check one scheme by id (``uitpas-kansentarief``)."""
    files = _definition_files(directory)
    path = files.get(scheme_id)
    if path is None:
        where = directory if directory is not None else ", ".join(str(d) for d in definition_dirs())
        known = ", ".join(sorted(files)) or "none"
        raise FileNotFoundError(f"no scheme definition {scheme_id}.yaml in {where} (known: {known})")
    return load_file(path)


def load_all(directory: Path | None = None) -> dict[str, Scheme]:
    """Load every definition; one broken file stops the load (a half-loaded rule set is worse)."""
    return {sid: load_scheme(sid, directory) for sid in scheme_ids(directory)}


def load_file(path: Path) -> Scheme:
    """Load one definition file; raises :class:`SchemeDefinitionError` listing all problems."""
    path = Path(path)
    return _load_text(path, path.read_text(encoding="utf-8"))


@lru_cache(maxsize=64)
def _load_text(path: Path, text: str) -> Scheme:
    """Schemes are immutable, so the same text in the same file gives the same scheme: load it once."""
    try:
        data = load_yaml(text)
    except YamlProblem as exc:
        raise SchemeDefinitionError(path, [Problem("$", str(exc), exc.line)]) from None
    problems = schema_problems(data)
    if not problems:
        checker = _Checker(data, path)
        scheme = checker.build(text)
        problems = checker.problems
        if not problems:
            return scheme
    located = [Problem(json_path(p), msg, line_of(text, p)) for p, msg in problems]
    raise SchemeDefinitionError(path, sorted(located, key=lambda p: p.line or 0))


# ---------------------------------------------------------------- JSON Schema problems, in plain words


def schema_problems(data: Any, validator: Draft202012Validator | None = None) -> list[tuple[Path_, str]]:
    """Every JSON Schema problem as (path, plain message); the scheme schema unless another validator is given."""
    out: list[tuple[Path_, str]] = []
    seen: set[tuple[Path_, str]] = set()
    validator = validator or _validator()
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        for leaf in _leaves(error):
            item = (tuple(leaf.absolute_path), _message(leaf))
            if item not in seen:
                seen.add(item)
                out.append(item)
    return out


def _leaves(error: ValidationError) -> Iterable[ValidationError]:
    """The most useful error(s) under anyOf/oneOf: follow the one alternative the value was clearly meant
    for (its problems lie deeper inside the value); else our sentence for the shape; else the best guess."""
    if error.validator in ("anyOf", "oneOf") and isinstance(error.schema, dict):
        branches: dict[object, list[ValidationError]] = defaultdict(list)
        for sub in error.context or []:
            branches[sub.relative_schema_path[0]].append(sub)
        depth = len(error.absolute_path)
        meant = [errs for errs in branches.values() if all(len(e.absolute_path) > depth for e in errs)]
        if len(meant) == 1:
            for sub in meant[0]:
                yield from _leaves(sub)
            return
        if "x-message" in error.schema or not error.context:
            yield error
            return
        yield from _leaves(best_match(error.context))
        return
    yield error


def _message(error: ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if "x-message" in schema and error.validator in ("anyOf", "oneOf"):
        return str(schema["x-message"])
    if error.validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        return f"{error.instance!r} is not allowed here; use one of: {allowed}"
    if error.validator == "pattern":
        return f"{error.instance!r} does not have the expected form ({_pattern_hint(str(error.validator_value))})"
    if error.validator == "const":
        return f"must be {error.validator_value!r}"
    return error.message


def _pattern_hint(pattern: str) -> str:
    hints = {
        "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "a date YYYY-MM-DD",
        "^[a-z][a-z0-9_]*$": "lower-case letters, digits and _",
        "^[A-Z][A-Z0-9_]*$": "an upper-case code like INCOME_BELOW_LIMIT",
        "^[0-9]{4}\\.[0-9]+$": "a version like 2025.1",
        "^https://\\S+$": "an https:// address",
    }
    return hints.get(pattern, f"pattern {pattern}")


# ---------------------------------------------------------------- meaning checks and building


_UNITS_FOR_PERCENT = {"percent"}
_DAY_MONTH = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
_ITEM_UNITS = {"EUR", "EUR-cent"}


class _Checker:
    """Builds a :class:`Scheme` from schema-valid data and collects every meaning problem on the way."""

    def __init__(self, data: Mapping[str, Any], path: Path) -> None:
        self.data = data
        self.path = path
        self.problems: list[tuple[Path_, str]] = []
        self.used_parameters: dict[str, Path_] = {}
        self.needed: dict[FactKey, Path_] = {}

    def problem(self, where: Path_, message: str) -> None:
        self.problems.append((where, message))

    def check_cron(self, expression: str) -> None:
        """A schedule Airflow could not parse, or one that never fires (``0 6 31 2 *``), fails the load, not the
        DAG processor hours later (the JSON Schema already insists on five fields)."""
        if not croniter.is_valid(expression):
            self.problem(("schedule", "cron"), f"{expression!r} is not a valid cron expression")
            return
        try:
            croniter(expression, dt.datetime(2026, 1, 1)).get_next(dt.datetime)
        except CroniterBadDateError:
            self.problem(("schedule", "cron"), f"{expression!r} never fires")

    # -- entry point

    def build(self, text: str) -> Scheme:
        d = self.data
        if d["id"] != self.path.stem:
            self.problem(("id",), f"the id {d['id']!r} must equal the file name {self.path.stem!r}")
        self.check_cron(d["schedule"]["cron"])
        parameters = self.parameters(d["parameters"])
        criteria = self.rule(d["criteria"], ("criteria",))
        tiers = self.tiers(d.get("tiers", []))
        benefit = self.benefit(d.get("benefit", {}), ("benefit",))
        if tiers and d.get("benefit"):
            self.problem(("benefit",), "a scheme with tiers gives its benefit per tier; remove this top-level benefit")
        grant = self.grant(d["grant"])
        self.check_subject_choice()
        self.check_fact_units(parameters)
        self.check_parameter_use(parameters)
        self.check_proportionality()
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        return Scheme(
            id=d["id"],
            title=d["title"],
            rule_version=d["rule_version"],
            owner=Owner(d["owner"]["department"], d["owner"]["contact"]),
            legal_basis=tuple(LegalBasis(b["citation"], b.get("url")) for b in d["legal_basis"]),
            doc=d["doc"].strip(),
            subject=Subject(d["subject"]),
            period=Period(d["period"]),
            reference_date=ReferenceDateRule(d["reference_date"]),
            schedule=Schedule(d["schedule"]["cron"].strip(), d["schedule"]["timezone"]),
            magda=MagdaUse(d["magda"]["hoedanigheid"], tuple(d["magda"]["services"]), tuple(d["magda"]["statutes"])),
            city_data=tuple(d["city_data"]),
            criteria=criteria,
            tiers=tiers,
            parameters=MappingProxyType(parameters),
            benefit=benefit,
            grant=grant,
            notification=Notification(
                d["notification"]["recipient"], tuple(d["notification"]["channels"]), d["notification"]["template"]
            ),
            source_path=self.path,
            digest=digest,
        )

    # -- parameters

    def parameters(self, raw: Mapping[str, Any]) -> dict[str, Parameter]:
        out: dict[str, Parameter] = {}
        for name, spec in raw.items():
            where: Path_ = ("parameters", name)
            versions: list[ParameterVersion] = []
            previous: dt.date | None = None
            for i, entry in enumerate(spec["values"]):
                at: Path_ = (*where, "values", i)
                try:
                    start = dt.date.fromisoformat(entry["from"])
                except ValueError:
                    self.problem((*at, "from"), f"{entry['from']!r} is not a real date")
                    continue
                if previous is not None and start <= previous:
                    self.problem((*at, "from"), "values must be in date order, oldest first, each date only once")
                previous = start
                value = self.parameter_value(spec, entry["value"], (*at, "value"))
                if value is not None:
                    versions.append(ParameterVersion(start, value))
            if versions:
                out[name] = Parameter(
                    name=name,
                    description=spec["description"],
                    unit=spec["unit"],
                    assumed=bool(spec.get("assumed", False)),
                    by=spec.get("by"),
                    versions=tuple(versions),
                )
        return out

    def parameter_value(self, spec: Mapping[str, Any], raw: Any, where: Path_) -> Decimal | str | Table | None:
        unit = spec["unit"]
        if spec.get("by"):
            return self.table(raw, unit, where)
        if unit in ("day-month", "code"):
            if not isinstance(raw, str):
                self.problem(where, f"a {unit} parameter needs a text value")
                return None
            if unit == "day-month" and not _DAY_MONTH.match(raw):
                self.problem(where, f"{raw!r} is not a day and month written 'MM-DD' (e.g. '12-31')")
                return None
            return raw
        return self.number(raw, unit, where)

    def number(self, raw: Any, unit: str, where: Path_) -> Decimal | None:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            self.problem(where, f"a {unit} parameter needs a number")
            return None
        try:
            value = Decimal(str(raw))
        except InvalidOperation:  # pragma: no cover - YAML numbers are always valid decimals
            self.problem(where, f"{raw!r} is not a number")
            return None
        if value < 0:
            self.problem(where, "a parameter cannot be negative")
        if unit in _UNITS_FOR_PERCENT and value > 100:
            self.problem(where, "a percentage is between 0 and 100")
        if unit in ("count", "years", "days") and value != value.to_integral_value():
            self.problem(where, f"a {unit} parameter is a whole number")
        return value

    def table(self, raw: Any, unit: str, where: Path_) -> Table | None:
        if not isinstance(raw, Mapping):
            self.problem(where, "this parameter has 'by', so each value is a table like {1: 39, 2: 58.5, 3+: 78}")
            return None
        exact: list[tuple[int, Decimal]] = []
        open_from: int | None = None
        for key, cell in raw.items():
            value = self.number(cell, unit, (*where, key))
            if value is None:
                continue
            if key.endswith("+"):
                if open_from is not None:
                    self.problem((*where, key), "only one open-ended row ('N+') is allowed")
                open_from = int(key[:-1])
                exact.append((open_from, value))
            else:
                exact.append((int(key), value))
        counts = sorted(c for c, _ in exact)
        if open_from is None:
            self.problem(where, "the table needs a last open-ended row like '3+' so every household size has a value")
            return None
        if counts != list(range(1, open_from + 1)):
            self.problem(where, f"rows must be 1, 2, … up to the open-ended row '{open_from}+', without gaps")
            return None
        return Table(tuple(sorted(exact)), open_from)

    def use_parameter(self, name: str, where: Path_, units: set[str] | None = None, table: bool = False) -> None:
        self.used_parameters.setdefault(name, where)
        spec = self.data["parameters"].get(name)
        if spec is None:
            known = ", ".join(self.data["parameters"]) or "none"
            self.problem(where, f"unknown parameter {name!r} (defined: {known})")
            return
        if units is not None and spec["unit"] not in units:
            self.problem(where, f"parameter {name!r} has unit {spec['unit']!r}; here one of {sorted(units)} is needed")
        if bool(spec.get("by")) != table:
            need = "a table parameter (with 'by')" if table else "a single-value parameter (without 'by')"
            self.problem(where, f"parameter {name!r} cannot be used here: {need} is needed")

    def check_parameter_use(self, parameters: Mapping[str, Parameter]) -> None:
        for name in self.data["parameters"]:
            if name not in self.used_parameters:
                self.problem(("parameters", name), "this parameter is defined but no rule, benefit or grant uses it")

    def check_fact_units(self, parameters: Mapping[str, Parameter]) -> None:
        for key, where in self.needed.items():
            unit_param = key.spec.unit_parameter
            if unit_param is None:
                continue
            if unit_param not in self.data["parameters"]:
                self.problem(
                    where,
                    f"{key.name} needs a parameter {unit_param!r} (unit 'code': EUR or EUR-cent) that says "
                    "what unit the MAGDA tax items are in",
                )
                continue
            self.use_parameter(unit_param, ("parameters", unit_param), {"code"})
            param = parameters.get(unit_param)
            for version in param.versions if param else ():
                if version.value not in _ITEM_UNITS:
                    self.problem(("parameters", unit_param), f"must be one of {sorted(_ITEM_UNITS)}")

    # -- rules

    def fact_key(self, name: str, of: str | None, statute: str | None, where: Path_) -> FactKey | None:
        try:
            key = FactKey(name, Holder(of) if of else None, Statute(statute) if statute else None)
        except FactError as exc:
            self.problem(where, str(exc))
            return None
        self.needed.setdefault(key, where)
        return key

    def rule(self, raw: Mapping[str, Any], where: Path_) -> Rule:
        p = json_path(where)
        if "all" in raw:
            return AllOf(tuple(self.rule(r, (*where, "all", i)) for i, r in enumerate(raw["all"])), p)
        if "any" in raw:
            return AnyOf(tuple(self.rule(r, (*where, "any", i)) for i, r in enumerate(raw["any"])), p)
        if "not" in raw:
            return Not(self.rule(raw["not"], (*where, "not")), p)
        if "compare" in raw:
            op = next(o for o in ("below", "at_most", "above", "at_least") if o in raw)
            key = self.fact_key(raw["compare"], None, None, where) or FactKey("household_size")
            units = {"count"} if key.spec.kind == "count" else {"EUR"}
            self.use_parameter(raw[op], (*where, op), units)
            return Compare(key, op, raw[op], raw["reason_true"], raw["reason_false"], p)
        if "statute" in raw:
            key = self.fact_key("statute", raw.get("of"), raw["statute"], where)
        else:
            key = self.fact_key(raw["fact"], raw.get("of"), None, where)
        return FactTest(key or FactKey("ghent_resident"), p)

    def tiers(self, raw: Sequence[Mapping[str, Any]]) -> tuple[Tier, ...]:
        out: list[Tier] = []
        seen: set[str] = set()
        for i, t in enumerate(raw):
            where: Path_ = ("tiers", i)
            if t["id"] in seen:
                self.problem((*where, "id"), f"tier id {t['id']!r} is used twice")
            seen.add(t["id"])
            when = self.rule(t["when"], (*where, "when"))
            out.append(Tier(t["id"], t["title"], when, self.benefit(t["benefit"], (*where, "benefit"))))
        return tuple(out)

    def benefit(self, raw: Mapping[str, Any], where: Path_) -> Benefit:
        amounts: list[AmountSpec] = []
        for name, spec in raw.get("amounts", {}).items():
            at: Path_ = (*where, "amounts", name)
            table = self.data["parameters"].get(spec["parameter"], {}).get("by") is not None
            self.use_parameter(spec["parameter"], (*at, "parameter"), {"EUR"}, table=table)
            if table:
                by = self.data["parameters"][spec["parameter"]]["by"]
                self.fact_key(by, None, None, (*at, "parameter"))
            if "percentage" in spec:
                self.use_parameter(spec["percentage"], (*at, "percentage"), {"percent"})
            amounts.append(AmountSpec(name, spec["parameter"], spec.get("percentage")))
        percentages: list[tuple[str, str]] = []
        for name, param in raw.get("percentages", {}).items():
            self.use_parameter(param, (*where, "percentages", name), {"percent"})
            percentages.append((name, param))
        return Benefit(tuple(amounts), tuple(percentages))

    # -- grant

    def date_rule(self, raw: Mapping[str, Any], where: Path_) -> DateRule:
        if "next_day_month" in raw:
            self.use_parameter(raw["next_day_month"], (*where, "next_day_month"), {"day-month"})
            return NextDayMonth(raw["next_day_month"])
        if "years_after_reference_date" in raw:
            self.use_parameter(raw["years_after_reference_date"], (*where, "years_after_reference_date"), {"years"})
            return YearsAfterReferenceDate(raw["years_after_reference_date"])
        if "fact" in raw:
            return FactDate(self.fact_key(raw["fact"], None, None, where) or FactKey("parking_card_end_date"))
        items = raw["earliest_of"]
        return EarliestOf(tuple(self.date_rule(r, (*where, "earliest_of", i)) for i, r in enumerate(items)))

    def grant(self, raw: Mapping[str, Any]) -> Grant:
        where: Path_ = ("grant",)
        valid_until = self.date_rule(raw["valid_until"], (*where, "valid_until"))
        renew = raw.get("renew_before_end_days")
        if renew:
            self.use_parameter(renew, (*where, "renew_before_end_days"), {"days"})
        key_parts = tuple(raw["idempotency_key"])
        if key_parts[:2] != ("scheme", "subject"):
            self.problem((*where, "idempotency_key"), "the key starts with 'scheme', 'subject'")
        kind = self.subject_kind()
        supplied = {part.name: part for part in kind.identity}
        for i, name in enumerate(key_parts):
            if name in supplied:
                self.fact_key(supplied[name].fact, None, None, (*where, "idempotency_key"))
            elif name in identity_part_names():
                self.problem((*where, "idempotency_key", i),
                             f"the key part {name!r} is supplied by another subject kind, not by {kind.name!r}")
        try:
            system = grant_system(raw["system"])
        except LookupError as exc:
            self.problem((*where, "system"), str(exc))
            system = GrantSystem(raw["system"], "undeclared")
        if system.magda_service and "magda_service" not in raw:
            self.problem(where, f"a {system.label or system.name} grant names its MAGDA service (magda_service)")
        return Grant(
            system=raw["system"],
            description=raw["description"],
            recipient=raw["recipient"],
            attributes=MappingProxyType(dict(raw.get("attributes", {}))),
            magda_service=raw.get("magda_service"),
            valid_until=valid_until,
            renew_before_end_days=renew,
            idempotency_key=key_parts,
            awaiting_card=self.awaiting_card(raw.get("awaiting_card"), system, (*where, "awaiting_card")),
        )

    def awaiting_card(self, raw: Mapping[str, Any] | None, system: GrantSystem,
                      where: Path_) -> AwaitingCardTerms | None:
        if raw is None:
            return None
        if not system.awaits_card:
            self.problem(where, f"a {system.label or system.name} grant is not written on a card a person fetches; "
                                "remove awaiting_card")
        self.use_parameter(raw["wait_days"], (*where, "wait_days"), {"days"})
        if raw.get("card_price"):
            self.use_parameter(raw["card_price"], (*where, "card_price"), {"EUR"})
        return AwaitingCardTerms(wait_days=raw["wait_days"], where=" ".join(str(raw["where"]).split()),
                                 bring=" ".join(str(raw["bring"]).split()), card_price=raw.get("card_price"))

    def subject_kind(self) -> SubjectKind:
        """The declaration of the scheme's subject kind (an undeclared one is a problem, and declares nothing)."""
        try:
            return subject_kind(self.data["subject"])
        except LookupError as exc:
            if (("subject",), str(exc)) not in self.problems:
                self.problem(("subject",), str(exc))
            return SubjectKind(self.data["subject"], "undeclared")

    def check_subject_choice(self) -> None:
        """A kind that chooses one candidate among several (LEZ: the vehicle) has the choice stated in ``doc``."""
        choice = self.subject_kind().choice
        if choice is None:
            return
        missing = choice.stated_in(self.data["doc"])
        if missing:
            wanted = "; ".join(repr(p) for p in missing)
            self.problem(("doc",), f"a {self.data['subject']} scheme says in its doc how the {self.data['subject']} "
                                   f"is chosen; it does not say: {wanted}")

    # -- proportionality: ask what the rules need, and nothing else

    def check_proportionality(self) -> None:
        listed_services = list(self.data["magda"]["services"])
        listed_statutes = list(self.data["magda"]["statutes"])
        listed_city = list(self.data["city_data"])
        needed_services: dict[str, Path_] = {}
        needed_statutes: dict[str, Path_] = {}
        needed_city: dict[str, Path_] = {}
        optional_services: set[str] = set()
        for key, where in self.needed.items():
            for service in key.services():
                needed_services.setdefault(service, where)
            optional_services.update(key.history_services())
            if key.statute is not None:
                needed_statutes.setdefault(key.statute.value, where)
            if key.spec.source_kind == "city":
                needed_city.setdefault(key.name, where)
        for what, listed, needed, field in (
            ("MAGDA service", listed_services, needed_services, ("magda", "services")),
            ("statute", listed_statutes, needed_statutes, ("magda", "statutes")),
            ("city data set", listed_city, needed_city, ("city_data",)),
        ):
            for name, where in needed.items():
                if name not in listed:
                    self.problem(where, f"this rule needs the {what} {name!r}, which {json_path(field)} does not list")
            for i, name in enumerate(listed):
                if name not in needed and not (what == "MAGDA service" and name in optional_services):
                    self.problem(
                        (*field, i), f"the {what} {name!r} is listed but no rule needs it (ask only what is needed)"
                    )
