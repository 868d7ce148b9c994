"""Chapter 13's helpers: the nearest ladder model, the mis-sizing penalty of Eq. 2, and
the tokens a model needs to reach a loss, checked against the laws."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from scalinglaws import constants as k
from scalinglaws import laws
from scalinglaws.counting import params_total
from scalinglaws.grid import run_spec
from scalinglaws.miniature import committed_record, mis_sizing_penalty, nearest_shape, side_by_side
from scalinglaws.presets import CPU_LADDER, get_preset
from scalinglaws.reference import sweep_results


def test_nearest_shape_is_nearest_in_log_n():
    sizes = [params_total(shape) for shape in CPU_LADDER]
    assert sizes[4] == 25_056 and sizes[5] == 37_760
    assert nearest_shape(CPU_LADDER, 25_056) == CPU_LADDER[4]
    assert nearest_shape(CPU_LADDER, 35_000) == CPU_LADDER[5]
    midpoint = math.sqrt(sizes[4] * sizes[5])
    assert nearest_shape(CPU_LADDER, midpoint * 0.999) == CPU_LADDER[4]
    assert nearest_shape(CPU_LADDER, midpoint * 1.001) == CPU_LADDER[5]
    assert nearest_shape(CPU_LADDER, 1.0) == CPU_LADDER[0]
    assert nearest_shape(CPU_LADDER, 1e12) == CPU_LADDER[-1]
    with pytest.raises(ValueError):
        nearest_shape([], 1e4)
    with pytest.raises(ValueError):
        nearest_shape(CPU_LADDER, 0)


def test_committed_record_finds_the_run_only_with_identical_settings():
    records = [json.loads(line) for line in sweep_results("cpu").read_text().splitlines()[1:]]
    spec = run_spec(get_preset("cpu"), 1e12, CPU_LADDER[4])
    record = committed_record(records, spec)
    assert record is not None and record["final_loss"] == pytest.approx(1.8357, abs=5e-5)
    assert committed_record(records, run_spec(get_preset("cpu"), 1e12, CPU_LADDER[4], seed=1)) is None
    other_lr = replace(spec, config=replace(spec.config, peak_lr=0.01))
    assert committed_record([{**record, "run_id": other_lr.run_id}], other_lr) is None


@pytest.mark.parametrize("fit", [k.CHINCHILLA_PRINTED, k.CHINCHILLA_UNROUNDED, k.BESIROGLU_REFIT])
@pytest.mark.parametrize("factor", [0.25, 0.5, 2.0, 4.0, 16.0])
def test_mis_sizing_penalty_is_eq_2_along_the_isoflop_line(fit, factor):
    for flops in (1e20, k.GOPHER_FLOPS, 1e26):
        n_opt, d_opt = laws.optimal_allocation(fit, flops)
        best = laws.parametric_loss(fit, n_opt, d_opt)
        other = laws.parametric_loss(fit, factor * n_opt, d_opt / factor)
        assert other - best == pytest.approx(mis_sizing_penalty(fit.alpha, fit.beta, factor) * (best - fit.E),
                                             rel=1e-9)


def test_mis_sizing_penalty_is_zero_at_the_optimum_and_positive_elsewhere():
    assert mis_sizing_penalty(0.34, 0.28, 1.0) == pytest.approx(0.0, abs=1e-15)
    factors = np.geomspace(1 / 16, 16, 41)
    penalties = mis_sizing_penalty(0.34, 0.28, factors)
    assert penalties.shape == factors.shape
    assert np.all(penalties[factors != 1.0] > 0)
    # Chinchilla's printed fit: 4x too big costs about 9% of the reducible loss.
    assert mis_sizing_penalty(0.34, 0.28, 4.0) == pytest.approx(0.090, abs=0.001)
    with pytest.raises(ValueError):
        mis_sizing_penalty(0.0, 0.28, 4.0)
    with pytest.raises(ValueError):
        mis_sizing_penalty(0.34, 0.28, -1.0)


def test_side_by_side_wraps_both_columns_and_flattens_control_bytes():
    text = side_by_side("one two three four five six seven eight nine ten", "a\nb\tc\x00d",
                        titles=("left", "right"), width=12, gap=3)
    lines = text.splitlines()
    assert lines[0] == "left" + " " * 11 + "right"
    assert lines[1] == "-" * 12 + "   " + "-" * 12
    assert lines[2] == "one two" + " " * 8 + "a b c d"
    assert all(len(line) <= 12 + 3 + 12 for line in lines)
    assert [line[:12].strip() for line in lines[2:]] == ["one two", "three four", "five six", "seven eight",
                                                           "nine ten"]
    assert side_by_side("", "x", width=10).splitlines() == [" " * 14 + "x"]
    with pytest.raises(ValueError):
        side_by_side("a", "b", width=5)
