"""Progress lines for output that is not a terminal (``jointwatch.progress.LogProgress``)."""

from __future__ import annotations

import io

from rich.console import Console

from jointwatch.progress import LogProgress


def _console(out: io.StringIO) -> Console:
    console = Console(file=out, width=80)
    assert not console.is_terminal
    return console


def test_a_line_every_interval_and_one_at_the_end() -> None:
    out = io.StringIO()
    now = [0.0]
    with LogProgress(_console(out), every_s=10.0, clock=lambda: now[0]) as progress:
        task = progress.add_task("day.nmea", total=10_000_000_000, lines=0, rate=0.0)
        for second in range(1, 26):  # an update a second for 25 s
            now[0] = float(second)
            progress.update(
                task, completed=second * 400_000_000, lines=second * 5_000_000, rate=5e6
            )
    lines = out.getvalue().splitlines()
    assert lines == [
        "day.nmea: 40% of 10.0 GB, 50,000,000 lines, 5,000,000 sentences/s, 0:10 elapsed",
        "day.nmea: 80% of 10.0 GB, 100,000,000 lines, 5,000,000 sentences/s, 0:20 elapsed",
        "day.nmea: 100% of 10.0 GB, 125,000,000 lines, 5,000,000 sentences/s, 0:25 elapsed",
    ]


def test_a_stream_has_no_size_and_markup_is_printed_as_is() -> None:
    out = io.StringIO()
    with LogProgress(_console(out), clock=lambda: 0.0) as progress:
        progress.add_task("tcp://[::1]:10110 [bold]", total=None)
    assert out.getvalue() == ("tcp://[::1]:10110 [bold]: 0 lines, 0 sentences/s, 0:00 elapsed\n")


def test_sizes() -> None:
    from jointwatch.progress import _size

    assert [_size(n) for n in (512, 1_500, 76_922_820, 9_999_966_600)] == [
        "512 B",
        "1.5 kB",
        "76.9 MB",
        "10.0 GB",
    ]
