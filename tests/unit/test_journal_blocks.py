"""The journal read in blocks (``journal_blocks.iter_journal_blocks``) gives exactly the
records ``journal.iter_journal`` gives: the same lines, receive times, sources and end
positions, whatever the journal holds and wherever the chunks fall."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jointwatch.journal import JournalPosition, JournalRecord, RawJournal, iter_journal
from jointwatch.journal_blocks import iter_journal_blocks

HOUR_S = 3600.0
T0 = 1_764_000_000.0

_line = st.one_of(
    st.just(b"!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26"),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")),
    st.just(b"with\ta tab"),  # a raw line keeps a tab after the first two
    st.just(b""),
)
_batch = st.tuples(
    st.floats(0.0, 3.0),  # seconds after the batch before
    st.sampled_from(["rx-a", "rx-b", "tcp:127.0.0.1:1", "ünï\tcode"]),
    st.lists(_line, min_size=1, max_size=6),
)
_garbage = st.sampled_from(
    [b"\n", b"no tabs at all\n", b"1764000000.0\tonly one tab\n", b"nan?\tsrc\tline\n"]
)


def _write(
    root: Path, batches: list[tuple[float, str, list[bytes]]], garbage: list[bytes], torn: bool
) -> None:
    journal = RawJournal(root)
    t = T0
    for index, (step, source, lines) in enumerate(batches):
        t += step
        if index == len(batches) // 2:
            t += HOUR_S  # a second hour file
        journal.append(lines, source, t)
        if garbage and index % 3 == 0:
            journal.append_records(garbage[index % len(garbage)], t)
    if torn:
        journal.append_records(b"%.3f\trx-a\t!AIVDM,1,1,,A,13aE" % t, t)  # cut by a crash
    journal.close()


def _as_tuples(records: list[JournalRecord]) -> list[tuple[object, ...]]:
    return [(r.rx_time_s, r.source, b"".join(x + b"\n" for x in r.lines), r.end) for r in records]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(_batch, min_size=1, max_size=25),
    garbage=st.lists(_garbage, max_size=3),
    torn=st.booleans(),
    batch_lines=st.integers(1, 12),
    chunk_bytes=st.integers(1, 300),
    data=st.data(),
)
def test_blocks_are_iter_journals_records(
    tmp_path_factory: pytest.TempPathFactory,
    batches: list[tuple[float, str, list[bytes]]],
    garbage: list[bytes],
    torn: bool,
    batch_lines: int,
    chunk_bytes: int,
    data: st.DataObject,
) -> None:
    root = tmp_path_factory.mktemp("journal")
    _write(root, batches, garbage, torn)
    expected = _as_tuples(list(iter_journal(root, batch_lines)))
    blocks = list(iter_journal_blocks(root, batch_lines, chunk_bytes=chunk_bytes))
    got = [(b.rx_time_s, b.source, b.data, b.end) for b in blocks]
    assert got == expected
    assert [b.lines for b in blocks] == [len(r.lines) for r in iter_journal(root, batch_lines)]
    # From a checkpoint: any record's end, as crash recovery starts there.
    if expected:
        after = data.draw(st.sampled_from([e[3] for e in expected]), label="after")
        tail = _as_tuples(list(iter_journal(root, batch_lines, after=after)))
        got_tail = list(
            iter_journal_blocks(root, batch_lines, after=after, chunk_bytes=chunk_bytes)
        )
        assert [(b.rx_time_s, b.source, b.data, b.end) for b in got_tail] == tail


def test_bytes_read_count_the_files_read_so_far(tmp_path: Path) -> None:
    _write(tmp_path, [(1.0, "rx-a", [b"x" * 10]), (1.0, "rx-a", [b"y" * 10])], [], False)
    files = sorted(tmp_path.glob("*/*.jnl"))
    assert len(files) == 2  # the second batch is an hour later
    blocks = list(iter_journal_blocks(tmp_path))
    assert [b.bytes_read for b in blocks] == [
        files[0].stat().st_size,
        files[0].stat().st_size + files[1].stat().st_size,
    ]
    assert blocks[-1].end == JournalPosition(
        files[1].relative_to(tmp_path).as_posix(), files[1].stat().st_size
    )


def test_a_missing_journal_has_no_records(tmp_path: Path) -> None:
    assert list(iter_journal_blocks(tmp_path / "none")) == []
