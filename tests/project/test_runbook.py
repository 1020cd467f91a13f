"""The operators' runbook (docs/runbook.md) stays complete and its commands stay real.

Everything the runbook must cover is read from the code, not listed here: the DAG ids (``dags/*.py`` and the
scheme definitions), the data-quality steps (``DQStep`` in the lifecycle), the alert subjects (``alerts.py``),
the trigger parameters (the factory's ``_params``), the runbook headings the code refers to, and the numbers an
operator acts on (outbox attempts, approval timeout, deadlines, retention). Every ``proactief`` and ``airflow``
command in a code block is parsed by the real command-line parser (nothing is executed), and every relative link
and in-page anchor must resolve.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "runbook.md"
DAGS = ROOT / "dags"
PLUGIN = ROOT / "plugins" / "proactief_airflow"
PACKAGE = ROOT / "include" / "proactief"
DEFINITIONS = PACKAGE / "schemes" / "definitions"
SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "&", "2>", "2>&1"}


def _text() -> str:
    assert RUNBOOK.is_file(), "docs/runbook.md is missing"
    return RUNBOOK.read_text(encoding="utf-8")


def _code_spans(text: str) -> set[str]:
    """Everything written as inline code (`…`)."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return set(re.findall(r"`([^`\n]+)`", prose))


def _mentions(text: str, word: str) -> bool:
    """``word`` appears as inline code, or as a whole token inside inline code or a code block."""
    pattern = re.compile(rf"(?<![\w.-]){re.escape(word)}(?![\w-])")
    chunks = [*_code_spans(text), *_code_blocks(text)]
    return any(pattern.search(chunk) for chunk in chunks)


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.S)


def _commands(text: str, program: str) -> list[list[str]]:
    """The argument lists of every ``program …`` line in the code blocks (continuations joined, comments, env
    assignments and anything after a shell operator dropped)."""
    out: list[list[str]] = []
    for block in _code_blocks(text):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s\d?>&\d", " ", line)  # a redirection such as 2>&1 ends nothing
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            lexer.commenters = "#"
            tokens = list(lexer)
            while tokens and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", tokens[0]):
                tokens.pop(0)
            if not tokens or tokens[0] != program:
                continue
            args: list[str] = []
            for token in tokens[1:]:
                if token in SHELL_OPERATORS:
                    break
                args.append(token)
            out.append(args)
    return out


def _section(text: str, heading: str) -> str:
    """The body of the ``## heading`` (or ``### heading``) section, up to the next heading of that level or higher."""
    match = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, flags=re.M)
    assert match, f"the runbook has no section '{heading}'"
    level = len(match.group(1))
    rest = text[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.M)
    return rest[: end.start()] if end else rest


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (not - and _), spaces to dashes."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


# ------------------------------------------------------------------------------------------ what must be there


def service_dag_ids() -> list[str]:
    ids = []
    for path in sorted(DAGS.glob("*.py")):
        ids += re.findall(r"dag_id=\"([^\"]+)\"", path.read_text(encoding="utf-8"))
    return ids


def scheme_ids() -> list[str]:
    ids = []
    for path in sorted(DEFINITIONS.glob("*.yaml")):
        (found,) = re.findall(r"^id:\s*(\S+)", path.read_text(encoding="utf-8"), flags=re.M)
        ids.append(found)
    return ids


def dq_steps() -> list[str]:
    source = (PACKAGE / "lifecycle" / "runs.py").read_text(encoding="utf-8")
    (literal,) = re.findall(r"^DQStep = Literal\[([^\]]+)\]", source, flags=re.M)
    return re.findall(r"\"([a-z_]+)\"", literal)


def alert_subject_prefixes() -> list[str]:
    source = (PLUGIN / "alerts.py").read_text(encoding="utf-8")
    return [s.split("{", 1)[0].strip() for s in re.findall(r"subject = f\"([^\"]+)\"", source)]


def trigger_params() -> list[str]:
    source = (PLUGIN / "factory.py").read_text(encoding="utf-8")
    body = source.split("def _params()", 1)[1].split("\ndef ", 1)[0]
    return re.findall(r"\"([a-z_]+)\": Param\(", body)


def _int_constant(path: Path, pattern: str) -> int:
    (value,) = re.findall(pattern, path.read_text(encoding="utf-8"), flags=re.M)
    return int(value)


def test_the_code_still_has_what_this_test_reads() -> None:
    assert set(scheme_ids()) >= {"uitpas-kansentarief", "ivago-tegemoetkoming", "onderwijskorting",
                                 "lez-vrijstelling"}
    assert set(service_dag_ids()) >= {"population_sync", "opt_out_intake", "magda_mutations",
                                      "reevaluate_mutations", "outbox_dispatch", "retention"}
    assert dq_steps() == ["population", "magda_results", "decisions", "reconciliation"]
    assert len(alert_subject_prefixes()) == 4
    assert trigger_params() == ["dry_run", "insz", "chunk_size"]


def test_every_dag_is_in_the_schedule_table_and_mentioned() -> None:
    text = _text()
    schedules = _section(text, "Schedules")
    for dag_id in [*service_dag_ids(), *scheme_ids()]:
        assert f"| `{dag_id}` |" in schedules, f"{dag_id} is not a row of the Schedules table"
        assert _mentions(text, dag_id)


def test_every_dag_that_can_fail_its_gate_is_in_the_alert_table() -> None:
    """A DAG file that raises AirflowFailException has a row in 'Alerts at a glance' (scheme DAGs via the factory's
    task ids)."""
    table = _section(_text(), "Alerts at a glance")
    for path in sorted(DAGS.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        if "raise AirflowFailException" in source:
            for dag_id in re.findall(r"dag_id=\"([^\"]+)\"", source):
                assert dag_id in table, f"{dag_id} raises AirflowFailException but has no row in the alert table"
    assert "select.open_run" in table  # the factory's AirflowFailException for bad trigger parameters


def test_every_data_quality_step_has_its_section_and_task() -> None:
    text = _text()
    table = _section(text, "Alerts at a glance")
    for step in dq_steps():
        assert _mentions(text, step), step
        section = _section(text, f"DQ gate {step}")
        assert f"check_{step}" in section, f"the section of {step} does not name its task check_{step}"
        assert f"check_{step}" in table


def test_the_alert_subjects_of_alerts_py_are_in_the_alert_table() -> None:
    text = _text()
    table = _section(text, "Alerts at a glance")
    for prefix in alert_subject_prefixes():
        assert prefix.startswith("[Proactief]"), prefix
        assert prefix in table, f"alert subject '{prefix}' is not in the alert table"
    assert "[Proactief] Deadline gemist" in _section(text, "Deadline missed")


def test_the_approval_step_is_documented_with_its_timeout() -> None:
    factory = (PLUGIN / "factory.py").read_text(encoding="utf-8")
    assert 'TaskGroup("decision_quality"' in factory and 'task_id="approve"' in factory
    days = _int_constant(PLUGIN / "factory.py", r"^APPROVAL_TIMEOUT = dt\.timedelta\(days=(\d+)\)")
    section = _section(_text(), "Approval waiting: decision_quality.approve")
    assert "Required Actions" in section and "Reject" in section and "Approve" in section
    assert f"{days} days" in section


def test_the_deadlines_per_period_are_the_factorys() -> None:
    source = (PLUGIN / "factory.py").read_text(encoding="utf-8")
    deadlines = re.findall(r"\"([a-z-]+)\": dt\.timedelta\(hours=(\d+)\)", source)
    assert deadlines
    section = _section(_text(), "Deadline missed")
    for period, hours in deadlines:
        assert f"{period} {hours} h" in section, f"deadline of {period} ({hours} h) not in 'Deadline missed'"


def test_the_outbox_section_states_the_dispatchers_limits() -> None:
    attempts = _int_constant(PACKAGE / "lifecycle" / "outbox.py", r"^MAX_ATTEMPTS = (\d+)")
    section = _section(_text(), "Outbox rows failed")
    assert f"{attempts} attempts" in section
    for channel in ("uitpas", "ivago", "school-billing", "lez-magda", "email", "letter", "ebox"):
        assert f"`{channel}`" in section, channel


def test_retention_periods_are_the_ledgers() -> None:
    models = PACKAGE / "ledger" / "models.py"
    audit = _int_constant(models, r"^AUDIT_RETENTION_YEARS = (\d+)")
    decisions = _int_constant(models, r"^DECISION_RETENTION_YEARS = (\d+)")
    section = _section(_text(), "Answer an access request: who consulted my data")
    assert f"kept {audit} years" in section and f"kept {decisions} years" in section
    assert "Proactief.Dashboard.Opzoeking" in section and "`callcenter`" in section and "consulted_by" in section


def test_every_runbook_heading_the_code_refers_to_exists() -> None:
    """E.g. the outbox_dispatch failure says "runbook: 'Outbox rows failed'"."""
    headings = set(re.findall(r"^#+ (.+?)\s*$", _text(), flags=re.M))
    referred = []
    for path in [*DAGS.glob("*.py"), *PLUGIN.glob("*.py"), *(ROOT / "include").rglob("*.py")]:
        referred += re.findall(r"runbook: [\"']([^\"']+)[\"']", path.read_text(encoding="utf-8"))
    assert "Outbox rows failed" in referred
    for name in referred:
        assert name in headings, f"the code refers to runbook section '{name}', which does not exist"


def test_trigger_params_are_documented() -> None:
    section = _section(_text(), "Backfill a period")
    for name in trigger_params():
        assert f"`{name}`" in section, name


def test_the_procedures_show_the_commands_they_are_about() -> None:
    text = _text()
    shown = {" ".join(a[:2]) for a in _commands(text, "proactief")}
    assert {"optout add", "optout withdraw", "optout status", "db audit"} <= shown, shown
    airflow = {" ".join(a[:2]) for a in _commands(text, "airflow")}
    assert {"backfill create", "dags pause", "dags unpause", "dags trigger"} <= airflow, airflow
    assert ["db", "audit", "--insz", "$INSZ", "--json"] in _commands(text, "proactief")


def test_every_proactief_command_in_a_code_block_parses() -> None:
    """Each line goes through the real Click parser of ``proactief`` (sub-commands, options, required options);
    nothing is run."""
    import typer.main

    from proactief.cli import app

    root = typer.main.get_command(app)  # Typer may bring its own Click: only duck-typed Click API below
    commands = _commands(_text(), "proactief")
    assert commands
    for args in commands:
        command = root
        path = ["proactief"]
        rest = list(args)
        while getattr(command, "commands", None) is not None:  # a group: descend into the sub-command
            # list/get_command, not .commands: the harness's commands come from an entry point (proactief.cli)
            assert rest and rest[0] in command.list_commands(None), \
                f"`proactief {' '.join(args)}`: no command {rest[:1]}"
            path.append(rest[0])
            command = command.get_command(None, rest.pop(0))
        assert len(path) > 1, f"`proactief {' '.join(args)}` names no command"
        try:
            command.make_context(" ".join(path), rest)
        except Exception as exc:  # noqa: BLE001 - NoSuchOption, MissingParameter, BadParameter …
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            pytest.fail(f"`proactief {' '.join(args)}` does not parse: {type(exc).__name__}: {message}")


def test_every_airflow_command_in_a_code_block_parses(tmp_path: Path) -> None:
    """Each line goes through Airflow's own CLI parser (in a subprocess with a throw-away AIRFLOW_HOME)."""
    commands = _commands(_text(), "airflow")
    assert commands
    script = (
        "import json, sys\n"
        "from airflow.cli import cli_parser\n"
        "parser = cli_parser.get_parser()\n"
        "bad = []\n"
        "for args in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        parser.parse_args(args)\n"
        "    except SystemExit:\n"
        "        bad.append(' '.join(args))\n"
        "print(json.dumps(bad))\n"
    )
    # the production stack's auth manager: its CLI commands (``users``, ``roles``) exist only with it
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["x-airflow-common"]["environment"]
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__AUTH_MANAGER": compose["AIRFLOW__CORE__AUTH_MANAGER"]}
    done = subprocess.run([sys.executable, "-c", script, json.dumps(commands)], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    bad = json.loads(done.stdout.strip().splitlines()[-1])
    assert not bad, f"airflow commands in the runbook that do not parse: {bad}\n{done.stderr[-2000:]}"


def test_every_relative_link_and_anchor_resolves() -> None:
    text = _text()
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    anchors = {_slug(h) for h in re.findall(r"^#+ (.+?)\s*$", text, flags=re.M)}
    links = re.findall(r"\]\(([^)\s]+)\)", prose)
    assert links
    for target in links:
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        if not path:
            assert anchor in anchors, f"in-page link #{anchor} has no heading"
            continue
        resolved = (RUNBOOK.parent / path).resolve()
        assert resolved.exists(), f"link {target} points to {resolved}, which does not exist"
        assert ROOT in resolved.parents, f"link {target} leaves the repository"


# --------------------------------------------------------------------------------- commands that must be right


def test_every_clear_command_matches_a_task_in_airflow_3_3_and_does_not_prompt() -> None:
    """``airflow tasks clear -t`` is a substring of the task id in Airflow 3.3 (``SerializedDAG.partial_subset``):
    ``'magda\\.query_chunk'`` matches nothing and exits 0 silently (issue 14). Each ``-t`` value must be a substring of
    a scheme DAG's task id, and ``-y`` must be there (else the command asks for confirmation)."""
    clears = [a for a in _commands(_text(), "airflow") if a[:2] == ["tasks", "clear"]]
    assert clears
    source = (PLUGIN / "factory.py").read_text(encoding="utf-8")
    groups = set(re.findall(r"TaskGroup\(\"([a-z_]+)\"", source))
    for args in clears:
        task = args[args.index("-t") + 1]
        group, _, name = task.partition(".")
        assert group in groups and re.fullmatch(r"[a-z_]+", name), f"-t {task!r} matches no task id as a substring"
        assert "-y" in args and "-d" in args, args


def test_the_shell_set_up_names_no_machine_and_sources_the_local_stacks_environment() -> None:
    setup = _section(_text(), "On call in five minutes")
    blocks = _code_blocks(setup)
    assert blocks and not re.search(r"(?<![\w.])/(work|home|Users|tmp)/", "\n".join(_code_blocks(_text())))
    assert any(". var/stack.env" in b for b in blocks)
    for variable in ("AIRFLOW_HOME", "PROACTIEF_DB_URL", "PROACTIEF_MAGDA_BASE_URL"):
        assert variable in setup, variable
    assert "--by \"$USER\"" not in _text()  # $USER may be empty: the commands default to the OS account


def _backfill_windows(text: str) -> list[tuple[str, str]]:
    """Every ``airflow backfill create … --from-date A … --to-date B`` in the text (code blocks or inline code)."""
    return re.findall(r"airflow backfill create[^\n`]*?--from-date ([0-9T:+-]+)[^\n`]*?--to-date ([0-9T:+-]+)", text)


@pytest.mark.parametrize("document", ["README.md", "docs/runbook.md"])
def test_a_backfill_example_covers_every_month_it_names(document: str) -> None:
    """A scheme run is due at 06:00 Europe/Brussels (04:00 or 05:00 UTC); a date-only ``--to-date`` means
    midnight UTC, so ``--to-date 2026-10-01`` leaves out October (issue 14). Every month from the from-date's to
    the to-date's must get its run."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    windows = _backfill_windows((ROOT / document).read_text(encoding="utf-8"))
    assert windows, f"{document} shows no backfill command"
    for start, end in windows:
        lo = dt.datetime.fromisoformat(start).replace(tzinfo=dt.UTC)
        hi = dt.datetime.fromisoformat(end).replace(tzinfo=dt.UTC)
        months = []
        year, month = lo.year, lo.month
        while (year, month) <= (hi.year, hi.month):
            months.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        due = {m: dt.datetime(m[0], m[1], 1, 6, tzinfo=ZoneInfo("Europe/Brussels")) for m in months}
        left_out = [f"{y}-{m:02d}" for (y, m), at in due.items() if not lo <= at <= hi]
        assert not left_out, f"{document}: backfill {start}..{end} leaves out {left_out}"


def test_the_schemes_readme_links_the_onboarding_procedure_and_names_files_that_exist() -> None:
    """A scheme owner reading the schemes README finds the runbook's procedure, and every file it says a fifth
    scheme touches is a real path (``<id>``/``<template>`` stand for the new scheme's names)."""
    readme = PACKAGE / "schemes" / "README.md"
    text = readme.read_text(encoding="utf-8")
    section = _section(text, "Adding a fifth scheme")
    link = f"../../../docs/runbook.md#{_slug('Onboard a new scheme')}"
    assert link in section and (readme.parent / link.split("#")[0]).resolve() == RUNBOOK.resolve()
    assert "### Onboard a new scheme" in _text()
    table = [line for line in section.splitlines() if line.startswith("| `")]
    listed = [re.match(r"\| `([^`]+)`", line).group(1) for line in table]
    assert len(listed) >= 7
    for path in listed:
        if "<" in path:
            assert (ROOT / path.split("<")[0]).is_dir(), path
        else:
            assert (ROOT / path).is_file(), path
