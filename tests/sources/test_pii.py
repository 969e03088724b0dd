"""Raw e-mail addresses and phone numbers in any text column of an event log, disguised or not, are
refused with one masked line each; realistic user agents, hashes, timestamps, prices and ids pass."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from workbench.db import connect
from workbench.errors import InputError
from workbench.sources.events import open_event_log, validate_event_log
from workbench.sources.pii import find_identifier

ROW = {"ts_server": "2026-11-10 10:00:00", "user_key": "a1b2c3d4e5f60718", "session_id": "s1",
       "product_id": "sho-0001", "experiment_id": "exp", "variant_id": "control", "event": "impression",
       "device": "mobile", "channel": "organic", "price": 10.0, "quantity": 0,
       "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1",
       "ip_hash": "ip01048b59fec982b6"}

POSITIVES = [  # (column, value, how the message shows it)
    ("user_key", "jane%40example.com", "j***@e***.com"),
    ("user_key", "JANE%40EXAMPLE.COM", "j***@e***.com"),
    ("user_key", "jane%2540example.com", "j***@e***.com"),
    ("user_key", "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "j***@e***.com"),
    ("user_key", "jane＠example.com", "j***@e***.com"),
    ("user_key", "jane @ example.com", "j***@e***.com"),
    ("user_key", "jane [at] example [dot] com", "j***@e***.com"),
    ("user_key", "jane(at)example.com", "j***@e***.com"),
    ("user_key", "jane at example dot com", "j***@e***.com"),
    ("user_key", "kim at mail dot co dot kr", "k***@m***.kr"),
    ("user_key", "jane&#64;example.com", "j***@e***.com"),
    ("user_key", "ja\u200bne@exam\u200bple.com", "j***@e***.com"),
    ("user_key", "+82 10-1234-5678", "+8***78"),
    ("user_key", "01012345678", "01***78"),
    ("user_key", "＋８２ １０－１２３４－５６７８", "+8***78"),
    ("user_key", "%2B821012345678", "+8***78"),
    ("session_id", "jane.doe@example.com-1", "j***@e***.com"),
    ("session_id", "s-+44 20 7946 0958", "+4***58"),
    ("session_id", "010-1234-5678_3", "01***78"),
    ("session_id", "sess_jane%40example.com_17", "s***@e***.com"),
    ("user_agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) contact: jane@example.com", "j***@e***.com"),
    ("user_agent", "Mozilla/5.0 (Linux; Android 14) tel:+15551234567", "+1***67"),
    ("user_agent", "MyApp/1.0 (555) 123-4567", "55***67"),
    ("user_agent", "MyApp/2.3 call 555.123.4567", "55***67"),
    ("product_id", "kim＠mail.co.kr", "k***@m***.kr"),
    ("ip_hash", "020 7946 0958", "02***58"),
]

NEGATIVES = [  # (column, value) seen in real event logs
    ("user_agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                   "Version/17.0 Mobile/15E148 Safari/604.1"),
    ("user_agent", "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/120.0.6099.144 Mobile Safari/537.36"),
    ("user_agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"),
    ("user_agent", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"),
    ("user_agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    ("user_agent", "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"),
    ("user_agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                   "Mobile/15E148 [FBAN/FBIOS;FBAV/442.0.0.27.107;FBBV/540153413;FBDV/iPhone14,5;FBMD/iPhone;"
                   "FBSN/iOS;FBSV/16.6;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]"),
    ("user_agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/119.0.6045.199 Whale/3.24.223.21 Safari/537.36"),
    ("user_agent", "Dalvik/2.1.0 (Linux; U; Android 12; SM-G991N Build/SP1A.210812.016)"),
    ("user_agent", "curl/8.4.0"),
    ("user_agent", "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko"),
    ("session_id", "a3d8e2a3ed910c06-0"),
    ("session_id", "123e4567-e89b-12d3-a456-426614174000"),
    ("session_id", "1699999999-abcdef"),
    ("session_id", "dGhpcyBpcyBhIHRlc3Q+/="),
    ("session_id", "2026-11-10T10:00:00+09:00"),
    ("session_id", "2026-11-10 10:00:00.123456"),
    ("user_key", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("user_key", "1234567890123456"),
    ("product_id", "SKU-2026-11-0001"),
    ("product_id", "8801234567890"),
    ("product_id", "ORD-2026-1110-0001"),
    ("product_id", "1,234,567.89"),
    ("product_id", "₩1,234,000"),
    ("product_id", "11/10/2026"),
    ("product_id", "10.0.19045.3803"),
    ("product_id", "192.168.100.200"),
    ("product_id", "Great value at 50% off"),
    ("product_id", "서울 강남구 운동화 270mm"),
    ("channel", "paid_search"),
]


@pytest.fixture(autouse=True)
def _cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def frame(changes: list[tuple[str, str]]) -> pd.DataFrame:
    rows = [dict(ROW, user_key=f"{i:016x}", session_id=f"{i:016x}-0", variant_id="control" if i % 2 else "b")
            for i in range(max(len(changes), 4))]
    for i, (col, value) in enumerate(changes):
        rows[i][col] = value
    df = pd.DataFrame(rows)
    df["ts_server"] = pd.to_datetime(df["ts_server"])
    return df


def write(df: pd.DataFrame, kind: str) -> str:
    if kind == "csv":
        df.to_csv("events.csv", index=False)
        return "events.csv"
    if kind == "parquet":
        df.to_parquet("events.parquet")
        return "events.parquet"
    con = duckdb.connect("w.duckdb")
    con.execute("CREATE OR REPLACE TABLE events AS SELECT * FROM df")
    con.close()
    return "events"


def check(df: pd.DataFrame, kind: str) -> int:
    source = write(df, kind)
    with connect("w.duckdb" if kind == "duckdb" else ":memory:", read_only=kind == "duckdb") as con:
        return validate_event_log(open_event_log(con, source))


@pytest.mark.parametrize("kind", ["csv", "parquet", "duckdb"])
def test_realistic_values_are_not_mistaken_for_identifiers(kind):
    assert check(frame(NEGATIVES), kind) == len(NEGATIVES)
    assert [v for _, v in NEGATIVES if find_identifier(v)] == []


@pytest.mark.parametrize("column, value, shown", POSITIVES, ids=[f"{c}:{v}" for c, v, _ in POSITIVES])
def test_identifier_in_any_text_column_is_refused_with_one_masked_line(column, value, shown):
    with pytest.raises(InputError) as err:
        check(frame([("channel", "organic"), (column, value)]), "csv")
    text = str(err.value)
    assert len(text.splitlines()) == 1
    what = "e-mail address" if "@" in shown else "phone number"
    if column == "user_key":
        expected = (f"events.csv: row 2 (line 3), column user_key: user_key looks like a raw {what} ({shown}); "
                    "send a salted hash — raw identifiers are refused (1 row like this)")
    else:
        expected = (f"events.csv: row 2 (line 3), column {column}: {column} contains a raw {what} ({shown}); "
                    "remove or hash it before loading — raw identifiers are refused (1 row like this)")
    assert text == expected
    assert value not in text
    assert err.value.problems[0].code == ("raw_email" if "@" in shown else "raw_phone")


@pytest.mark.parametrize("kind, where", [("parquet", "events.parquet: row 3, "), ("duckdb", "events: row 3, ")])
def test_parquet_and_duckdb_inputs_are_scanned_too(kind, where):
    df = frame([("user_key", "00000000000000aa"), ("user_agent", "Mozilla/5.0"),
                ("session_id", "jane%40example.com#1"), ("user_agent", "MyApp (+1 555 123 4567)")])
    with pytest.raises(InputError) as err:
        check(df, kind)
    assert str(err.value).splitlines() == [
        f"{where}column session_id: session_id contains a raw e-mail address (j***@e***.com); remove or hash it "
        "before loading — raw identifiers are refused (1 row like this)",
        f"{where.replace('row 3', 'row 4')}column user_agent: user_agent contains a raw phone number (+1***67); "
        "remove or hash it before loading — raw identifiers are refused (1 row like this)"]


def test_the_world_passes_and_every_text_column_is_checked(small_world):
    from workbench.sources.pii import count_identifiers, text_columns
    with connect(small_world["db"], read_only=True) as con:
        t = open_event_log(con, "events").table
        assert {"user_key", "session_id", "user_agent", "ip_hash", "product_id"} <= set(text_columns(t))
        assert sum(count_identifiers(t).values()) == 0
        assert validate_event_log(open_event_log(con, "events")) > 20_000


def test_other_backends_group_each_column_and_count_the_same():
    from workbench.sources.pii import _values, text_columns
    df = frame([("session_id", "jane%40example.com#1"), ("user_agent", "MyApp (+1 555 123 4567)")])
    write(df, "duckdb")
    with connect("w.duckdb", read_only=True) as con:
        t = con.table("events")
        cols = text_columns(t)
        one_scan = _values(t, cols).to_pandas().sort_values(["col", "v"]).reset_index(drop=True)
        per_column = _values(t, cols, grouping_sets=False).to_pandas().sort_values(["col", "v"]).reset_index(drop=True)
    assert len(one_scan) > len(cols)
    pd.testing.assert_frame_equal(one_scan, per_column, check_dtype=False)
