"""The decoded table's columns: pyais's field names, their Arrow types and their order.

Why apart from the decoder: the column list is the contract between the decoder, the
pipeline, the picture and every reader of decoded Parquet or JSON Lines; the decoder's
machinery (kernels, tables, the pyais fallback) changes far more often than this.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["DECODED_SCHEMA", "VECTORISED_TYPES"]

_INT_COLUMNS = [
    "msg_type",
    "repeat",
    "mmsi",
    "status",
    "heading",
    "second",
    "maneuver",
    "radio",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "epfd",
    "ais_version",
    "imo",
    "ship_type",
    "to_bow",
    "to_stern",
    "to_port",
    "to_starboard",
    "partno",
    "model",
    "serial",
    "mothership_mmsi",
    "aid_type",
]
_FLOAT_COLUMNS = ["turn", "speed", "lon", "lat", "course", "draught"]
_BOOL_COLUMNS = [
    "accuracy",
    "raim",
    "dte",
    "cs",
    "display",
    "dsc",
    "band",
    "msg22",
    "assigned",
    "off_position",
    "virtual_aid",
    "gnss",
]
_STR_COLUMNS = ["callsign", "shipname", "destination", "vendorid", "name", "name_ext"]

#: Column order follows pyais's field order for the common types, so a reader sees the
#: position-report fields first.
_ORDER = [
    "msg_type",
    "repeat",
    "mmsi",
    "status",
    "turn",
    "speed",
    "accuracy",
    "lon",
    "lat",
    "course",
    "heading",
    "second",
    "maneuver",
    "raim",
    "radio",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "epfd",
    "ais_version",
    "imo",
    "callsign",
    "shipname",
    "ship_type",
    "to_bow",
    "to_stern",
    "to_port",
    "to_starboard",
    "draught",
    "destination",
    "dte",
    "partno",
    "vendorid",
    "model",
    "serial",
    "mothership_mmsi",
    "cs",
    "display",
    "dsc",
    "band",
    "msg22",
    "assigned",
    "aid_type",
    "name",
    "off_position",
    "virtual_aid",
    "name_ext",
    "gnss",
]


def _arrow_type(name: str) -> pa.DataType:
    if name in _INT_COLUMNS:
        return pa.int64()
    if name in _FLOAT_COLUMNS:
        return pa.float64()
    if name in _BOOL_COLUMNS:
        return pa.bool_()
    return pa.string()


#: Every decoded column, named as pyais names the field, plus ``extra`` (JSON of the fields a
#: non-vectorised message type has beyond these columns).
DECODED_SCHEMA = pa.schema(
    [pa.field(name, _arrow_type(name)) for name in _ORDER] + [pa.field("extra", pa.string())]
)
VECTORISED_TYPES = frozenset({1, 2, 3, 4, 5, 18, 19, 21, 24, 27})

_NUMPY_DTYPE = {"int": np.int64, "float": np.float64, "bool": np.bool_}


def _column_kind(name: str) -> str:
    if name in _INT_COLUMNS:
        return "int"
    if name in _FLOAT_COLUMNS:
        return "float"
    if name in _BOOL_COLUMNS:
        return "bool"
    return "str"


_KIND = {name: _column_kind(name) for name in _ORDER}
