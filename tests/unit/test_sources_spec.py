"""Source specs: what users may type, and the errors they get for what they may not."""

from __future__ import annotations

from pathlib import Path

import pytest

from jointwatch.errors import JointWatchError, SourceError
from jointwatch.sources import DEFAULT_LISTEN_HOST, open_source, parse_source


def test_stdin_and_network_specs_parse() -> None:
    assert parse_source("-").kind == "stdin"
    tcp = parse_source("tcp://10.0.0.5:10110")
    assert (tcp.kind, tcp.host, tcp.port, tcp.name) == (
        "tcp",
        "10.0.0.5",
        10110,
        "tcp:10.0.0.5:10110",
    )
    listen = parse_source("tcp-listen://:10110")
    assert (listen.kind, listen.host, listen.port) == ("tcp-listen", DEFAULT_LISTEN_HOST, 10110)
    assert parse_source("tcp-listen://0.0.0.0:4000").host == "0.0.0.0"
    udp = parse_source("udp://:10111")
    assert (udp.kind, udp.host, udp.port) == ("udp", "127.0.0.1", 10111)
    assert parse_source("udp://[::1]:10111").host == "::1"


def test_listen_sources_bind_loopback_by_default() -> None:
    assert DEFAULT_LISTEN_HOST == "127.0.0.1"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("http://host:80", "unknown source scheme"),
        ("tcp://host:99999", "bad port"),
        ("tcp://host:abc", "bad port"),
        ("tcp://host", "needs a port"),
        ("tcp://:10110", "needs the receiver's host"),
        ("udp://:0", "needs a port"),
        ("tcp-listen://:10110/path", "unexpected path"),
        ("/no/such/capture.nmea", "no such file"),
        ("", "empty source"),
    ],
)
def test_bad_specs_raise_source_error_saying_what_is_wrong(spec: str, words: str) -> None:
    with pytest.raises(SourceError, match=words) as info:
        parse_source(spec)
    assert isinstance(info.value, JointWatchError)


def test_files_and_csv_archives_are_told_apart(tmp_path: Path) -> None:
    nmea = tmp_path / "day.log"
    nmea.write_text("x\n")
    csv = tmp_path / "AIS_2023_01_01.csv.gz"
    csv.write_bytes(b"")
    assert parse_source(str(nmea)).kind == "file"
    assert parse_source(str(nmea)).name == "day.log"
    assert parse_source(str(csv)).kind == "csv"
    with pytest.raises(SourceError, match="not a regular file"):
        parse_source(str(tmp_path))


def test_open_source_refuses_csv_with_a_pointer_to_ingest(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text("MMSI\n")
    with pytest.raises(SourceError, match="jointwatch ingest"):
        open_source(str(csv))
