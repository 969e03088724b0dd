"""Input of the hierarchical models: validation names row, column and value; adapters agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.errors import InputError
from workbench.experiment_data import ExperimentData
from workbench.hierarchical.data import sku_data_from_experiments, sku_data_from_frame
from workbench.metrics import CATALOG


def frame(**overrides):
    df = pd.DataFrame({"sku": ["a", "a", "b", "b"], "category": ["shoes", "shoes", "bags", "bags"],
                       "variant": ["control", "new", "control", "new"], "n": [100, 120, 50, 40],
                       "conversions": [5, 9, 1, 2]})
    for k, v in overrides.items():
        df[k] = v
    return df


def problems(df, **kw):
    with pytest.raises(InputError) as err:
        sku_data_from_frame(df, **kw)
    return err.value.problems


def test_valid_frame_becomes_arrays():
    d = sku_data_from_frame(frame(), file="skus.csv")
    assert d.skus == ("a", "b") and d.categories == ("shoes", "bags")
    assert d.control_n.tolist() == [100, 50] and d.control_y.tolist() == [5, 1]
    assert d.lift_n.tolist() == [120, 40] and d.lift_y.tolist() == [9, 2]
    assert d.lift_sku.tolist() == [0, 1] and d.lift_category.tolist() == [0, 1]
    back = d.to_frame().sort_values(["sku", "variant"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back[["sku", "variant", "n"]],
                                  frame().sort_values(["sku", "variant"]).reset_index(drop=True)[["sku", "variant", "n"]]
                                  .astype({"n": float}))


def test_no_categories_is_a_clear_error():
    (p,) = problems(frame().drop(columns="category"))
    assert p.code == "missing_column" and "no categories" in p.message and p.column == "category"
    (p,) = problems(frame(category=[None] * 4))
    assert p.code == "no_categories"


def test_sku_with_zero_units_names_row_and_column():
    ps = problems(frame(n=[100, 0, 50, 40], conversions=[5, 0, 1, 2]), file="skus.csv")
    assert [(p.code, p.row, p.column) for p in ps] == [("zero_units", 2, "n")]
    assert "skus.csv: row 2, column n, value 0" in str(InputError(ps))


def test_units_below_conversions_and_bad_numbers_all_reported():
    ps = problems(frame(n=[100, 5, -1, "x"], conversions=[5, 9, 1, 1.5]))
    codes = sorted((p.code, p.row) for p in ps)
    assert ("conversions_above_units", 2) in codes
    assert ("negative", 3) in codes
    assert ("not_a_number", 4) in codes
    assert ("not_integer", 4) in codes


def test_structure_errors():
    dup = pd.concat([frame(), frame().iloc[[0]]], ignore_index=True)
    assert [p.code for p in problems(dup)] == ["duplicate_row"]
    two = frame(category=["shoes", "bags", "bags", "bags"])
    assert [p.code for p in problems(two)] == ["sku_in_two_categories"]
    lonely = frame().iloc[:3]
    assert [p.code for p in problems(lonely)] == ["no_variant"]
    assert [p.code for p in problems(frame(), control="baseline")] == ["no_control", "no_control"]
    assert problems(frame().drop(columns=["n"]))[0].column == "n"


def test_control_detection():
    df = frame(variant=["B", "A", "B", "A"])           # no "control": first row of each SKU
    d = sku_data_from_frame(df)
    assert d.control == ("B", "B") and d.lift_variant == ("A", "A")
    d = sku_data_from_frame(df, control={"a": "A", "b": "A"})
    assert d.control == ("A", "A") and d.control_n.tolist() == [120, 40]
    d = sku_data_from_frame(frame().rename(columns={"n": "units"}))
    assert d.control_n.tolist() == [100, 50]


def test_multiple_variants_per_sku_are_separate_lifts():
    df = pd.concat([frame(), pd.DataFrame({"sku": ["a"], "category": ["shoes"], "variant": ["third"], "n": [90],
                                           "conversions": [4]})], ignore_index=True)
    d = sku_data_from_frame(df)
    assert d.n_lifts == 3 and d.lift_variant == ("new", "new", "third") and d.lift_sku.tolist() == [0, 1, 0]


def _experiment(eid, sku, category, counts, variants=("control", "b")):
    cube = pd.DataFrame({"variant": list(variants), "n": [c[0] for c in counts],
                         "purchased__sum": [c[1] for c in counts], "purchased__sum_sq": [c[1] for c in counts]})
    return ExperimentData(eid, tuple(variants), cube, metrics=(CATALOG["cvr"],),
                          meta={"category": category, "product_id": sku})


def test_adapter_from_experiment_data():
    exps = [_experiment("e1", "sku-1", "shoes", [(100, 5), (110, 7)]),
            _experiment("e2", "sku-2", "shoes", [(80, 2), (70, 4)], variants=("A", "B")),
            _experiment("e3", "sku-3", "bags", [(60, 1), (65, 3)])]
    d = sku_data_from_experiments(exps)
    assert d.skus == ("sku-1", "sku-2", "sku-3") and d.categories == ("shoes", "bags")
    assert d.control == ("control", "A", "control")
    assert d.control_n.tolist() == [100, 80, 60] and d.lift_y.tolist() == [7, 4, 3]
    assert d.meta["experiment_ids"]["sku-2"] == "e2"


def test_adapter_names_experiments_without_meta():
    bad = _experiment("e9", "sku-9", "shoes", [(10, 1), (10, 2)])
    bad = ExperimentData(bad.experiment_id, bad.variants, bad.cube, metrics=bad.metrics, meta={})
    with pytest.raises(InputError) as err:
        sku_data_from_experiments([bad])
    codes = {p.code for p in err.value.problems}
    assert codes == {"missing_product_id", "missing_category"}
    assert "e9" in str(err.value)
    with pytest.raises(InputError, match="proportion"):
        exp = _experiment("e1", "s", "c", [(10, 1), (10, 2)])
        cube = exp.cube.assign(revenue__sum=[1.0, 2.0], revenue__sum_sq=[1.0, 4.0])
        sku_data_from_experiments([ExperimentData("e1", exp.variants, cube, metrics=(CATALOG["revenue_per_user"],),
                                                  meta=exp.meta)], metric="revenue_per_user")


def test_pooled_logit_is_finite_even_without_conversions():
    d = sku_data_from_frame(frame(conversions=[0, 0, 0, 0]))
    assert np.isfinite(d.pooled_control_logit())
