"""The vessel picture: latest position and static data of every vessel a node has heard.

Why columnar: the map asks "which vessels are in this box" many times a second while ingest
updates thousands of vessels a second. State lives in NumPy arrays indexed by a slot per
MMSI, so a batch updates with a few fancy-indexed assignments and an area query is one
vectorised mask. Python work happens per vessel (slot lookup, building the JSON the API
returns), never per position report.

Not thread-safe on its own: the ingest service serialises access with its lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jointwatch.picture.columns import (
    NO_TIME,
    by_vessel,
    float_array,
    int_array,
    newest_rows,
    newest_valid,
    objects,
)
from jointwatch.picture.mid import flag_for_mmsi
from jointwatch.picture.shiptypes import ship_type_text, type_group
from jointwatch.picture.values import flag_alpha3, iso_ms, micros_of, opt_float, opt_int
from jointwatch.store.rows import ColumnRows, optional_floats, optional_ints

__all__ = ["VesselPicture", "ship_type_text", "type_group"]

# Static field in the picture <- column of STATIC_SCHEMA.
_STATIC_FIELDS: dict[str, str] = {
    "name": "shipname",
    "callsign": "callsign",
    "imo": "imo",
    "ship_type": "ship_type",
    "length_m": "length_m",
    "beam_m": "beam_m",
    "draught_m": "draught_m",
    "destination": "destination",
    "ais_class": "ais_class",
}
_CLASS_A_POSITION = (1, 2, 3)
_CLASS_B_POSITION = (18, 19)
# Column name -> (dtype, value meaning "none").
_COLUMNS: dict[str, tuple[Any, Any]] = {
    "mmsi": (np.int64, 0),
    "lat": (np.float64, np.nan),
    "lon": (np.float64, np.nan),
    "sog_kn": (np.float32, np.nan),
    "cog_deg": (np.float32, np.nan),
    "heading_deg": (np.int16, -1),
    "nav_status": (np.int8, -1),
    "msg_type": (np.int8, 0),
    "time_us": (np.int64, NO_TIME),
    "source": (object, None),
    "positions": (np.int64, 0),
    "dirty": (np.bool_, False),
    **{name: (object, None) for name in _STATIC_FIELDS},
    **{f"{name}__time_us": (np.int64, NO_TIME) for name in _STATIC_FIELDS},
}


def _strings(column: pa.ChunkedArray) -> np.ndarray:
    """A text column of few distinct values (receivers) as an object array: each distinct
    string made once, not once a row (to_pylist made one per row: 13 ms over B2's blocks)."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    names = objects([*encoded.dictionary.to_pylist(), None])
    index = encoded.indices.fill_null(len(encoded.dictionary))
    return names[index.to_numpy(zero_copy_only=False)]


class VesselPicture:
    """Latest state and static data per MMSI, kept in memory and persisted by the store."""

    def __init__(self, capacity: int = 1024) -> None:
        self._index: dict[int, int] = {}
        self._n = 0
        # The known MMSIs sorted, and each one's slot, for ``_slots``.
        self._sorted = np.zeros(0, dtype=np.int64)
        self._sorted_slots = np.zeros(0, dtype=np.int64)
        self._cols: dict[str, np.ndarray] = {
            name: np.full(max(capacity, 1), fill, dtype=dtype)
            for name, (dtype, fill) in _COLUMNS.items()
        }

    def __len__(self) -> int:
        return self._n

    def __contains__(self, mmsi: object) -> bool:
        return mmsi in self._index

    def mmsis(self) -> list[int]:
        """Every MMSI in the picture, in the order first heard."""
        return [int(m) for m in self._cols["mmsi"][: self._n]]

    # ---- updates --------------------------------------------------------------------

    def apply(self, positions: pa.Table, static: pa.Table) -> set[int]:
        """Merge a batch; return the MMSIs whose position or static data changed.

        A position replaces the stored one only when it is newer, so late or replayed data
        never moves a ship backwards; it still counts towards the vessel's ``positions``.
        Static fields merge one by one, the newest non-null value winning, so type 24 part
        A (name) and part B (type, call sign, size) complete each other.
        """
        changed: set[int] = set()
        if positions.num_rows:
            changed |= self._apply_positions(positions)
        if static.num_rows:
            changed |= self._apply_static(static)
        return changed

    def _apply_positions(self, positions: pa.Table) -> set[int]:
        groups, mmsi, time_us, timed = by_vessel(positions)
        newest = newest_rows(groups, len(mmsi), time_us, timed)
        slots = self._slots_in_order(mmsi, np.argsort(mmsi))  # new vessels in MMSI order
        cols = self._cols
        cols["positions"][slots] += np.bincount(groups, minlength=len(mmsi))
        cols["dirty"][slots] = True
        time_us = time_us[newest]
        newer = time_us > cols["time_us"][slots]
        if not newer.any():
            return set()
        fresh = slots[newer]
        time_us = time_us[newer]
        # Only the rows that win are converted: a few thousand of a batch's tens of thousands.
        latest = positions.take(pa.array(newest[newer]))
        cols["time_us"][fresh] = time_us
        cols["lat"][fresh] = float_array(latest.column("lat"))
        cols["lon"][fresh] = float_array(latest.column("lon"))
        cols["sog_kn"][fresh] = float_array(latest.column("sog_kn"))
        cols["cog_deg"][fresh] = float_array(latest.column("cog_deg"))
        cols["heading_deg"][fresh] = int_array(latest.column("heading_deg"), -1)
        cols["nav_status"][fresh] = int_array(latest.column("nav_status"), -1)
        msg_type = int_array(latest.column("msg_type"), 0)
        cols["msg_type"][fresh] = msg_type
        cols["source"][fresh] = _strings(latest.column("source"))
        # A class A or B position report says which transceiver the vessel carries.
        ais_class = np.full(len(msg_type), None, dtype=object)
        ais_class[np.isin(msg_type, _CLASS_A_POSITION)] = "A"
        ais_class[np.isin(msg_type, _CLASS_B_POSITION)] = "B"
        known = ais_class != None  # noqa: E711 - elementwise on an object array
        self._set_static(fresh[known], "ais_class", ais_class[known], time_us[known])
        return set(mmsi[newer].tolist())

    def _apply_static(self, static: pa.Table) -> set[int]:
        """Merge each static field: per vessel, its newest non-null value if not older.

        The batch is grouped by MMSI once for all fields, and only the winning values become
        Python objects.
        """
        groups, mmsi, time_us, timed = by_vessel(static)
        newest = {  # field -> row of each vessel's newest non-null value (-1: none)
            name: newest_valid(static.column(column), groups, len(mmsi), time_us, timed)
            for name, column in _STATIC_FIELDS.items()
        }
        # A vessel new to the picture gets its slot with the first field it has a value for,
        # in MMSI order within a field: the order the field-by-field merge gave them before.
        has = np.array([rows >= 0 for rows in newest.values()])
        heard = np.flatnonzero(has.any(axis=0))
        first = has.argmax(axis=0)[heard]
        slots = np.full(len(mmsi), -1, dtype=np.int64)
        slots[heard] = self._slots_in_order(mmsi[heard], np.lexsort((mmsi[heard], first)))
        changed: set[int] = set()
        for name, found in newest.items():
            vessels = np.flatnonzero(found >= 0)
            rows = found[vessels]
            newer = time_us[rows] >= self._cols[f"{name}__time_us"][slots[vessels]]
            vessels, rows = vessels[newer], rows[newer]
            values = static.column(_STATIC_FIELDS[name]).take(pa.array(rows))
            if pa.types.is_floating(values.type):
                # Sizes are whole metres and draught tenths: drop float32 noise (5.300000190...).
                values = pc.round(values.cast(pa.float64()), 2)
            values_py = objects(values.to_pylist())
            differs = self._set_static(slots[vessels], name, values_py, time_us[rows])
            changed.update(mmsi[vessels[differs]].tolist())
        return changed

    def _set_static(
        self, slots: np.ndarray, name: str, values: np.ndarray, time_us: np.ndarray
    ) -> np.ndarray:
        """Store values not older than what is held; return the mask of changed slots."""
        cols = self._cols
        field_time = cols[f"{name}__time_us"]
        newer = time_us >= field_time[slots]
        fresh = slots[newer]
        field_time[fresh] = time_us[newer]
        differs = np.zeros(len(slots), dtype=bool)
        differs[newer] = cols[name][fresh] != values[newer]
        cols[name][slots[differs]] = values[differs]
        cols["dirty"][slots[differs]] = True
        return differs

    def _slots_in_order(self, mmsis: np.ndarray, order: np.ndarray) -> np.ndarray:
        """Slot of each (unique) MMSI; vessels not yet seen get theirs in ``order``."""
        slots = np.empty(len(mmsis), dtype=np.int64)
        slots[order] = self._slots(mmsis[order])
        return slots

    def _slots(self, mmsis: np.ndarray) -> np.ndarray:
        """Slot of each (unique) MMSI, allocating slots for vessels not yet seen, in order.

        Why a sorted array beside the dict: a batch names thousands of vessels, and a dict
        lookup each was the picture's largest single cost per batch (13 of 87 ms over the
        B2 corpus); a binary search over the sorted MMSIs does them all in compiled code."""
        mmsis = np.asarray(mmsis, dtype=np.int64)
        slots = self._known_slots(mmsis)
        missing = slots < 0
        if missing.any():
            new = mmsis[missing]
            self._reserve(self._n + len(new))
            first = self._n
            self._index.update(zip(new.tolist(), range(first, first + len(new)), strict=True))
            self._n += len(new)
            self._cols["mmsi"][first : self._n] = new
            added = np.arange(first, self._n, dtype=np.int64)
            slots[missing] = added
            order = np.argsort(new)
            at = np.searchsorted(self._sorted, new[order])
            self._sorted = np.insert(self._sorted, at, new[order])
            self._sorted_slots = np.insert(self._sorted_slots, at, added[order])
        return slots

    def _known_slots(self, mmsis: np.ndarray) -> np.ndarray:
        """Slot of each MMSI already in the picture, -1 for the others."""
        if not self._n:
            return np.full(len(mmsis), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted, mmsis), self._n - 1)
        return np.where(self._sorted[at] == mmsis, self._sorted_slots[at], -1)

    def _reserve(self, size: int) -> None:
        capacity = len(self._cols["mmsi"])
        if size <= capacity:
            return
        while capacity < size:
            capacity *= 2
        for name, (dtype, fill) in _COLUMNS.items():
            grown = np.full(capacity, fill, dtype=dtype)
            grown[: self._n] = self._cols[name][: self._n]
            self._cols[name] = grown

    # ---- queries --------------------------------------------------------------------

    def get(self, mmsi: int) -> dict[str, Any] | None:
        """Everything known about one vessel (the detail panel), or None."""
        slot = self._index.get(mmsi)
        if slot is None:
            return None
        c = self._cols
        ship_type = c["ship_type"][slot]
        flag = flag_for_mmsi(mmsi)
        return {
            "mmsi": mmsi,
            "name": c["name"][slot],
            "callsign": c["callsign"][slot],
            "imo": c["imo"][slot],
            "ship_type": ship_type,
            "ship_type_text": ship_type_text(ship_type),
            "type_group": type_group(ship_type),
            "length_m": c["length_m"][slot],
            "beam_m": c["beam_m"][slot],
            "draught_m": c["draught_m"][slot],
            "destination": c["destination"][slot],
            "ais_class": c["ais_class"][slot],
            "flag": flag.alpha3 if flag else None,
            "flag_name": flag.name if flag else None,
            **self._state_at(slot),
            "source": c["source"][slot],
            "positions": int(c["positions"][slot]),
        }

    def summary(self, mmsi: int) -> dict[str, Any] | None:
        """The map's view of one vessel, or None."""
        slot = self._index.get(mmsi)
        return None if slot is None else self._summary_at(slot)

    def summaries(self, mmsis: Iterable[int]) -> list[dict[str, Any]]:
        """Map summaries of the given vessels; MMSIs not in the picture are skipped."""
        get = self._index.get
        return [self._summary_at(slot) for m in mmsis if (slot := get(m)) is not None]

    def in_bbox(
        self, min_lon: float, min_lat: float, max_lon: float, max_lat: float, limit: int = 5000
    ) -> list[dict[str, Any]]:
        """Vessels whose last position is in the box, most recently heard first.

        ``min_lon > max_lon`` means the box crosses the antimeridian (e.g. 170 to -170).
        """
        n = self._n
        lat = self._cols["lat"][:n]
        lon = self._cols["lon"][:n]
        mask = (lat >= min_lat) & (lat <= max_lat)  # NaN (no position yet) is never inside
        if min_lon <= max_lon:
            mask &= (lon >= min_lon) & (lon <= max_lon)
        else:
            mask &= (lon >= min_lon) | (lon <= max_lon)
        slots = np.flatnonzero(mask)
        if limit <= 0:
            return []
        recent_first = np.argsort(-self._cols["time_us"][slots], kind="stable")[:limit]
        return [self._summary_at(int(slot)) for slot in slots[recent_first]]

    def _summary_at(self, slot: int) -> dict[str, Any]:
        c = self._cols
        mmsi = int(c["mmsi"][slot])
        flag = flag_for_mmsi(mmsi)
        state = self._state_at(slot)
        return {
            "mmsi": mmsi,
            "name": c["name"][slot],
            "lat": state["lat"],
            "lon": state["lon"],
            "sog_kn": state["sog_kn"],
            "cog_deg": state["cog_deg"],
            "heading_deg": state["heading_deg"],
            "type_group": type_group(c["ship_type"][slot]),
            "flag": flag.alpha3 if flag else None,
            "time": state["time"],
            "ais_class": c["ais_class"][slot],
        }

    def _state_at(self, slot: int) -> dict[str, Any]:
        c = self._cols
        time_us = int(c["time_us"][slot])
        return {
            "lat": opt_float(c["lat"][slot], 6),
            "lon": opt_float(c["lon"][slot], 6),
            "sog_kn": opt_float(c["sog_kn"][slot], 1),
            "cog_deg": opt_float(c["cog_deg"][slot], 1),
            "heading_deg": opt_int(c["heading_deg"][slot]),
            "nav_status": opt_int(c["nav_status"][slot]),
            "time": None if time_us == NO_TIME else iso_ms(time_us),
        }

    # ---- persistence ----------------------------------------------------------------

    def dirty_rows(self) -> ColumnRows:
        """Vessels changed since ``clear_dirty``, as rows of the store's ``vessels`` table.

        Built as columns: the store writes columns, and a dict per vessel cost more than that.
        """
        c = self._cols
        slots = np.flatnonzero(c["dirty"][: self._n])
        mmsi = c["mmsi"][slots]
        ship_type = c["ship_type"][slots].tolist()
        groups = {value: type_group(value) for value in set(ship_type)}
        static_us = np.max([c[f"{name}__time_us"][slots] for name in _STATIC_FIELDS], axis=0)
        values: dict[str, list[Any]] = {"mmsi": mmsi.tolist()}
        values |= {name: c[name][slots].tolist() for name in _STATIC_FIELDS}
        values["flag"] = flag_alpha3(mmsi)
        values["type_group"] = [groups[value] for value in ship_type]
        for name in ("lat", "lon", "sog_kn", "cog_deg"):
            values[name] = optional_floats(c[name][slots])
        for name, none in (("heading_deg", -1), ("nav_status", -1), ("msg_type", 0)):
            values[name] = optional_ints(c[name][slots], none)
        values["source"] = c["source"][slots].tolist()
        values["positions"] = c["positions"][slots].tolist()
        times = {"time": c["time_us"][slots], "static_time": static_us}
        names = [*list(values)[:-2], "time", "static_time", "source", "positions"]
        return ColumnRows(names, values, times)

    def clear_dirty(self) -> None:
        """Mark every vessel as persisted."""
        self._cols["dirty"][: self._n] = False

    def load(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Restore vessels saved by ``dirty_rows`` (at start-up, from the store)."""
        if not rows:
            return
        slots = self._slots(np.array([int(row["mmsi"]) for row in rows], dtype=np.int64))
        c = self._cols
        for slot, row in zip(slots.tolist(), rows, strict=True):
            static_us = micros_of(row.get("static_time"))
            for name in _STATIC_FIELDS:
                c[name][slot] = row.get(name)
                c[f"{name}__time_us"][slot] = static_us
            time_us = micros_of(row.get("time"))
            c["time_us"][slot] = time_us
            for name, fill in (
                ("lat", np.nan),
                ("lon", np.nan),
                ("sog_kn", np.nan),
                ("cog_deg", np.nan),
                ("heading_deg", -1),
                ("nav_status", -1),
                ("msg_type", 0),
            ):
                value = row.get(name)
                c[name][slot] = fill if value is None else value
            c["source"][slot] = row.get("source")
            c["positions"][slot] = int(row.get("positions") or 0)
            c["dirty"][slot] = False
