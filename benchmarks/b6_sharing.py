"""B6: 10,000 marked records shared from a USA node to a VNM node over loopback HTTPS.

Workload: a fixed-seed mix of reports, sightings and vessel notes under eight markings, half
of them releasable to VNM (REL TO VNM, REL TO a group holding VNM, ...) and half not (NOFORN,
REL TO PHL only, CONFIDENTIAL above VNM's ceiling, TLP:RED to a group). Both nodes serve
HTTPS with certificates from a throwaway CA (trustme); USA trusts VNM through the partner's
``ca_file``. VNM's partner entry for USA has no URL, so all VNM receives comes by USA's push.

Two phases, each timed until VNM has stored the last releasable record:

1. backlog: 10,000 records are written at USA (``SharingService.create``, before the node
   runs), then two real ``jointwatch serve`` processes start and USA pushes the backlog. The
   clock starts when the USA process is launched (start-up included) — this is the B6 figure.
2. live: 10,000 more records are written through the running USA node's own
   ``SharingService.create`` and pushed as they come; the clock starts at the first write.
   A node is the only writer of its database (its change sequence and audit chain are taken
   under its process locks), so for this phase the USA node — the real app, uvicorn with TLS
   and the federation loop — runs inside this process, and the writes go through it.

Then, on both phases together: zero leaks (no withheld record at VNM, not even a
tombstone), zero duplicates (each record stored once and audited once at VNM, all at
version 1), nothing missing, both audit chains intact.

The peer column of BENCHMARKS.md is "—": the figures are set against the target, < 30 s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import write_result

TARGET_S = 30.0
SEED = 6
GROUP = "ASEAN-MARSEC"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# (marking, released to VNM?) — decided here from the workload's definition, not by asking
# the code under test.
MARKINGS: tuple[tuple[dict[str, Any], bool], ...] = (
    ({"classification": "RESTRICTED", "rel_to": ["VNM"]}, True),
    ({"classification": "RESTRICTED", "rel_to": [GROUP], "tlp": "TLP:AMBER"}, True),
    ({"classification": "UNCLASSIFIED", "rel_to": ["PHL", "VNM"], "tlp": "TLP:GREEN"}, True),
    ({"classification": "RESTRICTED", "rel_to": ["VNM"], "caveats": ["EXERCISE"]}, True),
    ({"classification": "RESTRICTED", "local_only": True}, False),
    ({"classification": "RESTRICTED", "rel_to": ["PHL"]}, False),
    ({"classification": "CONFIDENTIAL", "rel_to": ["VNM"]}, False),
    ({"classification": "UNCLASSIFIED", "rel_to": [GROUP], "tlp": "TLP:RED"}, False),
)


def workload(n: int, seed: int = SEED) -> list[tuple[str, dict[str, Any], dict[str, Any], bool]]:
    """(kind, payload, marking, released to VNM) for ``n`` records, the same for one seed."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        marking, released = MARKINGS[rng.randrange(len(MARKINGS))]
        lat, lon = round(rng.uniform(5, 20), 5), round(rng.uniform(105, 120), 5)
        mmsi = rng.randrange(200_000_000, 800_000_000)
        roll = rng.random()
        if roll < 0.6:
            kind = "report"
            payload: dict[str, Any] = {
                "title": f"B6 report {i}",
                "text": " ".join(
                    rng.choice(("vessel", "loiter", "AIS gap", "reef")) for _ in range(40)
                ),
                "lat": lat,
                "lon": lon,
                "mmsis": [mmsi],
            }
        elif roll < 0.85:
            kind = "sighting"
            payload = {
                "time": "2026-05-01T00:00:00Z",
                "lat": lat,
                "lon": lon,
                "mmsi": mmsi,
                "observer": "patrol aircraft",
                "description": f"B6 sighting {i}",
            }
        else:
            kind = "vessel_note"
            payload = {"mmsi": mmsi, "text": f"B6 note {i}: switches AIS off near the reef"}
        out.append((kind, payload, dict(marking), released))
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def databases(backend: str, base: Path, pg_admin_url: str) -> Iterator[tuple[str, str]]:
    """Two empty databases (USA, VNM): SQLite files, or throwaway PostgreSQL databases."""
    if backend == "sqlite":
        yield f"sqlite:///{base / 'usa.db'}", f"sqlite:///{base / 'vnm.db'}"
        return
    from jointwatch.store import normalise_url

    admin = sa.create_engine(normalise_url(pg_admin_url), isolation_level="AUTOCOMMIT")
    names = [f"jointwatch_b6_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        usa, vnm = (
            admin.url.set(database=name).render_as_string(hide_password=False) for name in names
        )
        yield usa, vnm
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def certificates(base: Path) -> dict[str, Path]:
    """A throwaway CA and one server certificate per node, for 127.0.0.1."""
    import trustme

    ca = trustme.CA()
    files = {"ca": base / "ca.pem"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    for node in ("usa", "vnm"):
        cert = ca.issue_cert("127.0.0.1", "localhost", f"jw-{node}.example")
        files[f"{node}_cert"] = base / f"{node}-cert.pem"
        files[f"{node}_key"] = base / f"{node}-key.pem"
        for i, blob in enumerate(cert.cert_chain_pems):
            blob.write_to_path(str(files[f"{node}_cert"]), append=i > 0)
        cert.private_key_pem.write_to_path(str(files[f"{node}_key"]))
    return files


def wait_healthy(url: str, ca: Path, proc: subprocess.Popen[bytes] | None, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"node exited early:\n{log.read_text()[-3000:]}")
        try:
            trust = ssl.create_default_context(cafile=str(ca))
            if httpx.get(f"{url}/api/health", verify=trust, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


class InProcessNode:
    """The USA node: the real app under uvicorn (TLS) in a thread of this process."""

    def __init__(self, settings: Any, port: int, cert: Path, key: Path) -> None:
        import uvicorn

        from jointwatch.api.app import create_app

        self.app = create_app(settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=port,
            ssl_certfile=str(cert),
            ssl_keyfile=str(key),
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="usa-node", daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the USA node did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def _count(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


RECEIVED = "SELECT count(*) FROM shared_records WHERE received_from = 'usa'"


class Watch:
    """Polls VNM's database until it holds ``target`` records from USA; times the arrival."""

    def __init__(self, engine: sa.Engine, target: int, started: float) -> None:
        self.engine, self.target, self.started = engine, target, started
        self.samples: list[tuple[float, int]] = []
        self.done = threading.Event()
        self.before = _count(engine, RECEIVED)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.is_set():
            count = _count(self.engine, RECEIVED)
            self.samples.append((time.perf_counter() - self.started, count))
            if count >= self.target:
                self.done.set()
            else:
                time.sleep(0.1)

    def wait(self, timeout_s: float = 900) -> tuple[float, float]:
        """(seconds until the first new record arrived, seconds until all had)."""
        if not self.done.wait(timeout_s):
            raise RuntimeError(f"VNM holds {self.samples[-1][1]} of {self.target}")
        first = next(t for t, c in self.samples if c > self.before)
        return first, self.samples[-1][0]


def start_process(
    nation: str, port: int, url: str, data_dir: Path, tls: dict[str, Path], log: Path
) -> subprocess.Popen[bytes]:
    """A real ``jointwatch serve`` node on HTTPS."""
    node = nation.lower()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jointwatch", "serve", "--port", str(port)],
            env={
                **os.environ,
                "JOINTWATCH_NATION": nation,
                "JOINTWATCH_DATA_DIR": str(data_dir),
                "JOINTWATCH_DATABASE_URL": url,
                "JOINTWATCH_DETECT": "false",
                "JOINTWATCH_TLS_CERTFILE": str(tls[f"{node}_cert"]),
                "JOINTWATCH_TLS_KEYFILE": str(tls[f"{node}_key"]),
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_healthy(f"https://127.0.0.1:{port}", tls["ca"], proc, log)
    return proc


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run(n: int = 10_000, backend: str = "sqlite", pg_admin_url: str = PG_ADMIN_URL) -> dict:
    from jointwatch.config import Settings
    from jointwatch.sharing.audit import verify_chain
    from jointwatch.sharing.service import SharingService
    from jointwatch.store import make_engine, migrate
    from jointwatch.store.audit_log import AuditLog

    backlog, live = workload(n, SEED), workload(n, SEED + 1)
    releasable = [sum(1 for r in part if r[3]) for part in (backlog, live)]
    base = Path(tempfile.mkdtemp(prefix="jw-b6-"))
    procs: dict[str, subprocess.Popen[bytes] | None] = {"usa": None, "vnm": None}
    usa_node: InProcessNode | None = None
    phases: dict[str, dict[str, Any]] = {}
    try:
        with databases(backend, base, pg_admin_url) as (usa_url, vnm_url):
            tls = certificates(base)
            usa_port, vnm_port = free_port(), free_port()
            usa_settings = Settings(
                nation="USA", data_dir=base / "usa", database_url=usa_url, detect=False
            )
            # Link the two nodes before either starts (groups are read at start).
            usa_engine, vnm_engine = make_engine(usa_url), make_engine(vnm_url)
            migrate(usa_engine)
            migrate(vnm_engine)
            usa_prep = SharingService(usa_settings, usa_engine)
            vnm_prep = SharingService(
                Settings(nation="VNM", data_dir=base / "vnm", database_url=vnm_url), vnm_engine
            )
            usa_prep.records.put_group(GROUP, ["PHL", "VNM"])
            usa_prep.reload_groups()
            token_for_usa = vnm_prep.add_partner(
                "usa", nation="USA", url=None, ceiling="RESTRICTED"
            )
            usa_prep.add_partner(
                "vnm",
                nation="VNM",
                url=f"https://127.0.0.1:{vnm_port}",
                ceiling="RESTRICTED",
                outbound_token=token_for_usa,
                ca_file=tls["ca"],
            )
            writer = usa_prep.accounts.create_user("b6.writer", nation="USA", role="analyst")
            gids: list[tuple[str, bool]] = []

            # Phase 1: a backlog of n records, pushed by a USA process that starts.
            started = time.perf_counter()
            for kind, payload, marking, released in backlog:
                gids.append((usa_prep.create(writer, kind, payload, marking)["gid"], released))
            written_s = time.perf_counter() - started
            usa_engine.dispose()
            procs["vnm"] = start_process(
                "VNM", vnm_port, vnm_url, base / "vnm", tls, base / "vnm.log"
            )
            started = time.perf_counter()
            watch = Watch(vnm_engine, releasable[0], started)
            procs["usa"] = start_process(
                "USA", usa_port, usa_url, base / "usa", tls, base / "usa.log"
            )
            up_s = time.perf_counter() - started
            first, elapsed = watch.wait()
            phases["backlog"] = {
                "records": n,
                "releasable": releasable[0],
                "write_s": written_s,
                "writes_per_s": n / written_s,
                "usa_startup_s": up_s,
                "first_arrival_s": first,
                "elapsed_s": elapsed,
                "push_s": elapsed - up_s,
                "records_per_s": n / elapsed,
                "shared_per_s": releasable[0] / elapsed,
            }
            time.sleep(1.0)  # let USA record the last receipts
            stop_process(procs["usa"])

            # Phase 2: n records written through the running USA node, pushed as they come.
            usa_node = InProcessNode(usa_settings, usa_port, tls["usa_cert"], tls["usa_key"])
            usa_node.start()
            usa: SharingService = usa_node.app.state.sharing
            started = time.perf_counter()
            watch = Watch(vnm_engine, sum(releasable), started)
            for kind, payload, marking, released in live:
                gids.append((usa.create(writer, kind, payload, marking)["gid"], released))
            written_s = time.perf_counter() - started
            first, elapsed = watch.wait()
            phases["live"] = {
                "records": n,
                "releasable": releasable[1],
                "write_s": written_s,
                "writes_per_s": n / written_s,
                "first_arrival_s": first,
                "elapsed_s": elapsed,
                "tail_after_last_write_s": elapsed - written_s,
                "records_per_s": n / elapsed,
                "shared_per_s": releasable[1] / elapsed,
            }
            time.sleep(1.0)

            # Verification, straight from both databases.
            want = {g for g, ok in gids if ok}
            withheld = {g for g, ok in gids if not ok}
            with vnm_engine.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT gid, version, deleted, received_from FROM shared_records")
                ).all()
            held = [r[0] for r in rows]
            received_audits = _count(
                vnm_engine, "SELECT count(*) FROM audit_log WHERE action = 'receive'"
            )
            checks = {
                "leaks": len(set(held) & withheld),
                "missing": len(want - set(held)),
                # A record stored twice shows as a second row or a second "receive" entry.
                "duplicates": (len(held) - len(set(held))) + (received_audits - len(set(held))),
                "foreign_rows": sum(1 for r in rows if r[3] != "usa"),
                "not_version_1_or_deleted": sum(1 for r in rows if int(r[1]) != 1 or r[2]),
                "received_audit_entries": received_audits,
                "receipts_at_usa": usa.records.delivery_counts("vnm"),
                "audit_chains_ok": all(
                    not verify_chain(AuditLog(engine).iter_entries())
                    for engine in (usa.records.engine, vnm_engine)
                ),
            }
            vnm_engine.dispose()
    finally:
        if usa_node is not None:
            usa_node.stop()
        for proc in procs.values():
            stop_process(proc)
        shutil.rmtree(base, ignore_errors=True)

    result = {
        "benchmark": "B6 sharing: marked records pushed to a partner node over loopback HTTPS",
        "backend": backend,
        "target_s": TARGET_S,
        "federation_batch": usa_settings.federation_batch,
        "backlog": phases["backlog"],
        "live": phases["live"],
        "vs_target": phases["backlog"]["elapsed_s"] / TARGET_S,
        "live_vs_target": phases["live"]["elapsed_s"] / TARGET_S,
        **checks,
    }
    write_result("b6" if backend == "sqlite" else f"b6-{backend}", result)
    return result


def table_rows(r: dict[str, Any]) -> list[str]:
    checks = f"{r['leaks']} leaks, {r['duplicates']} duplicates, {r['missing']} missing"
    b, live = r["backlog"], r["live"]
    return [
        f"| B6 sharing, {b['records']:,}-record backlog ({b['releasable']:,} releasable) "
        f"pushed over HTTPS, {r['backend']} | — (target < {r['target_s']:.0f} s) | "
        f"{b['elapsed_s']:.1f} s from USA start, {b['records_per_s']:,.0f} records/s; "
        f"{checks} | {r['vs_target']:.2f}x target |",
        f"| B6 live, {live['records']:,} records written while running "
        f"({live['releasable']:,} releasable), {r['backend']} | — (target < "
        f"{r['target_s']:.0f} s) | {live['elapsed_s']:.1f} s from first write, "
        f"{live['records_per_s']:,.0f} records/s (writes alone {live['writes_per_s']:,.0f}/s) | "
        f"{r['live_vs_target']:.2f}x target |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000, help="records in each phase")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    args = parser.parse_args()
    r = run(args.records, args.backend, args.pg_admin_url)
    for row in table_rows(r):
        print(row)
    b, live = r["backlog"], r["live"]
    print(
        f"  backlog: written in {b['write_s']:.1f} s ({b['writes_per_s']:,.0f}/s) before the "
        f"start; USA up after {b['usa_startup_s']:.1f} s, first record at VNM after "
        f"{b['first_arrival_s']:.1f} s, push {b['push_s']:.1f} s\n"
        f"  live: writes took {live['write_s']:.1f} s, first record at VNM after "
        f"{live['first_arrival_s']:.2f} s, last {live['tail_after_last_write_s']:.2f} s after "
        f"the last write\n"
        f"  receipts at USA {r['receipts_at_usa']}; audit chains "
        f"{'intact' if r['audit_chains_ok'] else 'BROKEN'}"
    )


if __name__ == "__main__":
    main()
