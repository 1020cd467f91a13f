"""Raw throughput of the MAGDA simulator: keep-alive HTTP clients hammering it, no MAGDA client in between.

    .venv/bin/python benchmarks/bench_simulator_raw.py [--duration 10] [--processes 2] [--threads 4]

Starts the real server (``running_simulator``), registers the test persons in its repertorium through the
admin API, then measures
1. single-person ``GeefSociaalStatuut`` calls: calls/s, p50/p99 latency;
2. ``GeefSociaalStatuutVoorLijst`` with ``--list-size`` persons per call: persons/s.
Clients are ``http.client`` keep-alive connections, ``--threads`` per process in ``--processes`` processes
(one Python process cannot drive the server hard enough on its own because of the GIL).
With ``--population FILE`` the simulator serves that store and the persons asked are taken from it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import random
import sys
import threading
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "include"))

from proactief.magda.services import MOCK_SINGLE_ENDPOINT  # noqa: E402
from proactief_sim.simulator.testing import running_simulator  # noqa: E402

AFNEMER = "gent.be/proactief-bench"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
SS_NS = "http://magda.vlaanderen.be/soczek/soap/geefsociaalstatuut/v03_00"
LIST_NS = "http://webservice.geefsociaalstatuutvoorlijstdienst-02_00.soczek-02_00.vip.vlaanderen.be"
STATUTES = ("BIM_BVT", "PCSA_AND_BIM_HELP", "LIVING_WAGES_PCSA_HELP")
PERSONAS = ("84640438954", "86710585636", "44640618933", "88681575651", "08670548333", "06701151393")


def tst_insz(rng: random.Random) -> str:
    """A random valid MAGDA test number (birth month + 60)."""
    while True:
        yy, mm, dd, seq = rng.randint(0, 99), rng.randint(1, 12) + 60, rng.randint(1, 28), rng.randint(1, 997)
        base = f"{yy:02d}{mm:02d}{dd:02d}{seq:03d}"
        check = 97 - ((2_000_000_000 if yy < 25 else 0) + int(base)) % 97
        return base + f"{check:02d}"


def single_request(insz: str) -> bytes:
    day = date.today().isoformat()
    statutes = "".join(f"<SociaalStatuut><Naam>{s}</Naam><Datum><Datum>{day}</Datum></Datum></SociaalStatuut>"
                       for s in STATUTES)
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}" xmlns:web="{SS_NS}"><soapenv:Header/><soapenv:Body>'
        "<web:GeefSociaalStatuut><Verzoek><Context><Naam>GeefSociaalStatuut</Naam><Versie>03.00.0000</Versie>"
        f"<Bericht><Type>VRAAG</Type><Tijdstip><Datum>{day}</Datum><Tijd>12:00:00.000</Tijd></Tijdstip>"
        f"<Afzender><Identificatie>{AFNEMER}</Identificatie><Referte>{uuid.uuid4()}</Referte>"
        "<Hoedanigheid>1300</Hoedanigheid></Afzender></Bericht></Context><Vragen><Vraag>"
        f"<Referte>{uuid.uuid4()}</Referte><Inhoud><Criteria><INSZ>{insz}</INSZ><SocialeStatuten>{statutes}"
        "</SocialeStatuten></Criteria></Inhoud></Vraag></Vragen></Verzoek></web:GeefSociaalStatuut>"
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


def list_request(inszs: list[str]) -> bytes:
    day = date.today().isoformat()
    statutes = "".join(f"<SociaalStatuut><Naam>{s}</Naam><Datum><Datum>{day}</Datum></Datum></SociaalStatuut>"
                       for s in STATUTES)
    persons = "".join(f"<Persoon>{i}</Persoon>" for i in inszs)
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}" xmlns:web="{LIST_NS}"><soapenv:Header/><soapenv:Body>'
        f"<web:GeefSociaalStatuutVoorLijst><Verzoek><Vragen><Vraag><Referte>{uuid.uuid4()}</Referte><Inhoud>"
        f"<Criteria><Operatie>GEEF</Operatie><SocialeStatuten>{statutes}</SocialeStatuten>"
        f"<Personen>{persons}</Personen></Criteria></Inhoud></Vraag></Vragen></Verzoek>"
        "</web:GeefSociaalStatuutVoorLijst></soapenv:Body></soapenv:Envelope>"
    ).encode()


def _worker(host: str, port: int, bodies: list[bytes], duration: float, threads: int, out: mp.Queue) -> None:
    """One client process: ``threads`` keep-alive connections, each posting bodies round-robin."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + duration

    def run(offset: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        mine: list[float] = []
        bad = 0
        i = offset
        headers = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""', "X-Magda-Afnemer": AFNEMER}
        while time.perf_counter() < stop_at:
            body = bodies[i % len(bodies)]
            i += 1
            t0 = time.perf_counter()
            conn.request("POST", MOCK_SINGLE_ENDPOINT, body, headers)
            resp = conn.getresponse()
            data = resp.read()
            mine.append(time.perf_counter() - t0)
            if resp.status != 200 or b"<Identificatie>4000" in data:
                bad += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    ts = [threading.Thread(target=run, args=(k * 7919,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put((latencies, errors[0]))


def hammer(url: str, bodies: list[bytes], duration: float, processes: int, threads: int) -> tuple[list[float], int,
                                                                                                   float]:
    host, port = url.split("//", 1)[1].split(":")
    q: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_worker, args=(host, int(port), bodies[k::processes] or bodies, duration, threads, q))
             for k in range(processes)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    lat = [x for r in results for x in r[0]]
    return lat, sum(r[1] for r in results), min(elapsed, duration + 0.5) if lat else elapsed


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4, help="connections per client process")
    ap.add_argument("--list-size", type=int, default=1000)
    ap.add_argument("--persons", type=int, default=20_000, help="random test persons for the list phase")
    ap.add_argument("--population", help="optional population store (JSON lines) to serve from")
    args = ap.parse_args()

    rng = random.Random(42)
    if args.population:  # ask for persons that are in the store, so answers are rendered from it
        with open(args.population, encoding="utf-8") as fh:
            persons = list(dict.fromkeys(json.loads(line)["insz"] for line, _ in zip(fh, range(args.persons),
                                                                                         strict=False)))
    else:
        persons = list(dict.fromkeys(tst_insz(rng) for _ in range(args.persons)))
    config = {"population": args.population} if args.population else {}
    with running_simulator(**config) as sim:
        for k in range(0, len(persons), 10_000):
            sim.admin("POST", "repertorium", {"afnemer": AFNEMER, "insz": persons[k:k + 10_000]})
        sim.admin("POST", "repertorium", {"afnemer": AFNEMER, "insz": list(PERSONAS)})

        singles = [single_request(i) for i in (list(PERSONAS) * 50 + persons[:2000])]
        hammer(sim.base_url, singles, 1.0, args.processes, args.threads)  # warm up
        lat, bad, elapsed = hammer(sim.base_url, singles, args.duration, args.processes, args.threads)
        print(f"GeefSociaalStatuut single: {len(lat) / elapsed:,.0f} calls/s  p50 {pct(lat, 50) * 1e3:.2f} ms  "
              f"p99 {pct(lat, 99) * 1e3:.2f} ms  ({len(lat)} calls, {bad} not OK, "
              f"{args.processes}x{args.threads} connections)")

        n = args.list_size
        lists = [list_request(persons[k:k + n]) for k in range(0, len(persons) - n + 1, n)]
        lat, bad, elapsed = hammer(sim.base_url, lists, args.duration, args.processes, max(1, args.threads // 2))
        print(f"GeefSociaalStatuutVoorLijst ({n}/call): {len(lat) * n / elapsed:,.0f} persons/s  "
              f"{len(lat) / elapsed:,.1f} calls/s  p50 {pct(lat, 50) * 1e3:.1f} ms  p99 {pct(lat, 99) * 1e3:.1f} ms  "
              f"({bad} not OK)")
        calls = sim.admin("GET", "state")["calls"]
        print(f"server counted: {calls.get('SocZek.GeefSociaalStatuut-03.00', 0)} single calls, "
              f"{calls.get('list_persons', 0)} list persons")


if __name__ == "__main__":
    main()
