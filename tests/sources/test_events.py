"""Event logs: good input from each source kind, and each kind of bad input with its exact message."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from workbench.db import connect
from workbench.errors import InputError
from workbench.sources.events import mask_identifier, open_event_log, validate_event_log

ROW = {"ts_server": "2026-11-10 10:00:00", "user_key": "a1b2c3d4e5f60718", "session_id": "s1",
       "product_id": "sho-0001", "experiment_id": "exp", "variant_id": "control", "event": "impression",
       "device": "mobile", "channel": "organic", "price": 10.0, "quantity": 0}


def frame(n: int = 6, **changes_by_row: dict) -> pd.DataFrame:
    rows = [dict(ROW, user_key=f"{i:016x}", variant_id="control" if i % 2 else "treatment") for i in range(n)]
    for idx, change in changes_by_row.items():
        rows[int(idx.removeprefix("r"))].update(change)
    df = pd.DataFrame(rows)
    df["ts_server"] = pd.to_datetime(df["ts_server"])
    return df


@pytest.fixture(autouse=True)
def _cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def check(source: str) -> int:
    with connect(":memory:") as con:
        return validate_event_log(open_event_log(con, source))


def test_good_csv_and_parquet(tmp_path):
    frame().to_csv("events.csv", index=False)
    frame().to_parquet("events.parquet")
    assert check("events.csv") == 6
    assert check("events.parquet") == 6


def test_world_tables_validate(small_world):
    with connect(small_world["db"], read_only=True) as con:
        assert validate_event_log(open_event_log(con, "events")) > 20_000


def test_unknown_event_type_names_csv_row_and_line():
    frame(r2={"event": "checkout"}).to_csv("events.csv", index=False)
    with pytest.raises(InputError) as err:
        check("events.csv")
    assert str(err.value) == ("events.csv: row 3 (line 4), column event, value 'checkout': unknown event type "
                              "'checkout'; expected one of impression, click_detail, add_to_cart, purchase "
                              "(1 row like this)")


def test_unknown_event_type_names_parquet_row():
    frame(r4={"event": "view"}).to_parquet("events.parquet")
    with pytest.raises(InputError, match=r"^events.parquet: row 5, column event, value 'view': unknown event type"):
        check("events.parquet")


def test_unknown_event_type_names_duckdb_rowid(tmp_path):
    con = duckdb.connect("w.duckdb")
    df = frame(r1={"event": "bogus"})
    con.execute("create table events as select * from df")
    con.close()
    with connect("w.duckdb", read_only=True) as icon:
        with pytest.raises(InputError, match=r"^events: row 2, column event, value 'bogus'"):
            validate_event_log(open_event_log(icon, "events"))


def test_raw_email_is_refused_and_masked():
    frame(r0={"user_key": "jane.doe@example.com"}, r3={"user_key": "kim@mail.co.kr"}).to_csv("events.csv", index=False)
    with pytest.raises(InputError) as err:
        check("events.csv")
    text = str(err.value)
    assert "jane.doe@example.com" not in text and "kim@mail.co.kr" not in text
    assert text.splitlines()[0] == ("events.csv: row 1 (line 2), column user_key: user_key looks like a raw e-mail "
                                    "address (j***@e***.com); send a salted hash — raw identifiers are refused "
                                    "(2 rows like this)")


def test_raw_phone_is_refused():
    frame(r1={"user_key": "+82 10-1234-5678"}).to_csv("events.csv", index=False)
    with pytest.raises(InputError, match=r"row 2 \(line 3\), column user_key: user_key looks like a raw phone number "
                                         r"\(\+8\*\*\*78\)"):
        check("events.csv")


def test_long_numeric_hash_is_not_a_phone():
    frame(r1={"user_key": "1234567890123456"}).to_csv("events.csv", index=False)
    assert check("events.csv") == 6


def test_missing_column():
    frame().drop(columns=["session_id", "price"]).to_csv("events.csv", index=False)
    with pytest.raises(InputError) as err:
        check("events.csv")
    assert str(err.value).splitlines() == ["events.csv: column session_id: required column 'session_id' is missing",
                                           "events.csv: column price: required column 'price' is missing"]


def test_missing_values_and_negative_price():
    frame(r2={"variant_id": None}, r3={"price": -1.0}).to_csv("events.csv", index=False)
    with pytest.raises(InputError) as err:
        check("events.csv")
    lines = str(err.value).splitlines()
    assert "events.csv: row 4 (line 5), column price, value '-1.0': price must not be negative (1 row like this)" in lines
    assert "events.csv: row 3 (line 4), column variant_id: variant_id is missing (1 row like this)" in lines


@pytest.mark.parametrize("content, message", [
    (b"", "events.csv: the file is empty"),
    (b"ts_server;user_key;event\n2026-01-01;a;impression\n",
     "events.csv: line 1: the file looks separated by ';' (semicolon); the workbench reads comma-separated files "
     "— re-export it "
     "with ',' as the delimiter"),
    ("ts_server,user_key\n2026-01-01,caf\u00e9\n".encode("latin-1"),
     "events.csv: line 2: the file is not UTF-8 text (byte 0xe9 at offset 33); save it as UTF-8 (CSV UTF-8 in Excel)"),
    (b"ts_server,user_key,event\n", "events.csv: the file has a header but no data rows"),
])
def test_unreadable_files(content, message):
    Path("events.csv").write_bytes(content)
    with pytest.raises(InputError) as err:
        check("events.csv")
    assert str(err.value) == message


def test_missing_table_and_file():
    with connect(":memory:") as con:
        with pytest.raises(InputError, match=r"no table 'clicks' in the database"):
            open_event_log(con, "clicks")
        with pytest.raises(InputError, match=r"^nope.parquet: file not found$"):
            open_event_log(con, "nope.parquet")


def test_mask_identifier_hides_most_characters():
    assert mask_identifier("someone@example.org") == "s***@e***.org"


def test_text_timestamps_are_parsed_and_bad_ones_reported():
    df = frame()
    df["ts_server"] = df["ts_server"].astype(str)
    df.loc[2, "ts_server"] = "yesterday"
    df.to_parquet("events.parquet")
    with pytest.raises(InputError, match=r"^events.parquet: row 3, column ts_server: ts_server is missing or not a "
                                         r"timestamp \(1 row like this\)$"):
        check("events.parquet")


def test_an_experiment_without_category_or_sku_has_none_and_both_views_say_so(small_world):
    """The canary has no category and no SKU (NULL in ``world_experiments``): pandas returns NaN, which the report
    once printed as "nan / nan" while the dashboard said "— / —"; both now format the same missing values."""
    from workbench.dashboard.detail import header_html
    from workbench.pipeline import evaluate
    from workbench.sources.experiments import load_experiment

    meta = load_experiment("ml-ranker-canary", db=small_world["db"]).meta
    assert meta["category"] is None and meta["product_id"] is None and meta["owner"]
    outcome = evaluate(["ml-ranker-canary", "pdp-shoes-hero"], db=small_world["db"])
    canary, shoes = outcome["ml-ranker-canary"], outcome["pdp-shoes-hero"]
    assert (canary.category, canary.product_id) == (None, None)
    assert shoes.category == "shoes" and shoes.product_id
    assert "— / —" in header_html(canary) and "nan" not in header_html(canary)
    assert f"shoes / {shoes.product_id}" in header_html(shoes)
