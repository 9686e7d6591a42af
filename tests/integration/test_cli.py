"""The `jointwatch` command on real files: decode against pyais, replay, errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyais.stream import FileReaderStream

from jointwatch.exercise.scenario import write_scenario_file


def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jointwatch", *args],
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "scs.nmea.gz"
    end = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    write_scenario_file(path, hours=0.25, seed=3, vessels=60, end=end)
    return path


def _pyais_messages(path: Path) -> list[dict]:
    plain = path.with_suffix("")
    import gzip

    plain.write_bytes(gzip.decompress(path.read_bytes()))
    out = []
    for msg in FileReaderStream(str(plain)):
        out.append(msg.decode().asdict(ignore_spare=True))
    return out


def _canonical(record: dict, keys: set[str]) -> str:
    return json.dumps({k: record.get(k) for k in sorted(keys)}, sort_keys=True, default=str)


def test_decode_jsonl_matches_pyais_on_every_field(scenario_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = run("decode", str(scenario_file), "--output", str(out))
    assert result.returncode == 0, result.stderr
    ours = [json.loads(line) for line in out.read_text().splitlines()]
    theirs = _pyais_messages(scenario_file)
    assert len(ours) == len(theirs) > 1000
    # Reserved bits (type 18's reserved_1/2) carry no meaning; the decoder leaves them out.
    keys = {k for t in theirs for k in t if not k.startswith("reserved")}
    assert sorted(_canonical(o, keys) for o in ours) == sorted(_canonical(t, keys) for t in theirs)
    first = ours[0]
    assert re.fullmatch(r"2026-11-24T11:4[5-9]:\d\d\.\d{6}Z", first["rx_time"]), first["rx_time"]
    parsed = datetime.fromisoformat(first["rx_time"].replace("Z", "+00:00"))
    assert parsed.tzinfo is not None
    assert first["source"].startswith("rx-")


def test_decode_parquet_has_pyais_columns_and_rx_time(scenario_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    result = run("decode", str(scenario_file), "--output", str(out))
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    for column in (
        "msg_type",
        "mmsi",
        "lat",
        "lon",
        "speed",
        "course",
        "heading",
        "shipname",
        "callsign",
        "imo",
        "ship_type",
        "to_bow",
        "rx_time",
        "source",
    ):
        assert column in table.column_names
    assert table.num_rows > 1000


def test_decode_rejects_a_bad_output_name_without_a_traceback(tmp_path: Path) -> None:
    src = tmp_path / "x.nmea"
    src.write_text("nothing\n")
    result = run("decode", str(src), "--output", str(tmp_path / "out.csv"))
    assert result.returncode == 2
    assert "--output must end in .jsonl or .parquet" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run("decode", str(tmp_path / "missing.nmea"), "--output", str(tmp_path / "o.jsonl"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_direct_ingest_then_replay_of_the_journal_rebuilds_the_same_picture(
    scenario_file: Path, tmp_path: Path
) -> None:
    first = tmp_path / "first"
    result = run("ingest", "--direct", "--data-dir", str(first), str(scenario_file))
    assert result.returncode == 0, result.stderr
    assert "sentences/s" in result.stderr
    rebuilt = tmp_path / "rebuilt"
    result = run("replay", str(first / "journal"), "--data-dir", str(rebuilt))
    assert result.returncode == 0, result.stderr
    assert "journal: 100% of" in result.stderr  # the progress line (output is not a terminal)

    from jointwatch.config import Settings
    from jointwatch.service import IngestService

    stats = []
    for data_dir in (first, rebuilt):
        service = IngestService(Settings(data_dir=data_dir))
        events = sorted((e["id"], e["end"], str(e["details"])) for e in service.events())
        stats.append(
            (
                service.stats()["vessels"],
                service.stats()["positions"],
                service.archive.count(),
                events,
            )
        )
        service.close()
    assert stats[0] == stats[1]
    assert stats[0][0] == 60
