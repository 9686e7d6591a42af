"""The table of recently heard messages, decided message by message in a compiled loop.

Meaning (pinned by ``tests/unit/test_ais_framing_fast_dedupe.py``): message by message, a
message whose key was remembered at a time within the window of its own is a duplicate; any
other is fresh and (re)inserted last with its time. After each batch, and on flush,
remembered keys are dropped from the oldest inserted on, up to the first one heard at or
after the cutoff once no more than the cap are left.

Why this shape: the meaning is an insertion-ordered dictionary, but a Python ``dict`` needs
a Python ``int`` per message. Here the insertion order is a log (key, time, live) and a hash
index of open addressing points into it; a refreshed key leaves a dead entry behind in the
log, and forgetting walks the log from its head. The log is compacted, and the index
rebuilt, between batches when they fill up, so memory stays proportional to the live keys.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["RecentKeys"]

_jit = nb.njit(cache=True, nogil=True, boundscheck=False)
_EMPTY, _TOMB = -1, -2
# state: head, tail (of the log), live entries, used index slots (live and tombstones)
_HEAD, _TAIL, _LIVE, _USED = range(4)


@_jit
def _probe(slots: np.ndarray, log_keys: np.ndarray, key: int) -> tuple[int, int]:
    """(slot holding ``key`` or -1, slot where it would be inserted)."""
    mask = len(slots) - 1
    s = key & mask
    insert = -1
    while True:
        pos = slots[s]
        if pos == _EMPTY:
            return -1, (s if insert < 0 else insert)
        if pos == _TOMB:
            if insert < 0:
                insert = s
        elif log_keys[pos] == key:
            return s, s
        s = (s + 1) & mask


@_jit
def _fresh(
    keys: np.ndarray,
    times: np.ndarray,
    window: float,
    log_keys: np.ndarray,
    log_times: np.ndarray,
    live: np.ndarray,
    slots: np.ndarray,
    state: np.ndarray,
    latest: float,
    fresh: np.ndarray,
) -> tuple[int, float]:
    """Decide a batch in order; returns (fresh messages, latest fresh time)."""
    n_fresh = 0
    tail = state[_TAIL]
    for i in range(len(keys)):
        key = keys[i]
        t = times[i]
        found, insert = _probe(slots, log_keys, key)
        if found >= 0:
            pos = slots[found]
            if abs(t - log_times[pos]) <= window:
                continue
            live[pos] = False  # heard again outside the window: moves to the end
            state[_LIVE] -= 1
        elif slots[insert] == _EMPTY:
            state[_USED] += 1
        slots[insert] = tail
        log_keys[tail] = key
        log_times[tail] = t
        live[tail] = True
        tail += 1
        state[_LIVE] += 1
        fresh[n_fresh] = i
        n_fresh += 1
        if t > latest:
            latest = t
    state[_TAIL] = tail
    return n_fresh, latest


@_jit
def _forget(
    cutoff: float,
    cap: int,
    log_keys: np.ndarray,
    log_times: np.ndarray,
    live: np.ndarray,
    slots: np.ndarray,
    state: np.ndarray,
) -> None:
    head = state[_HEAD]
    while head < state[_TAIL]:
        if live[head]:
            if log_times[head] >= cutoff and state[_LIVE] <= cap:
                break
            found, _ = _probe(slots, log_keys, log_keys[head])
            slots[found] = _TOMB
            live[head] = False
            state[_LIVE] -= 1
        head += 1
    state[_HEAD] = head


@_jit
def _index(log_keys: np.ndarray, n: int, slots: np.ndarray) -> None:
    """Point a fresh index at the first ``n`` log entries (all live)."""
    mask = len(slots) - 1
    for pos in range(n):
        s = log_keys[pos] & mask
        while slots[s] != _EMPTY:
            s = (s + 1) & mask
        slots[s] = pos


class RecentKeys:
    """Keys (int64) heard recently, with the time each was (re)inserted."""

    def __init__(self, initial: int = 1024) -> None:
        # ``initial`` only sizes the first arrays (tests start tiny to compact often).
        self._min = max(1, initial)
        self._keys = np.zeros(self._min, dtype=np.int64)
        self._times = np.zeros(self._min, dtype=np.float64)
        self._live = np.zeros(self._min, dtype=np.bool_)
        self._slots = np.full(_pow2(4 * self._min), _EMPTY, dtype=np.int64)
        self._state = np.zeros(4, dtype=np.int64)
        self.latest_s = -np.inf

    def items(self) -> list[tuple[int, float]]:
        """(key, time) of every remembered key, oldest inserted first (for tests)."""
        head, tail = int(self._state[_HEAD]), int(self._state[_TAIL])
        live = self._live[head:tail]
        keys = self._keys[head:tail][live].tolist()
        return list(zip(keys, self._times[head:tail][live].tolist(), strict=True))

    def fresh(self, keys: np.ndarray, times: np.ndarray, window: float, cap: int) -> np.ndarray:
        """Indices of the messages not heard within the window (see the module docstring);
        then forgets what lies before the newest time minus the window, or over the cap."""
        n = len(keys)
        self._make_room(n)
        out = np.empty(n, dtype=np.int64)
        n_fresh, self.latest_s = _fresh(
            np.ascontiguousarray(keys, dtype=np.int64),
            np.ascontiguousarray(times, dtype=np.float64),
            float(window),
            self._keys,
            self._times,
            self._live,
            self._slots,
            self._state,
            float(self.latest_s),
            out,
        )
        self.forget(self.latest_s - window, cap)
        return out[:n_fresh]

    def forget(self, cutoff_s: float, cap: int) -> None:
        """Drop keys from the oldest inserted on, up to the first at or after ``cutoff_s``
        once no more than ``cap`` are left."""
        _forget(
            float(cutoff_s), int(cap), self._keys, self._times, self._live, self._slots, self._state
        )

    def _make_room(self, n: int) -> None:
        """Room for ``n`` more entries in the log, and an index under half full after."""
        head, tail, live, used = (int(v) for v in self._state)
        log_full = tail + n > len(self._keys)
        index_full = 2 * (used + n) > len(self._slots)
        if not (log_full or index_full):
            return
        keep = head + np.flatnonzero(self._live[head:tail])
        size = max(self._min, 2 * (live + n))
        keys, times = np.zeros(size, np.int64), np.zeros(size, np.float64)
        keys[:live], times[:live] = self._keys[keep], self._times[keep]
        self._keys, self._times = keys, times
        self._live = np.zeros(size, dtype=np.bool_)
        self._live[:live] = True
        self._slots = np.full(_pow2(4 * max(self._min, live + n)), _EMPTY, dtype=np.int64)
        _index(self._keys, live, self._slots)
        self._state[:] = (0, live, live, live)


def _pow2(n: int) -> int:
    size = 1
    while size < n:
        size *= 2
    return size
