"""The ``jointwatch`` command: serve, demo, ingest, decode, replay.

Bad input never produces a traceback here: a ``JointWatchError`` becomes one clear line and
exit status 2.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from jointwatch import __version__
from jointwatch.config import Settings
from jointwatch.errors import JointWatchError

app = typer.Typer(
    name="jointwatch",
    help="JointWatch: a joint maritime watch center node.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

DEFAULT_NODE = "http://127.0.0.1:8000"
DEMO_FEED_PORT = 10110
DEMO_NATION = "USA"
DEMO_USER = "demo-admin"
DEMO_LINK_FILE = "demo-login-link.txt"
DEMO_LINK_TTL = timedelta(hours=8)


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
    return typer.Exit(code=2)


def _settings(**overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**values)


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def version() -> None:
    """Print the JointWatch version."""
    typer.echo(__version__)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port [default: 8000]")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Node data directory")] = None,
    database_url: Annotated[str | None, typer.Option(help="SQLAlchemy URL")] = None,
    source: Annotated[
        list[str] | None,
        typer.Option(help="A source the node reads itself (repeatable), e.g. tcp-listen://:10110"),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run a node: web console, REST API, WebSocket feed and its own sources."""
    import uvicorn

    from jointwatch.api.app import create_app
    from jointwatch.sources import parse_source

    _logging(verbose)
    try:
        settings = _settings(
            host=host,
            port=port,
            data_dir=data_dir,
            database_url=database_url,
            sources=list(source) if source else None,
        )
        for spec in settings.sources:
            parse_source(spec)
    except JointWatchError as exc:
        raise _fail(exc) from exc
    tls: dict[str, Any] = {}
    if settings.tls_certfile or settings.tls_keyfile:
        if not (settings.tls_certfile and settings.tls_keyfile):
            raise _fail(JointWatchError("HTTPS needs both JOINTWATCH_TLS_CERTFILE and _KEYFILE"))
        tls = {"ssl_certfile": str(settings.tls_certfile), "ssl_keyfile": str(settings.tls_keyfile)}
    scheme = "https" if tls else "http"
    console.print(f"JointWatch node on [bold]{scheme}://{settings.host}:{settings.port}[/]")
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level="info", **tls
    )


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="HTTP port")] = 8000,
    data_dir: Annotated[Path, typer.Option(help="Demo data directory")] = Path(".jointwatch-demo"),
    keep: Annotated[bool, typer.Option(help="Keep the previous demo's data")] = False,
    vessels: Annotated[int, typer.Option(help="Vessels in the scenario")] = 200,
    backfill_hours: Annotated[float, typer.Option(help="Hours of history sent first")] = 2.0,
    speedup: Annotated[float, typer.Option(help="Live time acceleration")] = 1.0,
    seed: Annotated[int, typer.Option(help="Scenario seed")] = 7,
    feed_port: Annotated[
        int, typer.Option(help="Loopback TCP port the scenario feeds, as a receiver would")
    ] = DEMO_FEED_PORT,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run until Ctrl-C)")
    ] = None,
) -> None:
    """Run a node with the South China Sea scenario streaming into it over TCP, and print a
    single-use sign-in link for its admin (also in DATA_DIR/demo-login-link.txt)."""
    import uvicorn

    from jointwatch.api.app import create_app
    from jointwatch.exercise.scenario import Scenario, stream_scenario

    _logging(False)
    if data_dir.exists() and not keep:
        shutil.rmtree(data_dir)
    feed = f"tcp-listen://127.0.0.1:{feed_port}"
    zones_file = Path(__file__).parent / "exercise" / "data" / "zones.geojson"
    settings = _settings(
        data_dir=data_dir, port=port, sources=[feed], zones_file=zones_file, nation=DEMO_NATION
    )
    try:
        link = _demo_sign_in_link(settings)
    except JointWatchError as exc:
        raise _fail(exc) from exc
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )

    async def main() -> None:
        stop = asyncio.Event()
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                serving.result()
                return
            await asyncio.sleep(0.1)
        console.print(
            f"JointWatch demo node: [bold]http://127.0.0.1:{port}[/]  "
            f"(scenario: {vessels} vessels, {backfill_hours:g} h backfill, feed {feed})"
        )
        base_url = "" if port == 8000 else f" --base-url http://127.0.0.1:{port}"
        console.print(
            f"\n[bold]Sign in[/] as {DEMO_USER} (admin, {DEMO_NATION}) by opening this "
            f"single-use link, valid {DEMO_LINK_TTL.total_seconds() / 3600:g} hours:\n\n"
            f"    [bold cyan]{link}[/]\n\n"
            f"It is also in {data_dir / DEMO_LINK_FILE}. Another link: "
            f"jointwatch admin user enrol {DEMO_USER} --data-dir {data_dir}{base_url}\n",
            highlight=False,
            soft_wrap=True,
        )
        # The script starts 14.5 h back, so its 13-hour dark vessel has just reappeared.
        script_start = datetime.now(UTC) - timedelta(hours=14.5)
        scenario = Scenario(seed=seed, vessels=vessels, script_start=script_start)
        feeding = asyncio.create_task(
            stream_scenario(
                "127.0.0.1",
                feed_port,
                scenario=scenario,
                speedup=speedup,
                backfill_h=backfill_hours,
                stop_event=stop,
            )
        )
        if duration is not None:
            await asyncio.sleep(duration)
            server.should_exit = True
        await serving
        stop.set()
        feeding.cancel()
        await asyncio.gather(feeding, return_exceptions=True)

    asyncio.run(main())


