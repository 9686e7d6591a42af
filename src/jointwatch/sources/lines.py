"""Raw lines out of byte streams, with a hard cap on line length.

Why the cap (SECURITY.md rule 6): a sender that never writes a newline must not make us
buffer without bound. A line longer than ``MAX_LINE_BYTES`` can never be valid NMEA (82
characters plus a TAG block), so it is dropped and counted, and we resynchronise on the next
newline without holding the oversized bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_LINE_BYTES", "LineBatch", "LineSplitter", "SourceStats", "split_datagram"]

#: Longest line accepted (after removing the line ending), in bytes.
MAX_LINE_BYTES = 1024


@dataclass
class LineBatch:
    """Lines read from one source, handed to the pipeline together.

    ``bytes_read`` is cumulative for the source: for a file it is the position in the file on
    disk (compressed bytes for gzip), so a progress bar can compare it with the file size.
    """

    lines: list[bytes]
    source: str
    rx_time_s: float
    bytes_read: int


@dataclass
class SourceStats:
    """Counters of one opened source (all its connections together)."""

    lines: int = 0
    bytes: int = 0
    dropped_too_long: int = 0
    connections: int = 0
    dropped_overload: int = 0


class LineSplitter:
    """Splits a byte stream into lines, carrying partial lines between reads."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self.dropped_too_long = 0
        self._partial = b""
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes]:
        """Complete lines in ``data`` plus what was carried over; empty lines are skipped."""
        if self._skipping:
            newline = data.find(b"\n")
            if newline < 0:
                return []
            data = data[newline + 1 :]
            self._skipping = False
        parts = (self._partial + data).split(b"\n") if self._partial else data.split(b"\n")
        self._partial = parts.pop()
        if len(self._partial) > self.max_line_bytes:
            self.dropped_too_long += 1
            self._partial = b""
            self._skipping = True
        return self._keep(parts)

    def finish(self) -> list[bytes]:
        """Return the last line if the stream ended without a newline."""
        rest, self._partial = self._partial, b""
        return self._keep([rest]) if rest else []

    def _keep(self, parts: list[bytes]) -> list[bytes]:
        cap = self.max_line_bytes
        lines = [p[:-1] if p.endswith(b"\r") else p for p in parts]
        kept = [line for line in lines if line and len(line) <= cap]
        too_long = sum(1 for line in lines if len(line) > cap)
        self.dropped_too_long += too_long
        return kept


def split_datagram(data: bytes, max_line_bytes: int = MAX_LINE_BYTES) -> tuple[list[bytes], int]:
    """Lines of one UDP datagram (its end ends the last line) and how many were too long."""
    splitter = LineSplitter(max_line_bytes)
    lines = splitter.feed(data) + splitter.finish()
    return lines, splitter.dropped_too_long
