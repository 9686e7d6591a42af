"""The built-in South China Sea scenario, as real NMEA with TAG blocks.

Why real NMEA rather than rows: an exercise must test the whole chain a partner's node
runs (receivers, framing, assembly, de-duplication, decoding, picture, detection), so the
scenario speaks exactly what a shore receiver would send. Tracks are computed with NumPy per
vessel for a window of time and merged in time order, then encoded; positions are pure
functions of absolute time, so backfill and live streaming join seamlessly.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jointwatch.exercise.fleet import (
    ANCHORED_INTERVAL_S,
    STATIC_INTERVAL_S,
    Vessel,
    build_fleet,
)
from jointwatch.exercise.geography import SATELLITE_STATION, SHORE_RANGE_NM, STATIONS
from jointwatch.exercise.motion import HoldMotion, LaneMotion, noise
from jointwatch.exercise.nmea import encode_tagged
from jointwatch.exercise.scripted import ScriptedMotion, ScriptedVessel, TruthEvent, script

__all__ = ["Scenario", "stream_scenario", "write_scenario_file"]

log = logging.getLogger(__name__)

_CHUNK_S = 600
_STATION_LAT = np.array([s.lat for s in STATIONS])
_STATION_LON = np.array([s.lon for s in STATIONS])
_STATION_NAMES = [s.name for s in STATIONS] + [SATELLITE_STATION]


def _stations(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.int64]:
    """Index of the nearest shore station per position, or the satellite beyond range."""
    d_n = (lat[:, None] - _STATION_LAT[None, :]) * 60.0
    d_e = (lon[:, None] - _STATION_LON[None, :]) * 60.0 * np.cos(np.radians(lat))[:, None]
    dist = np.hypot(d_n, d_e)
    nearest = np.argmin(dist, axis=1)
    return np.where(dist.min(axis=1) > SHORE_RANGE_NM, len(STATIONS), nearest)


def _grid(phase: int, step: int, t0: int, t1: int) -> NDArray[np.float64]:
    """Times ``phase + k*step`` inside [t0, t1)."""
    first = math.ceil((t0 - phase) / step)
    last = math.ceil((t1 - phase) / step)
    return (phase + np.arange(first, last, dtype=np.int64) * step).astype(np.float64)


class Scenario:
    """South China Sea traffic for ``jointwatch demo`` and exercises.

    ``Scenario(seed, vessels)`` always builds the same fleet; ``sentences(start, end)``
    always returns the same lines for the same window, whatever windows came before.
    """

    def __init__(
        self, seed: int = 7, vessels: int = 200, script_start: datetime | None = None
    ) -> None:
        self.seed = seed
        self.vessels: list[Vessel] = build_fleet(seed, vessels)
        self.background = len(self.vessels)
        self.truth: list[TruthEvent] = []
        self.script_start = script_start
        if script_start is not None:
            scripted, self.truth = script(script_start)
            self.vessels.extend(
                _scripted_vessel(self.background + i, sv) for i, sv in enumerate(scripted)
            )

    def sentences(
        self, start: datetime, end: datetime, *, background: bool = True
    ) -> Iterator[tuple[float, str]]:
        """Time-ordered ``(unix time, line)`` for reports at whole seconds in [start, end).

        ``background=False`` gives only the scripted vessels (a demo backfills their
        earlier hours cheaply, so a 13-hour silence can end while the demo runs).
        """
        t0 = math.ceil(start.timestamp())
        t1 = math.ceil(end.timestamp())
        vessels = self.vessels if background else self.vessels[self.background :]
        for c0 in range(t0, t1, _CHUNK_S):
            yield from self._chunk(c0, min(c0 + _CHUNK_S, t1), vessels)

    def _positions(self, v: Vessel, t0: int, t1: int) -> dict[str, Any] | None:
        phase = v.report_phase_s
        step = v.interval_s
        times = _grid(phase, step, t0, t1)
        state = v.motion.state(times)
        keep = ~state.anchored
        if isinstance(v.motion, ScriptedMotion):
            keep &= v.motion.transmitting(times)
        parts = [(times[keep], state, keep, step)]
        if isinstance(v.motion, LaneMotion | HoldMotion) and v.ais_class == "A":
            slow = _grid(phase, ANCHORED_INTERVAL_S, t0, t1)
            slow_state = v.motion.state(slow)
            parts.append(
                (slow[slow_state.anchored], slow_state, slow_state.anchored, ANCHORED_INTERVAL_S)
            )
        cols: dict[str, list[NDArray[Any]]] = {
            k: [] for k in ("t", "lat", "lon", "sog", "cog", "anc", "k")
        }
        for t, st, mask, stp in parts:
            cols["t"].append(t)
            cols["lat"].append(st.lat[mask])
            cols["lon"].append(st.lon[mask])
            cols["sog"].append(st.sog_kn[mask])
            cols["cog"].append(st.cog_deg[mask])
            cols["anc"].append(st.anchored[mask])
            cols["k"].append(((t - phase) // stp).astype(np.int64))
        out = {k: np.concatenate(v_) for k, v_ in cols.items()}
        return out if len(out["t"]) else None

    def _chunk(self, t0: int, t1: int, vessels: list[Vessel]) -> Iterator[tuple[float, str]]:
        events: list[tuple[int, int, int, dict[str, Any]]] = []
        for v in vessels:
            pos = self._positions(v, t0, t1)
            if pos is not None:
                stations = _stations(pos["lat"], pos["lon"])
                heading_noise = noise(pos["t"], v.index + 0.5)
                for i in range(len(pos["t"])):
                    events.append(
                        (
                            int(pos["t"][i]),
                            v.index,
                            0,
                            {
                                "lat": float(pos["lat"][i]),
                                "lon": float(pos["lon"][i]),
                                "sog": float(pos["sog"][i]),
                                "cog": float(pos["cog"][i]),
                                "anchored": bool(pos["anc"][i]),
                                "k": int(pos["k"][i]),
                                "station": int(stations[i]),
                                "hn": float(heading_noise[i]),
                            },
                        )
                    )
            static_t = _grid(v.static_phase_s, STATIC_INTERVAL_S, t0, t1)
            if not v.send_static:
                static_t = static_t[:0]
            elif isinstance(v.motion, ScriptedMotion):
                static_t = static_t[v.motion.transmitting(static_t)]
            if len(static_t):
                st = v.motion.state(static_t)
                stations = _stations(st.lat, st.lon)
                for i, t in enumerate(static_t):
                    k = int((t - v.static_phase_s) // STATIC_INTERVAL_S)
                    events.append((int(t), v.index, 1, {"k": k, "station": int(stations[i])}))
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        for t, index, kind, data in events:
            vessel = self.vessels[index]
            lines = (
                self._encode_position(vessel, t, data)
                if kind == 0
                else self._encode_static(vessel, t, data)
            )
            for line in lines:
                yield float(t), line

    @staticmethod
    def _encode_position(v: Vessel, t: int, d: dict[str, Any]) -> list[str]:
        channel = "AB"[d["k"] % 2]
        station = _STATION_NAMES[d["station"]]
        sog = round(min(d["sog"], 102.2), 1)
        cog = round(d["cog"] % 360.0, 1) % 360.0
        common = {
            "mmsi": v.mmsi,
            "lat": round(d["lat"], 6),
            "lon": round(d["lon"], 6),
            "speed": sog,
            "course": cog,
            "second": t % 60,
            "accuracy": 1,
        }
        if v.ais_class == "B":
            fields = {
                "msg_type": 18,
                **common,
                "heading": 511,
                "cs": 1,
                "dsc": 1,
                "band": 1,
                "msg22": 1,
                "radio": 393222,
            }
        else:
            heading = round(d["cog"] + 2.0 * d["hn"]) % 360
            status = 1 if d["anchored"] else v.nav_status
            fields = {
                "msg_type": 1,
                **common,
                "heading": heading,
                "status": status,
                "radio": 2248 + (t % 2250),
            }
        return encode_tagged(fields, time_s=t, station=station, channel=channel)

    @staticmethod
    def _encode_static(v: Vessel, t: int, d: dict[str, Any]) -> list[str]:
        station = _STATION_NAMES[d["station"]]
        stern = max(1, round(v.length_m * 0.15))
        port = v.beam_m // 2
        dims = {
            "to_bow": min(511, v.length_m - stern),
            "to_stern": min(511, stern),
            "to_port": min(63, port),
            "to_starboard": min(63, v.beam_m - port),
        }
        if v.ais_class == "B":
            part_a = {"msg_type": 24, "mmsi": v.mmsi, "partno": 0, "shipname": v.name}
            part_b = {
                "msg_type": 24,
                "mmsi": v.mmsi,
                "partno": 1,
                "ship_type": v.ship_type,
                "callsign": v.callsign,
                "vendorid": "SRT",
                **dims,
            }
            return encode_tagged(part_a, time_s=t, station=station, channel="A") + encode_tagged(
                part_b, time_s=t, station=station, channel="B"
            )
        destination, eta = v.destination_at(float(t))
        when = datetime.fromtimestamp(eta, UTC) if eta is not None else None
        fields = {
            "msg_type": 5,
            "mmsi": v.mmsi,
            "ais_version": 2,
            "imo": v.imo,
            "callsign": v.callsign,
            "shipname": v.name,
            "ship_type": v.ship_type,
            **dims,
            "epfd": 1,
            "month": when.month if when else 0,
            "day": when.day if when else 0,
            "hour": when.hour if when else 24,
            "minute": when.minute if when else 60,
            "draught": v.draught_m,
            "destination": destination,
            "dte": 0,
        }
        return encode_tagged(
            fields,
            time_s=t,
            station=station,
            channel="AB"[d["k"] % 2],
            seq_id=(d["k"] + v.index) % 10,
        )


def _scripted_vessel(index: int, sv: ScriptedVessel) -> Vessel:
    return Vessel(
        index=index,
        role="scripted",
        flag=sv.flag,
        mmsi=sv.mmsi,
        name=sv.name,
        callsign=f"XS{index:04d}",
        imo=0,
        ship_type=sv.ship_type,
        length_m=sv.length_m,
        beam_m=max(3, sv.length_m // 6),
        draught_m=min(12.0, sv.length_m / 20),
        ais_class=sv.ais_class,
        motion=sv.motion,
        nav_status=0,
        report_phase_s=(index * 7) % 10,
        static_phase_s=(index * 37) % 360,
        destination="EXERCISE",
        send_static=sv.send_static,
    )


def write_scenario_file(
    path: str | Path,
    hours: float = 2.0,
    seed: int = 7,
    *,
    vessels: int = 200,
    end: datetime | None = None,
    script_start: datetime | None = None,
) -> int:
    """Write ``hours`` of the scenario ending at ``end`` (default: now) to a file.

    ``script_start`` adds the scripted events from that time on (see ``scripted``).
    A ``.gz`` suffix writes gzip. Returns the number of lines written.
    """
    path = Path(path)
    stop = end or datetime.now(UTC)
    start = stop - timedelta(hours=hours)
    count = 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="ascii", newline="\n") as out:
        for _, line in Scenario(seed, vessels, script_start).sentences(start, stop):
            out.write(line + "\n")
            count += 1
    return count


def _lines(
    scenario: Scenario, start: datetime, end: datetime, background: bool = True
) -> list[str]:
    return [line for _, line in scenario.sentences(start, end, background=background)]


async def _connect(host: str, port: int, stop: asyncio.Event) -> asyncio.StreamWriter | None:
    """Connect as a receiver would, retrying while the node starts or restarts."""
    backoff = 0.2
    while not stop.is_set():
        try:
            _, writer = await asyncio.open_connection(host, port)
            return writer
        except OSError as exc:
            log.info("scenario feed: cannot reach %s:%d (%s); retrying", host, port, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(backoff * 2, 5.0)
    return None


async def stream_scenario(
    host: str,
    port: int,
    *,
    scenario: Scenario | None = None,
    speedup: float = 1.0,
    backfill_h: float = 2.0,
    stop_event: asyncio.Event | None = None,
    seed: int = 7,
    vessels: int = 200,
) -> None:
    """Feed a node over TCP: ``backfill_h`` hours of history at once, then live traffic.

    Live time runs ``speedup`` times faster than the wall clock from the moment the backfill
    ends. If the node drops the connection (a restart), the feed reconnects and carries on
    from where it was; what was written into the dead connection is lost, as with a real
    receiver.
    """
    stop = stop_event or asyncio.Event()
    scenario = scenario or Scenario(seed=seed, vessels=vessels)
    now = datetime.now(UTC)
    cursor = now - timedelta(hours=backfill_h)
    # Scripted vessels whose script began before the backfill send their earlier hours
    # first, alone (a few vessels: cheap), so long scripted events complete in the demo.
    script_cursor = scenario.script_start or cursor
    wall0, sim0 = time.monotonic(), now
    writer: asyncio.StreamWriter | None = None
    try:
        while not stop.is_set():
            sim_now = sim0 + timedelta(seconds=(time.monotonic() - wall0) * speedup)
            scripted_only = script_cursor < cursor
            start = script_cursor if scripted_only else cursor
            if start >= sim_now:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), min(0.5, 1.0 / max(speedup, 1e-3)))
                continue
            limit = cursor if scripted_only else sim_now
            window_end = min(limit, start + timedelta(seconds=_CHUNK_S))
            lines = await asyncio.to_thread(_lines, scenario, start, window_end, not scripted_only)
            if writer is None:
                writer = await _connect(host, port, stop)
                if writer is None:
                    return
            try:
                for i in range(0, len(lines), 2000):
                    writer.write(("\n".join(lines[i : i + 2000]) + "\n").encode("ascii"))
                    await writer.drain()
            except (ConnectionError, OSError) as exc:
                log.warning("scenario feed: connection lost (%s); reconnecting", exc)
                writer.close()
                writer = None
                continue
            script_cursor = window_end
            if not scripted_only:
                cursor = window_end
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()