def _demo_sign_in_link(settings: Settings) -> str:
    """A fresh single-use sign-in link for the demo's admin (created on first use), also
    written to DATA_DIR/demo-login-link.txt (mode 0600): the demo has no password."""
    from sqlalchemy.exc import OperationalError

    from jointwatch.sharing.service import SharingService
    from jointwatch.store import make_engine, migrate

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    try:
        migrate(engine)
        sharing = SharingService(settings, engine)
        if sharing.accounts.user(DEMO_USER) is None:
            sharing.accounts.create_user(DEMO_USER, nation=DEMO_NATION, role="admin")
            sharing.audit_event(None, "admin", "user", DEMO_USER, op="add", via="demo")
        secret = sharing.accounts.create_enrolment(DEMO_USER, DEMO_LINK_TTL)
        sharing.audit_event(None, "admin", "user", DEMO_USER, op="enrol", via="demo")
    except OperationalError as exc:
        raise JointWatchError(f"cannot open the demo's database: {exc}") from exc
    finally:
        engine.dispose()
    link = f"http://127.0.0.1:{settings.port}/auth/enrol?token={secret}"
    path = settings.data_dir / DEMO_LINK_FILE
    partial = path.with_name(f".{DEMO_LINK_FILE}.tmp")  # readers never see half a link
    partial.unlink(missing_ok=True)
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(link + "\n")
    partial.replace(path)
    return link


def _progress() -> Any:
    if not console.is_terminal:  # a file or a pipe: lines, not a bar redrawn in place
        from jointwatch.progress import LogProgress

        return LogProgress(console)
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[lines]:>10,} lines  {task.fields[rate]:>9,.0f} sentences/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def _file_batches(path: Path, on_progress: Callable[[int, int], None]) -> Iterator[Any]:
    from jointwatch.sources import iter_file_batches

    lines = 0
    for batch in iter_file_batches(path, batch_lines=20_000):
        lines += len(batch.lines)
        yield batch
        on_progress(batch.bytes_read, lines)


def _file_blocks(path: Path, on_progress: Callable[[int], None]) -> Iterator[Any]:
    from jointwatch.sources import iter_file_blocks

    for block in iter_file_blocks(path):
        yield block
        on_progress(block.bytes_read)


