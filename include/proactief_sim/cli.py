"""The harness's commands of `proactief`: `magda-sim`, `population generate` and `demo`.

The product's CLI (:mod:`proactief.cli`) never imports this module: it lists the names of the
``proactief.cli`` entry-point group (pyproject.toml) and loads one of these commands only when it is invoked.
Heavy imports happen inside the commands, as in the product's CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import click
import typer

from proactief.cli import DbUrl, _fail

app = typer.Typer(add_completion=False)
population_app = typer.Typer(help="The synthetic Ghent population (simulator, tests, demos).", no_args_is_help=True)
app.add_typer(population_app, name="population")


@app.command(
    "magda-sim",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def magda_sim(ctx: typer.Context) -> None:
    """Run the local MAGDA simulator (SOAP over HTTP/HTTPS). `proactief magda-sim --help` lists its flags."""
    from proactief_sim.simulator.__main__ import _config, parser
    from proactief_sim.simulator.server import serve

    p = parser()
    p.prog = "proactief magda-sim"
    namespace = p.parse_args(list(ctx.args))
    try:
        config = _config(namespace)
    except ValueError as exc:
        p.error(str(exc))
    serve(config)


@population_app.command("generate")
def population_generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the population and city files to.")],
    size: Annotated[int, typer.Option("--size", help="Number of persons.")] = 270_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files, byte for byte.")] = 0,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Snapshot date YYYY-MM-DD (default 2026-11-01).")
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Processes (default: up to 2).")] = None,
) -> None:
    """Write a deterministic synthetic Ghent: simulator store, city files and expected entitlements."""
    import datetime as dt

    from proactief_sim.population import generate

    try:
        as_of_date = dt.date.fromisoformat(as_of) if as_of else None
        summary = generate(size, seed, out=out, as_of=as_of_date, workers=workers)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(summary.as_text())


@app.command("demo")
def demo(
    db_url: DbUrl = None,
    keep_running: Annotated[bool, typer.Option("--keep-running", help="Leave the simulator up afterwards.")] = False,
) -> None:
    """Start the simulator, consult it like production does, and show the audit trail (what bin/run shows)."""
    from proactief_sim.demo import run_demo

    if not (db_url or "").strip():
        db_url = "sqlite:///var/ledger.sqlite"
        typer.secho(f"note: no PROACTIEF_DB_URL: the demo writes its audit trail to {db_url}", err=True,
                    fg=typer.colors.YELLOW)
    raise typer.Exit(run_demo(typer.echo, Path("var"), db_url, keep_running))


_commands: dict[str, click.Command] = typer.main.get_command(app).commands  # type: ignore[attr-defined]
magda_sim_command: click.Command = _commands["magda-sim"]
population_command: click.Command = _commands["population"]
demo_command: click.Command = _commands["demo"]
