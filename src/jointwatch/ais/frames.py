"""``Frames``: the accepted sentences of one batch as columns over the batch's buffer.

Why spans and codes: a batch of 50,000 sentences as 50,000 bytes objects (and as many
strings for channels, sources and groups) costs more than framing them; offsets into the
one buffer and small integer codes cost nothing per sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Frames"]

_CHANNEL_NAME = np.array([""] * 256, dtype=object)
for _name in "AB12":
    _CHANNEL_NAME[ord(_name)] = _name


def _empty(dtype: type) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


@dataclass
class Frames:
    """Accepted sentences of one batch, column by column, plus rejection counts.

    Payloads are spans of ``buf`` (``payload_start``, ``payload_len``). TAG sources and
    group ids are numbered per batch: ``source_code`` indexes ``sources`` and
    ``group_code`` indexes ``groups`` (-1: the TAG block does not carry one); ``tag_time_s``
    is NaN without a believed TAG time. The list properties are for readers and tests; the
    hot path never builds them.
    """

    buf: np.ndarray = field(default_factory=lambda: _empty(np.uint8))
    payload_start: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    payload_len: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    fill_bits: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    frag_total: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    frag_num: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    seq_id: np.ndarray = field(default_factory=lambda: _empty(np.int16))
    channel_code: np.ndarray = field(default_factory=lambda: _empty(np.uint8))
    tag_time_s: np.ndarray = field(default_factory=lambda: _empty(np.float64))
    source_code: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    sources: list[str] = field(default_factory=list)
    group_code: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    groups: list[str] = field(default_factory=list)
    line_index: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    lines_read: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    #: Lines a block held that were longer than ``MAX_LINE_BYTES`` (dropped before framing,
    #: as a line splitter drops them; not in ``lines_read``).
    dropped_too_long: int = 0

    def __len__(self) -> int:
        return len(self.payload_start)

    @property
    def payload(self) -> list[bytes]:
        """Each payload as bytes."""
        return _spans(self.buf, self.payload_start, self.payload_len)

    @property
    def channel(self) -> list[str]:
        """Each radio channel ('' when the sentence leaves it empty)."""
        return list(_CHANNEL_NAME[self.channel_code])

    @property
    def tag_source(self) -> list[str | None]:
        """Each TAG ``s:`` source, or None."""
        return _named(self.source_code, self.sources)

    @property
    def tag_group(self) -> list[str | None]:
        """Each TAG ``g:`` group id, or None."""
        return _named(self.group_code, self.groups)


def _spans(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> list[bytes]:
    data = buf.tobytes()
    return [data[a : a + n] for a, n in zip(start.tolist(), length.tolist(), strict=True)]


def _named(codes: np.ndarray, names: list[str]) -> list[str | None]:
    table: list[str | None] = [*names, None]
    return [table[code] for code in codes.tolist()]