@app.command()
def ingest(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Files (.nmea .txt .gz .csv), tcp://host:port, tcp-listen://:port, "
            "udp://:port or - for stdin"
        ),
    ],
    node: Annotated[
        str, typer.Option(envvar="JOINTWATCH_NODE_URL", help="Node to feed")
    ] = DEFAULT_NODE,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="JOINTWATCH_TOKEN",
            help="API key of a user allowed to ingest (roles admin, watch_officer, feed)",
        ),
    ] = None,
    direct: Annotated[
        bool,
        typer.Option(help="Write straight into the local data directory (no node running)"),
    ] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory for --direct")] = None,
    database_url: Annotated[str | None, typer.Option(help="Database for --direct")] = None,
) -> None:
    """Feed sources into a node (over its HTTP ingest API, or --direct into its store)."""
    from jointwatch.ingest_client import DirectSink, HttpSink, run_ingest
    from jointwatch.sources import parse_source

    try:
        specs = [parse_source(spec) for spec in sources]
        if direct:
            sink: Any = DirectSink(_settings(data_dir=data_dir, database_url=database_url))
        else:
            sink = HttpSink(node, token)
        with sink:
            if not direct:
                _check_ingest_access(sink, token)
            summary = run_ingest(specs, sink, _progress, console)
    except JointWatchError as exc:
        raise _fail(exc) from exc
    except KeyboardInterrupt:
        console.print("interrupted")
        raise typer.Exit(code=130) from None
    if "decoded" not in summary.node_stats:
        summary.node_stats = {}  # a feed key may not read the node's counters back
    console.print(summary)


