"""The kept snapshot's format: data in, the same data out, and never code."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import struct
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from workbench.dashboard import codec, store
from workbench.dashboard.snapshot import SourceKey
from workbench.errors import Problem

from .test_store import assert_same


def test_values_come_back_exactly_as_they_were():
    frame = pd.DataFrame({"variant": pd.array(["control", "b", None], dtype="str"), "n": [1.0, np.nan, -0.0],
                          "mixed": pd.Series(["x", None, ("a", 1)], dtype=object),
                          "day": pd.to_datetime(["2026-11-01", "2026-11-02", None]).as_unit("us"),
                          "k": np.array([1, 2, 3], dtype="int32")}, index=pd.Index(["p", "q", "r"], name="row"))
    value = {
        "key": SourceKey(events=3, last_event="2026-11-19 10:00:00"),
        "problem": Problem("blocked", "bad_value", "no", file="a.csv", row=3),
        ("tuple", 1): frozenset({1, 2}), 2: {"$t": "not a tag"},
        "floats": [float("nan"), float("inf"), -0.0, 0.1 + 0.2, 1e-310],
        "np": (np.float64(0.25), np.int64(7), np.bool_(True)),
        "times": (dt.datetime(2026, 11, 19, 10, 0, 0, 123456, tzinfo=dt.timezone.utc),
                  dt.datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")), dt.date(2026, 1, 2),
                  pd.Timestamp("2026-11-19 10:00:00.000000001"), pd.Timestamp("2026-11-19", tz="UTC"),
                  dt.timedelta(days=1, seconds=3, microseconds=5)),
        "frame": frame, "empty": pd.DataFrame(), "series": pd.Series([1.5, 2.5], name="s"),
    }
    record = codec.encode(value)
    back = codec.decode(record)
    assert_same(back, value, "value")
    assert codec.encode(back) == record
    assert str(back["frame"]["variant"].dtype) == "str" and back["frame"].index.name == "row"


def test_a_memo_of_derived_values_is_not_kept_and_comes_back_empty():
    """``ExperimentData.memo`` (the arms' sums, the adjustment's cells) is rebuilt on use, not stored."""
    from analysis_world import make_data

    data = make_data(("control", "b"), 500, seed=2)
    data.arm_table()
    assert data.memo
    record = codec.encode(data)
    back = codec.decode(record)
    assert back.memo == {} and b"arms" not in record
    pd.testing.assert_frame_equal(back.arm_table(), data.arm_table(), check_exact=True)


def _record(tree) -> bytes:
    text = json.dumps(tree).encode()
    return struct.pack("<I", len(text)) + text + struct.pack("<I", 0)


@pytest.mark.parametrize("name", ["os:system", "builtins:eval", "subprocess:Popen", "workbenchx.evil:Thing",
                                  "workbench.config:Path", "workbench.dashboard.codec:importlib.machinery.ModuleSpec"])
def test_a_record_naming_a_class_outside_the_workbench_is_refused(name):
    with pytest.raises(codec.CodecError, match="not a class of the workbench"):
        codec.decode(_record({"$t": "dc", "c": name, "f": {}}))
    with pytest.raises(codec.CodecError, match="not a dataclass"):
        codec.decode(_record({"$t": "dc", "c": "workbench.dashboard.codec:CodecError", "f": {}}))
    with pytest.raises(TypeError, match=r"cannot store builtins.object at value\[0\]"):
        codec.encode([object()])


class _Touch:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))            # what loading a pickle would run


def test_a_pickle_beside_the_database_is_never_loaded(tmp_path, caplog):
    db = tmp_path / "w.duckdb"
    marker = tmp_path / "ran"
    store.store_path(db).write_bytes(pickle.dumps(_Touch(marker)))
    assert store.load_snapshot(db, "inputs") is None and not marker.exists()
    assert "ignoring an unreadable dashboard snapshot" in caplog.text
