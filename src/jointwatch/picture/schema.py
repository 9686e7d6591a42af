"""Arrow schemas of the picture: what every position and static report looks like.

Why fixed schemas: the decoder, the CSV archive reader, the ``/api/ingest/arrow`` route,
the Parquet archive and the detectors all exchange these tables; one definition keeps the
columns, their units (names carry them) and their nullability the same everywhere.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["POSITION_SCHEMA", "STATIC_SCHEMA", "TIME_TYPE"]

#: Every time in the picture: microseconds, timezone-aware UTC.
TIME_TYPE = pa.timestamp("us", tz="UTC")

#: One row per position report. Not-available values of the standard are null, never the
#: sentinel (speed 102.3, course 360, heading 511), so aggregates need no special cases.
POSITION_SCHEMA = pa.schema(
    [
        pa.field("mmsi", pa.int64(), nullable=False),
        pa.field("time", TIME_TYPE, nullable=False),
        pa.field("lat", pa.float64(), nullable=False),
        pa.field("lon", pa.float64(), nullable=False),
        pa.field("sog_kn", pa.float32()),
        pa.field("cog_deg", pa.float32()),
        pa.field("heading_deg", pa.int16()),
        pa.field("nav_status", pa.int8()),
        pa.field("msg_type", pa.int8(), nullable=False),
        pa.field("source", pa.string()),
    ]
)

#: One row per static/voyage report. A field a message type does not carry is null, so a
#: consumer merges rows field by field (type 24 part A brings the name, part B the rest).
STATIC_SCHEMA = pa.schema(
    [
        pa.field("mmsi", pa.int64(), nullable=False),
        pa.field("time", TIME_TYPE, nullable=False),
        pa.field("shipname", pa.string()),
        pa.field("callsign", pa.string()),
        pa.field("imo", pa.int64()),
        pa.field("ship_type", pa.int16()),
        pa.field("length_m", pa.float32()),
        pa.field("beam_m", pa.float32()),
        pa.field("draught_m", pa.float32()),
        pa.field("destination", pa.string()),
        pa.field("ais_class", pa.string()),
    ]
)