def _check_ingest_access(sink: Any, token: str | None) -> None:
    """Stop before reading any source when the node will refuse our batches (401, 403)."""
    import httpx

    from jointwatch.sharing.roles import ROLES

    try:
        me = sink.client.get("/api/me")
    except httpx.HTTPError as exc:
        raise JointWatchError(f"node {sink.node_url} stopped answering: {exc}") from exc
    if me.status_code == 200:
        who = me.json()
        if "picture:ingest" in who.get("permissions", []):
            return
        key = "read-only key" if who.get("read_only") else "key"
        problem = f"403: the {key} of {who.get('username')} ({who.get('role')}) may not ingest"
    elif me.status_code == 401:
        problem = "401: " + (
            "no API key given"
            if not token
            else "the API key is unknown, revoked, expired or not allowed from this address"
        )
    else:
        return  # anything else shows up, with the node's reason, on the first batch
    roles = ", ".join(role for role, granted in ROLES.items() if "picture:ingest" in granted)
    console.print(
        f"[bold red]error:[/] node {sink.node_url} refused ingest ({problem}); "
        f"create a key for a user with role {roles} with `jointwatch admin token create USER` "
        "on the node, and pass it with --token or JOINTWATCH_TOKEN",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(code=2)


@app.command()
def decode(
    files: Annotated[list[Path], typer.Argument(help="NMEA files (.nmea, .txt, .gz)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="out.jsonl or out.parquet")],
) -> None:
    """Decode AIS sentences to JSON Lines or Parquet, with pyais's field names."""
    from jointwatch.ais import AisPipeline
    from jointwatch.decode_output import DecodeWriter

    suffix = output.suffix.lower()
    if suffix not in {".jsonl", ".parquet"}:
        raise _fail(JointWatchError("--output must end in .jsonl or .parquet"))
    for path in files:
        if not path.is_file():
            raise _fail(JointWatchError(f"no such file: {path}"))
    pipeline = AisPipeline()
    started = time.perf_counter()
    with _progress() as progress, DecodeWriter(output) as writer:
        for path in files:
            task = progress.add_task(path.name, total=path.stat().st_size, lines=0, rate=0.0)
            base = pipeline.stats.lines_read

            def show(done: int, task: Any = task, base: int = base) -> None:
                lines = pipeline.stats.lines_read - base
                elapsed = max(time.perf_counter() - started, 1e-9)
                rate = pipeline.stats.lines_read / elapsed
                progress.update(task, completed=done, lines=lines, rate=rate)

            for block in _file_blocks(path, show):
                writer.write(pipeline.process_block(block.data, block.source, block.rx_time_s))
        pipeline.flush(float("inf"))
    stats = pipeline.stats.as_dict()
    elapsed = time.perf_counter() - started
    console.print(
        f"{stats['lines_read']:,} lines, {writer.rows:,} messages decoded, "
        f"{stats['duplicates']:,} duplicates, rejected {json.dumps(stats['rejected'])} "
        f"in {elapsed:.1f} s ({stats['lines_read'] / max(elapsed, 1e-9):,.0f} sentences/s) "
        f"→ {output}"
    )


@app.command()
def detect(
    files: Annotated[
        list[Path], typer.Argument(help="NMEA files (.nmea .txt .gz) or CSV archives")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="events.jsonl")],
    zones: Annotated[Path | None, typer.Option(help="GeoJSON zones for zone_entry/exit")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML detector parameters")] = None,
) -> None:
    """Run every detector over files and write one JSON event per line, by start time."""
    from jointwatch.ais import AisPipeline
    from jointwatch.detect.engine import DetectionEngine
    from jointwatch.detect.params import load_params
    from jointwatch.geo.zones import load_zones
    from jointwatch.picture.positions import split_decoded
    from jointwatch.sources import parse_source
    from jointwatch.sources.csv_archive import read_csv_archive

    try:
        if output.suffix.lower() != ".jsonl":
            raise JointWatchError("--output must end in .jsonl")
        specs = [parse_source(str(path)) for path in files]
        if any(spec.kind not in ("file", "csv") for spec in specs):
            raise JointWatchError("detect reads files; feed live sources to a node instead")
        engine = DetectionEngine(load_params(config), load_zones(zones) if zones else ())
    except JointWatchError as exc:
        raise _fail(exc) from exc
    pipeline = AisPipeline()
    started = time.perf_counter()
    with _progress() as progress:
        for spec, path in zip(specs, files, strict=True):
            task = progress.add_task(path.name, total=path.stat().st_size, lines=0, rate=0.0)
            if spec.kind == "csv":
                for positions, static in read_csv_archive(path):
                    engine.feed(positions, static)
                    rate = engine.positions_seen / max(time.perf_counter() - started, 1e-9)
                    progress.update(task, lines=engine.positions_seen, rate=rate)
                progress.update(task, completed=path.stat().st_size)
                continue

            def show(done: int, _lines: int, task: Any = task) -> None:
                rate = engine.positions_seen / max(time.perf_counter() - started, 1e-9)
                progress.update(task, completed=done, lines=engine.positions_seen, rate=rate)

            for batch in _file_batches(path, show):
                picture = split_decoded(
                    pipeline.process(batch.lines, batch.source, batch.rx_time_s)
                )
                engine.feed(picture.positions, picture.static)
    events = engine.all_events()
    with output.open("w", encoding="utf-8") as out:
        for event in events:
            out.write(json.dumps(event.to_json(), separators=(",", ":")) + "\n")
    elapsed = time.perf_counter() - started
    kinds: dict[str, int] = {}
    for event in events:
        kinds[event.kind] = kinds.get(event.kind, 0) + 1
    console.print(
        f"{engine.positions_seen:,} positions in {elapsed:.1f} s "
        f"({engine.positions_seen / max(elapsed, 1e-9):,.0f} positions/s): "
        f"{len(events):,} events {json.dumps(kinds)} → {output}"
    )


@app.command()
def replay(
    journal: Annotated[Path, typer.Argument(help="A journal directory or .jnl file")],
    data_dir: Annotated[Path | None, typer.Option(help="Data directory to rebuild into")] = None,
    database_url: Annotated[str | None, typer.Option(help="Database to rebuild into")] = None,
) -> None:
    """Rebuild a picture and archive from a raw journal (run it with the node stopped)."""
    from jointwatch.journal import journal_files
    from jointwatch.readahead import replay_journal
    from jointwatch.service import IngestService

    if not journal.exists():
        raise _fail(JointWatchError(f"no such journal: {journal}"))
    settings = _settings(data_dir=data_dir, database_url=database_url, journal=False)
    service = IngestService(settings)
    files = journal_files(journal) if journal.is_dir() else [journal]
    lines, started = 0, time.perf_counter()
    try:
        with _progress() as progress:
            task = progress.add_task(
                journal.name, total=sum(f.stat().st_size for f in files), lines=0, rate=0.0
            )
            for block, result in replay_journal(service, journal):
                lines += result.lines
                rate = lines / max(time.perf_counter() - started, 1e-9)
                progress.update(task, completed=block.bytes_read, lines=lines, rate=rate)
    finally:
        service.close()
    console.print(f"replayed {lines:,} journaled lines into {settings.data_dir}")


from jointwatch.cli_admin import admin_app, audit_app  # noqa: E402  (kept next to its registration)

app.add_typer(admin_app, name="admin")
app.add_typer(audit_app, name="audit")


def main() -> None:
    """Entry point used by ``python -m jointwatch``."""
    try:
        app()
    except JointWatchError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)
