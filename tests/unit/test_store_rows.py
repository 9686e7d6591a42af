"""Columns handed from the picture to the store, and how the store turns them into values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from jointwatch.store.models import Vessel
from jointwatch.store.rows import NO_TIME, ColumnRows, datetime_of, optional_floats, optional_ints
from jointwatch.store.upserts import _numpy_text, last_of_each, memo_map, take, truncate

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _rows() -> ColumnRows:
    return ColumnRows(
        ["mmsi", "time", "name"],
        {"mmsi": [574000001, 366000001], "name": ["TAU", None]},
        {"time": np.array([1_740_830_400_123_000, NO_TIME], dtype=np.int64)},
    )


def test_column_rows_read_as_a_list_of_dicts_in_column_order() -> None:
    rows = _rows()
    expected = [
        {
            "mmsi": 574000001,
            "time": datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=UTC),
            "name": "TAU",
        },
        {"mmsi": 366000001, "time": None, "name": None},
    ]
    assert len(rows) == 2 and bool(rows)
    assert list(rows) == expected and rows == expected and expected == rows
    assert list(rows[0]) == ["mmsi", "time", "name"]
    assert rows[-1] == expected[1] and rows[0:1] == expected[:1]
    assert rows != expected[:1] and rows != [*expected[:1], {}]
    assert rows.column("time") == [expected[0]["time"], None]
    assert rows.column("name") == ["TAU", None]
    with pytest.raises(IndexError):
        rows[2]
    empty = ColumnRows(["mmsi"], {"mmsi": []}, {})
    assert empty == [] and not empty


def test_column_rows_refuse_ragged_or_unnamed_columns_and_impossible_times() -> None:
    with pytest.raises(ValueError):
        ColumnRows(["a", "b"], {"a": [1], "b": [1, 2]}, {})
    with pytest.raises(ValueError):
        ColumnRows(["a"], {"a": [1], "b": [2]}, {})
    with pytest.raises(OverflowError):  # year 10000: as building the datetime itself fails
        ColumnRows(["t"], {}, {"t": np.array([253_402_300_800 * 10**6], dtype=np.int64)})


def test_optional_columns_turn_missing_markers_into_none() -> None:
    floats = optional_floats(np.array([1.5, np.nan, 5.3], dtype=np.float32))
    assert floats == [1.5, None, float(np.float32(5.3))]
    assert all(type(v) is float for v in floats if v is not None)
    ints = optional_ints(np.array([-1, 0, 511], dtype=np.int16), -1)
    assert ints == [None, 0, 511] and all(type(v) is int for v in ints if v is not None)


_SQLITE_TIME = Vessel.__table__.c.time.type.dialect_impl(sqlite.dialect()).bind_processor(
    sqlite.dialect()
)
_DATETIME_US = st.integers(
    min_value=(datetime.min.replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1),
    max_value=(datetime.max.replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1),
)


@given(st.lists(st.one_of(_DATETIME_US, st.just(NO_TIME)), max_size=20))
def test_numpy_time_text_is_what_sqlalchemy_stores_on_sqlite(micros: list[int]) -> None:
    assert _SQLITE_TIME is not None
    expected = [_SQLITE_TIME(datetime_of(us)) for us in micros]
    assert _numpy_text(np.array(micros, dtype=np.int64)) == expected


def test_helpers_keep_the_last_row_of_a_key_and_convert_each_text_once() -> None:
    assert last_of_each([5, 7, 5, 9, 7]) == [2, 4, 3]
    assert last_of_each([5, 7, 9]) is None  # all unique: every row, in order
    assert take(["a", "b", "c"], [2, 0]) == ["c", "a"] and take(["a", "b"], None) == ["a", "b"]
    calls: list[object] = []

    def seen(value: object) -> object:
        calls.append(value)
        return f"<{value}>"

    assert memo_map(seen, ["a", None, "a", "b", None]) == ["<a>", "<None>", "<a>", "<b>", "<None>"]
    assert calls == ["a", None, "b", None]
    assert truncate(["abcdef", "ab", None, 12345], 3) == ["abc", "ab", None, 12345]
    assert truncate(["abc", "", None], 3) == ["abc", "", None]
    assert truncate([b"abcdef", ["a"] * 5, "abcd"], 3) == [b"abcdef", ["a"] * 5, "abc"]
