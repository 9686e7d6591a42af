"""Compiled copies of spans of a batch's buffer: joined multi-part payloads, a batch's
messages merged in row order, a block's journal records.

Why compiled: each is one pass that NumPy would make as several (a gather per column, a
concatenation, a reorder), and the copies run without the GIL. ``cache=True`` as in
``kernels``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["gather", "gather_records", "merge_messages"]

_jit = nb.njit(cache=True, nogil=True, boundscheck=False)


@_jit
def gather(buf: np.ndarray, start: np.ndarray, length: np.ndarray, out: np.ndarray) -> None:
    """Copy the spans one after another into ``out`` (the parts of messages, joined)."""
    at = 0
    for i in range(len(start)):
        size = length[i]
        out[at : at + size] = buf[start[i] : start[i] + size]
        at += size


@_jit
def merge_messages(
    order: np.ndarray,
    single: np.ndarray,
    f_start: np.ndarray,
    f_len: np.ndarray,
    f_fill: np.ndarray,
    f_time: np.ndarray,
    f_code: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    fill: np.ndarray,
    time_s: np.ndarray,
    code: np.ndarray,
) -> tuple:
    """A batch's messages in the order ``order``: index ``j`` below ``len(single)`` is
    the frame row ``single[j]`` taken as it is, any other the ``j - len(single)``-th message
    of the given columns (joined or walked). Returns start, length, fill, time and source
    code columns (int64 but the time)."""
    n = len(order)
    n_single = len(single)
    out_start = np.empty(n, dtype=np.int64)
    out_len = np.empty(n, dtype=np.int64)
    out_fill = np.empty(n, dtype=np.int64)
    out_time = np.empty(n, dtype=np.float64)
    out_code = np.empty(n, dtype=np.int64)
    for k in range(n):
        j = order[k]
        if j < n_single:
            r = single[j]
            out_start[k] = f_start[r]
            out_len[k] = f_len[r]
            out_fill[k] = f_fill[r]
            out_time[k] = f_time[r]
            out_code[k] = f_code[r]
        else:
            m = j - n_single
            out_start[k] = start[m]
            out_len[k] = length[m]
            out_fill[k] = fill[m]
            out_time[k] = time_s[m]
            out_code[k] = code[m]
    return out_start, out_len, out_fill, out_time, out_code


@_jit
def gather_records(
    buf: np.ndarray, start: np.ndarray, length: np.ndarray, prefix: np.ndarray, out: np.ndarray
) -> None:
    """Each span as one record ``prefix + span + '\\n'``, one after another in ``out``
    (sized to fit): a block's journal records, built without holding the GIL."""
    at = 0
    n_prefix = len(prefix)
    for i in range(len(start)):
        out[at : at + n_prefix] = prefix
        at += n_prefix
        size = length[i]
        out[at : at + size] = buf[start[i] : start[i] + size]
        at += size
        out[at] = 10
        at += 1
