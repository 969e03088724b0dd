"""A data format for the dashboard's kept snapshot: JSON plus Arrow tables, never code.

:func:`encode` turns an object tree made of the workbench's own frozen dataclasses, pandas DataFrames,
pydantic models (the briefs), dicts, lists, tuples, sets, strings, numbers (NaN and infinities included), ``None``, dates and
times, NumPy scalars and the workbench's enums into one *record*: a JSON document plus the Arrow IPC
buffers of its DataFrames. :func:`decode` rebuilds the very same values (types, dtypes, float bits,
time zones) from a record.

Decoding never runs code named by the data: a dataclass or an enum is rebuilt only when its class is
defined in the ``workbench`` package (any other name is refused), a dataclass's fields are set as
stored without calling its ``__init__`` (as ``pickle`` did, so an object's derived fields are kept
as they were; a field marked transient, a memo, is left out and starts empty), and every other value is built
from JSON or Arrow. Anything else cannot be encoded:
:func:`encode` raises :class:`TypeError` naming where it is, so a new result type shows up in the
tests, not as a silently different page.

A record is ``u32 JSON length, JSON, u32 buffer count, u64 length per buffer, buffers``.

>>> import pandas as pd
>>> from workbench.dashboard.snapshot import SourceKey
>>> value = {"key": SourceKey(events=3, last_event="2026-01-01"), "cube": pd.DataFrame({"n": [1.0, float("nan")]}),
...          ("a", 1): frozenset({2})}
>>> back = decode(encode(value))
>>> back["key"], back[("a", 1)], back["cube"]["n"].tolist()
(SourceKey(events=3, last_event='2026-01-01', audit_seq=0, switches='', allocation_rows=0), frozenset({2}), [1.0, nan])
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import importlib
import io
import json
import struct
from typing import Any

import numpy as np
import pandas as pd

from ..display import TRANSIENT

__all__ = ["encode", "decode", "CodecError"]

_ALLOWED = "workbench."
_T = "$t"


class CodecError(ValueError):
    """A record that is not one :func:`encode` wrote, or that names a class outside the workbench."""


def _klass(path: str) -> type:
    module, _, qual = path.partition(":")
    if not (module + ".").startswith(_ALLOWED):
        raise CodecError(f"refusing to rebuild {path!r}: not a class of the workbench package")
    obj: Any = importlib.import_module(module)
    for part in qual.split("."):
        obj = getattr(obj, part, None)
        if not isinstance(obj, type):      # a class defined in the module (or nested in one), never via another module
            break
    if not isinstance(obj, type) or not (obj.__module__ + ".").startswith(_ALLOWED):
        raise CodecError(f"refusing to rebuild {path!r}: not a class of the workbench package")
    return obj


def _is_model(cls: type) -> bool:
    """A pydantic model class (the briefs, the policies), without importing pydantic for the check."""
    return isinstance(cls, type) and any(k.__module__ == "pydantic.main" and k.__name__ == "BaseModel"
                                         for k in cls.__mro__)


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


class _Encoder:
    def __init__(self) -> None:
        self.buffers: list[bytes] = []

    def frame(self, df: pd.DataFrame, where: str) -> dict:
        """Arrow for the typed columns; an ``object`` column element by element through this encoder."""
        import pyarrow as pa
        kinds = list(df.dtypes)
        objects = {str(i): [self.value(v, f"{where}[{df.columns[i]!r}]") for v in df.iloc[:, i].tolist()]
                   for i, kind in enumerate(kinds) if kind == object}
        typed_at = [i for i, kind in enumerate(kinds) if kind != object]
        typed = df.iloc[:, typed_at].set_axis([f"c{i}" for i in typed_at], axis=1).reset_index(drop=True)
        table = pa.Table.from_pandas(typed, preserve_index=False)
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, table.schema) as w:
            w.write_table(table)
        self.buffers.append(sink.getvalue())
        columns = df.columns
        cols = (self.value(columns, where) if type(columns) is pd.RangeIndex else
                {"labels": [self.value(c, where) for c in columns], "dtype": str(columns.dtype),
                 "name": self.value(columns.name, where)})
        out = {_T: "df", "b": len(self.buffers) - 1, "cols": cols, "obj": objects,
               "index": self.value(df.index, f"{where}.index")}
        if df.attrs:
            out["attrs"] = self.value(dict(df.attrs), where)
        return out

    def value(self, x: Any, where: str = "value") -> Any:   # noqa: C901 - one branch per kind of value
        t = type(x)
        if x is None or t is bool or t is str or t is int:
            return x
        if t is float:
            return x                                   # json: repr round-trips every double; NaN/Infinity as such
        if t is list:
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(x)]
        if t is tuple:
            return {_T: "tuple", "v": [self.value(v, f"{where}[{i}]") for i, v in enumerate(x)]}
        if t is dict:
            if all(type(k) is str for k in x) and _T not in x:
                return {k: self.value(v, f"{where}[{k!r}]") for k, v in x.items()}
            return {_T: "dict", "v": [[self.value(k, where), self.value(v, f"{where}[{k!r}]")] for k, v in x.items()]}
        if t in (set, frozenset):
            items = sorted(x, key=repr)
            return {_T: t.__name__, "v": [self.value(v, where) for v in items]}
        if dataclasses.is_dataclass(x) and (t.__module__ + ".").startswith(_ALLOWED):
            return {_T: "dc", "c": _name(t),
                    "f": {f.name: self.value(getattr(x, f.name), f"{where}.{f.name}") for f in dataclasses.fields(x)
                          if not f.metadata.get(TRANSIENT)}}
        if _is_model(t) and (t.__module__ + ".").startswith(_ALLOWED):
            return {_T: "model", "c": _name(t), "set": sorted(x.model_fields_set),
                    "f": {name: self.value(getattr(x, name), f"{where}.{name}") for name in t.model_fields}}
        if isinstance(x, enum.Enum) and (t.__module__ + ".").startswith(_ALLOWED):
            return {_T: "enum", "c": _name(t), "v": self.value(x.value, where)}
        if t is pd.DataFrame:
            return self.frame(x, where)
        if t is pd.Timestamp:
            return {_T: "ts", "v": x.isoformat(), "tz": None if x.tz is None else str(x.tz), "unit": x.unit}
        if t is dt.datetime:
            zone = getattr(x.tzinfo, "key", None)      # a ZoneInfo keeps its name; fixed offsets are in the text
            return {_T: "datetime", "v": x.replace(tzinfo=None).isoformat() if zone else x.isoformat(), "zone": zone}
        if t is dt.date:
            return {_T: "date", "v": x.isoformat()}
        if t is dt.timedelta:
            return {_T: "timedelta", "v": [x.days, x.seconds, x.microseconds]}
        if t is pd.Timedelta:
            return {_T: "pd_timedelta", "v": x.value, "unit": x.unit}
        if isinstance(x, np.generic) and x.dtype.kind in "biufcMm":
            return {_T: "np", "d": x.dtype.str, "v": base64.b64encode(x.tobytes()).decode()}
        if t is np.ndarray and x.dtype.kind in "biufcMm":
            return {_T: "nd", "d": x.dtype.str, "s": list(x.shape), "v": base64.b64encode(x.tobytes()).decode()}
        if t is pd.RangeIndex:
            return {_T: "range", "v": [x.start, x.stop, x.step], "name": self.value(x.name, where)}
        if isinstance(x, pd.Index) and type(x) is pd.Index:
            return {_T: "index", "v": self.frame(x.to_frame(index=False, name="v"), where), "name": self.value(x.name, where)}
        if t is pd.Series:
            return {_T: "series", "v": self.frame(x.to_frame(name="v"), where), "name": self.value(x.name, where)}
        raise TypeError(f"the dashboard snapshot cannot store {t.__module__}.{t.__qualname__} at {where}")


def encode(value: Any) -> bytes:
    """One record holding ``value`` (see the module doc); :class:`TypeError` for a value it cannot hold."""
    enc = _Encoder()
    text = json.dumps(enc.value(value), separators=(",", ":"), ensure_ascii=False).encode()
    out = [struct.pack("<I", len(text)), text, struct.pack("<I", len(enc.buffers)),
           struct.pack(f"<{len(enc.buffers)}Q", *(len(b) for b in enc.buffers)), *enc.buffers]
    return b"".join(out)


class _Decoder:
    def __init__(self, buffers: list[memoryview]) -> None:
        self.buffers = buffers

    def frame(self, d: dict) -> pd.DataFrame:
        import pyarrow as pa
        table = pa.ipc.open_stream(pa.py_buffer(self.buffers[d["b"]])).read_all()
        typed = table.to_pandas()
        spec = d["cols"]
        columns = (self.value(spec) if spec.get(_T) == "range" else
                   pd.Index([self.value(c) for c in spec["labels"]], dtype=spec["dtype"], name=self.value(spec["name"])))
        index = self.value(d["index"])
        df = typed if typed.shape[1] else pd.DataFrame(index=range(len(index)))
        for i in sorted(int(k) for k in d["obj"]):        # object columns back at their places, in order
            df.insert(i, f"o{i}", pd.Series([self.value(v) for v in d["obj"][str(i)]], dtype=object),
                      allow_duplicates=True)
        df.columns = columns
        df.index = index
        if "attrs" in d:
            df.attrs.update(self.value(d["attrs"]))
        return df

    def value(self, x: Any) -> Any:   # noqa: C901 - mirror of _Encoder.value
        if type(x) is list:
            return [self.value(v) for v in x]
        if type(x) is not dict:
            return x
        tag = x.get(_T)
        if tag is None:
            return {k: self.value(v) for k, v in x.items()}
        if tag == "tuple":
            return tuple(self.value(v) for v in x["v"])
        if tag == "dict":
            return {self.value(k): self.value(v) for k, v in x["v"]}
        if tag == "set":
            return {self.value(v) for v in x["v"]}
        if tag == "frozenset":
            return frozenset(self.value(v) for v in x["v"])
        if tag == "dc":
            cls = _klass(x["c"])
            if not dataclasses.is_dataclass(cls):
                raise CodecError(f"{x['c']!r} is not a dataclass")
            obj = object.__new__(cls)
            names = {f.name for f in dataclasses.fields(cls)}
            for name, v in x["f"].items():
                if name not in names:
                    raise CodecError(f"{x['c']!r} has no field {name!r}")
                object.__setattr__(obj, name, self.value(v))
            for f in dataclasses.fields(cls):
                if f.metadata.get(TRANSIENT) and f.default_factory is not dataclasses.MISSING:
                    object.__setattr__(obj, f.name, f.default_factory())
            return obj
        if tag == "model":
            cls = _klass(x["c"])
            if not _is_model(cls):
                raise CodecError(f"{x['c']!r} is not a pydantic model")
            unknown = set(x["f"]) - set(cls.model_fields)
            if unknown:
                raise CodecError(f"{x['c']!r} has no field {sorted(unknown)[0]!r}")
            # as stored, not validated again (like dataclasses above): the values were valid when written
            return cls.model_construct(_fields_set=set(x["set"]), **{k: self.value(v) for k, v in x["f"].items()})
        if tag == "enum":
            cls = _klass(x["c"])
            if not issubclass(cls, enum.Enum):
                raise CodecError(f"{x['c']!r} is not an enum")
            return cls(self.value(x["v"]))
        if tag == "df":
            return self.frame(x)
        if tag == "ts":
            ts = pd.Timestamp(x["v"])
            ts = ts.tz_convert(x["tz"]) if x["tz"] is not None and ts.tz is not None else ts
            return ts.as_unit(x["unit"])
        if tag == "datetime":
            value = dt.datetime.fromisoformat(x["v"])
            if x["zone"]:
                from zoneinfo import ZoneInfo
                value = value.replace(tzinfo=ZoneInfo(x["zone"]))
            return value
        if tag == "date":
            return dt.date.fromisoformat(x["v"])
        if tag == "timedelta":
            return dt.timedelta(*x["v"])
        if tag == "pd_timedelta":
            return pd.Timedelta(x["v"], unit="ns").as_unit(x["unit"])
        if tag == "np":
            return np.frombuffer(base64.b64decode(x["v"]), dtype=np.dtype(x["d"]))[0]
        if tag == "nd":
            return np.frombuffer(base64.b64decode(x["v"]), dtype=np.dtype(x["d"])).reshape(x["s"]).copy()
        if tag == "range":
            return pd.RangeIndex(*x["v"], name=self.value(x["name"]))
        if tag == "index":
            return pd.Index(self.frame(x["v"])["v"], name=self.value(x["name"]))
        if tag == "series":
            s = self.frame(x["v"])["v"]
            s.name = self.value(x["name"])
            return s
        raise CodecError(f"unknown kind of value {tag!r} in a dashboard snapshot")


def decode(record: bytes | memoryview) -> Any:
    """The value :func:`encode` stored in ``record`` (:class:`CodecError` for anything else)."""
    view = memoryview(record)
    (n,) = struct.unpack_from("<I", view, 0)
    text = bytes(view[4:4 + n])
    pos = 4 + n
    (count,) = struct.unpack_from("<I", view, pos)
    pos += 4
    sizes = struct.unpack_from(f"<{count}Q", view, pos)
    pos += 8 * count
    buffers = []
    for size in sizes:
        buffers.append(view[pos:pos + size])
        pos += size
    if pos != len(view):
        raise CodecError("a dashboard snapshot record of the wrong length")
    return _Decoder(buffers).value(json.loads(text))
