"""One batch of positions, sorted by vessel and joined to the vessels' carried state.

Why the "extended" view: every per-vessel detector compares a report with the one before
it (implied speed, gap, zone crossing) and sometimes the one before that (a duplicate
MMSI flips between two places). Putting each vessel's last two reports from earlier batches
in front of its new ones turns all of those into shifts within one sorted array, so a batch
is processed the same whether it holds one report or a day of them, and cutting a stream
into batches differently never changes the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from jointwatch.detect.state import NONE_T, VesselState
from jointwatch.picture.columns import stable_order

__all__ = ["BatchInput", "ExtBatch", "build_batch", "group_prefix_max"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
B = NDArray[np.bool_]


def _floats(table: pa.Table, name: str) -> F64:
    col = pc.cast(table.column(name), pa.float64())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def group_prefix_max(group: I64, values: I64) -> I64:
    """Running maximum of ``values`` within each run of equal ``group`` (sorted groups)."""
    if len(values) == 0:
        return values.copy()
    if bool(np.all((values[1:] >= values[:-1]) | (group[1:] != group[:-1]))):
        return values.copy()  # already rising within each group, the usual case: no sort
    ranks = np.unique(values, return_inverse=True)[1].astype(np.int64)
    span = int(ranks.max()) + 1
    gid = np.cumsum(np.r_[0, group[1:] != group[:-1]]).astype(np.int64)
    running = np.maximum.accumulate(gid * span + ranks) - gid * span
    return np.asarray(np.sort(np.unique(values)), dtype=np.int64)[running]


@dataclass
class BatchInput:
    """The batch's columns as read (arrival order) and its rows by vessel, arrival order
    within a vessel: the pairwise detectors take these rather than read and sort again."""

    m: I64
    t: I64
    lat: F64
    lon: F64
    sog: F64
    msg_type: I64
    by_vessel: I64


@dataclass
class ExtBatch:
    """Reports of one batch (``real``) after each vessel's last two earlier reports."""

    m: I64
    t: I64
    lat: F64
    lon: F64
    sog: F64
    msg_type: I64
    real: B
    srow: I64  # the vessel's row in VesselState
    prev: I64  # index of the previous report of the same vessel, or -1
    group_last: B  # last row of its vessel in this batch
    state_last: B  # the vessel's newest report from earlier batches
    rejected_stale: int  # reports not newer than the vessel's newest: dropped
    input: BatchInput

    def __len__(self) -> int:
        return len(self.m)

    def prev_of(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """``values`` of each row's previous report (NaN where there is none)."""
        out = np.full(len(values), np.nan)
        has = self.prev >= 0
        out[has] = values[self.prev[has]]
        return out


def _ext_order(pg: I64, lg: I64, kg: I64, n_groups: int) -> I64:
    """The order that brings each vessel's earlier, last and new reports together.

    The rows to order are the vessels' earlier reports (vessels ``pg``), their last reports
    (``lg``) and the new reports (``kg``), concatenated in that order. Each part is already
    sorted by vessel, so every row's place follows from counts: the order of a lexsort on
    (vessel, part, arrival), without sorting.
    """
    has_p = np.bincount(pg, minlength=n_groups)
    has_l = np.bincount(lg, minlength=n_groups)
    per_new = np.bincount(kg, minlength=n_groups)
    size = has_p + has_l + per_new
    start = np.cumsum(size) - size
    rank = np.arange(len(kg)) - (np.cumsum(per_new) - per_new)[kg]  # among its vessel's new
    dest = np.concatenate((start[pg], start[lg] + has_p[lg], (start + has_p + has_l)[kg] + rank))
    order = np.empty(len(dest), np.int64)
    order[dest] = np.arange(len(dest))
    return order


def build_batch(positions: pa.Table, state: VesselState) -> ExtBatch:
    """Sort a batch by vessel (arrival order within a vessel), drop stale reports, join state."""
    m_all = np.asarray(positions.column("mmsi").to_numpy(), dtype=np.int64)
    t_all = np.asarray(pc.cast(positions.column("time"), pa.int64()).to_numpy(), dtype=np.int64)
    order = stable_order(m_all)
    sm, st = m_all[order], t_all[order]
    first = np.flatnonzero(np.r_[True, sm[1:] != sm[:-1]]) if len(sm) else np.zeros(0, np.int64)
    uniq = sm[first]  # already sorted: no second sort by np.unique
    srows = state.rows_for(uniq)
    group = np.repeat(np.arange(len(uniq)), np.diff(np.r_[first, len(sm)]))
    base = state["last_t"][srows][group]
    # A report must be newer than everything its vessel reported before it.
    prior = np.r_[NONE_T, group_prefix_max(group, st)[:-1]] if len(st) else st
    new_group = np.r_[True, group[1:] != group[:-1]] if len(st) else np.zeros(0, bool)
    prior = np.where(new_group, NONE_T, prior)
    keep = st > np.maximum(base, prior)
    idx = order[keep]
    kg = group[keep]

    lat_all, lon_all = _floats(positions, "lat"), _floats(positions, "lon")
    sog_all = _floats(positions, "sog_kn")
    mt_all = np.asarray(
        pc.fill_null(positions.column("msg_type"), 0).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )

    s_last = state["last_t"][srows] != NONE_T
    s_prev = state["prev_t"][srows] != NONE_T
    gids = np.arange(len(uniq))
    pg, lg = gids[s_prev], gids[s_last]
    n_real = len(idx)
    groups = np.concatenate((pg, lg, kg))
    ext_order = _ext_order(pg, lg, kg, len(uniq))
    g = groups[ext_order]

    def col(prev_vals: NDArray, last_vals: NDArray, real_vals: NDArray) -> NDArray:
        return np.concatenate((prev_vals, last_vals, real_vals))[ext_order]

    sr_p, sr_l = srows[pg], srows[lg]
    m = uniq[g]
    t = col(state["prev_t"][sr_p], state["last_t"][sr_l], t_all[idx])
    lat = col(state["prev_lat"][sr_p], state["last_lat"][sr_l], lat_all[idx])
    lon = col(state["prev_lon"][sr_p], state["last_lon"][sr_l], lon_all[idx])
    sog = col(np.full(len(pg), np.nan), state["last_sog"][sr_l], sog_all[idx])
    msg_type = col(np.zeros(len(pg), np.int64), np.zeros(len(lg), np.int64), mt_all[idx])
    real = col(np.zeros(len(pg), bool), np.zeros(len(lg), bool), np.ones(n_real, bool))
    same_prev = np.r_[False, g[1:] == g[:-1]] if len(g) else np.zeros(0, bool)
    prev = np.where(same_prev, np.arange(len(g)) - 1, -1)
    group_last = np.r_[g[1:] != g[:-1], True] if len(g) else np.zeros(0, bool)
    return ExtBatch(
        m=m,
        t=t,
        lat=lat,
        lon=lon,
        sog=sog,
        msg_type=msg_type,
        real=real,
        srow=srows[g],
        prev=prev,
        group_last=group_last,
        state_last=col(np.zeros(len(pg), bool), np.ones(len(lg), bool), np.zeros(n_real, bool)),
        rejected_stale=int(len(st) - n_real),
        input=BatchInput(m_all, t_all, lat_all, lon_all, sog_all, mt_all, order),
    )
