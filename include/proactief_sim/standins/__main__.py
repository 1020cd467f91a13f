"""``python -m proactief_sim.standins --port N``: the UiTPAS API and eBox stand-ins in one local server.

UiTPAS under ``/uitpas`` (its OAuth token endpoint at ``/uitpas/oauth/token``), the eBox under ``/ebox``.
For the demo and the end-to-end tests; the real systems need credentials and a network this project never has.
"""

from __future__ import annotations

import argparse

from proactief_sim.standins.server import build_app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m proactief_sim.standins", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8092)
    parser.add_argument("--uitpas-client-id", default="proactief-gent")
    parser.add_argument("--uitpas-client-secret", default="standin-secret")  # noqa: S105 - the stand-in's own
    parser.add_argument("--auto-passholders", action="store_true",
                        help="a UiTPAS search for an unknown valid INSZ creates a passholder (demo: everybody)")
    parser.add_argument("--passholder-share", type=float, default=0.0,
                        help="the part of the people (0-1, by a hash of the INSZ) who have a UiTPAS (demo)")
    args = parser.parse_args(argv)
    app = build_app(uitpas_client_id=args.uitpas_client_id, uitpas_client_secret=args.uitpas_client_secret,
                    auto_passholders=args.auto_passholders, passholder_share=args.passholder_share)
    print(f"stand-ins on http://{args.host}:{args.port}: /uitpas (UiTPAS API v4), /ebox (eBox)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
