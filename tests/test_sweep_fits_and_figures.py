"""A sweep fitted run by run (scalinglaws.fitting.sweep_fits) and drawn (scalinglaws.book.sweep_figures):
counting conventions of the loader, the tidy tables, the figures."""

import json
import math
from dataclasses import replace
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from scalinglaws.book import sweep_figures  # noqa: E402
from scalinglaws.data.results import load_results, results_to_runs  # noqa: E402
from scalinglaws.data.runs import Runs  # noqa: E402
from scalinglaws.fitting import sweep_fits  # noqa: E402
from scalinglaws.fitting import synthetic  # noqa: E402
from scalinglaws.papers import constants, counting, laws  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "results" / "demo" / "results.jsonl"
PILOT = ROOT / "results" / "pilot"
LAW = constants.BESIROGLU_REFIT
TRUE_A, TRUE_B = laws.allocation_exponents(LAW)


def with_curves(runs: Runs, law=LAW, evaluations: int = 40) -> Runs:
    """Synthetic IsoFLOP runs with loss curves that follow the same law along the run
    (the envelope-consistent choice of :mod:`fitting.synthetic`)."""
    curved = []
    for run in runs:
        seen = run.tokens * np.geomspace(0.01, 1.0, evaluations)
        curved.append(replace(run, curve_tokens=seen, curve_loss=laws.parametric_loss(law, run.params, seen)))
    return Runs(tuple(curved))


@pytest.fixture(scope="module")
def synthetic_sweep():
    runs = with_curves(synthetic.isoflop_runs(np.geomspace(1e18, 1e22, 9), LAW, sizes_per_budget=9))
    return sweep_fits.fit_sweep(runs, label="synthetic", n_bootstrap=0)


@pytest.fixture(scope="module")
def synthetic_bootstrapped():
    runs = synthetic.isoflop_runs(np.geomspace(1e18, 1e21, 5), LAW, noise=0.002, seed=1)
    return sweep_fits.fit_sweep(with_curves(runs), label="noisy", n_bootstrap=8)


# ------------------------------------------------------------------------------------------
# Loading under a counting convention
# ------------------------------------------------------------------------------------------


def shape_of(record) -> counting.TransformerShape:
    return counting.TransformerShape(**record["shape"])


@pytest.mark.parametrize("params", ["total", "non_embedding"])
@pytest.mark.parametrize("flops", ["6nd", "appendix_f"])
def test_conventions_agree_with_counting(params, flops):
    _, records = load_results(DEMO)
    runs = sweep_fits.load_sweep_runs(DEMO, params=params, flops=flops)
    assert len(runs) == len(records) == 15
    for run, record in zip(runs, records):
        shape = shape_of(record)
        n = counting.params_total(shape) if params == "total" else counting.params_non_embedding(shape)
        tokens = record["tokens"]
        c = 6.0 * n * tokens if flops == "6nd" else counting.chinchilla_flops_per_token(shape) * tokens
        assert run.params == n and run.tokens == tokens
        assert run.flops == pytest.approx(c, rel=1e-12)


def test_the_smallest_pilot_model_is_mostly_embedding():
    # 1 layer, width 8, context 128, bytes: 3,960 parameters (results/pilot/README.md), of which
    # (256 + 128) x 8 = 3,072 are embeddings, so Kaplan's N is 888.
    runs = {run.name: run for run in sweep_fits.load_sweep_runs(PILOT / "isoflop_batch8", params="non_embedding")}
    run = runs["C3e+11-L1-d8-h1-ctx128-b8-lr0.0245-seed0"]
    assert run.params == 888 and run.non_embedding_params == 888
    assert run.flops == pytest.approx(6 * 888 * run.tokens)


def test_default_convention_is_results_to_runs_with_nominal_budgets():
    loaded, plain = sweep_fits.load_sweep_runs(DEMO), results_to_runs(DEMO)
    np.testing.assert_array_equal(loaded.params, plain.params)
    np.testing.assert_array_equal(loaded.flops, plain.flops)
    _, records = load_results(DEMO)
    np.testing.assert_array_equal(loaded.budgets(), [record["budget"] for record in records])


def test_budget_labels_scale_by_the_mean_ratio_of_the_convention():
    _, records = load_results(DEMO)
    runs = sweep_fits.load_sweep_runs(DEMO, params="non_embedding")
    for budget in {record["budget"] for record in records}:
        members = [r for r in records if r["budget"] == budget]
        ratio = math.exp(np.mean([math.log(r["params_non_embedding"] / r["params_total"]) for r in members]))
        labels = [run.budget for run, r in zip(runs, records) if r["budget"] == budget]
        assert labels == [pytest.approx(budget * ratio, rel=1e-12)] * len(members)


def test_budget_selection_and_concatenation():
    at_3e12 = sweep_fits.load_sweep_runs(PILOT / "isoflop", budgets=[3e12])
    assert len(at_3e12) == 6 and set(at_3e12.budgets()) == {3e12}
    both = sweep_fits.load_sweep_runs(PILOT / "isoflop_batch8") + at_3e12
    assert len(both) == 18 and both[12].name == at_3e12[0].name
    with pytest.raises(ValueError, match=r"no runs at budget\(s\) 1e\+13; its budgets are 3e\+11, 1e\+12, 3e\+12"):
        sweep_fits.load_sweep_runs(PILOT / "isoflop", budgets=[1e13])


@pytest.mark.parametrize("params, flops, message", [
    ("kaplan", "6nd", "unknown params convention 'kaplan'; choose one of: total, non_embedding"),
    ("total", "6ND", "unknown flops convention '6ND'; choose one of: 6nd, appendix_f"),
])
def test_unknown_conventions_name_the_valid_ones(params, flops, message):
    with pytest.raises(ValueError, match=message):
        sweep_fits.load_sweep_runs(DEMO, params=params, flops=flops)


def write_results(path: Path, records) -> Path:
    lines = DEMO.read_text().splitlines()[:1] + [json.dumps(record) for record in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_empty_results_and_empty_runs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="holds no finished runs yet; expected at least one run record"):
        sweep_fits.load_sweep_runs(write_results(tmp_path / "results.jsonl", []))
    with pytest.raises(ValueError, match="fit_sweep needs runs"):
        sweep_fits.fit_sweep(Runs(()))


def test_diverged_runs_are_counted_and_left_out(tmp_path):
    _, records = load_results(DEMO)
    records[0] = dict(records[0], diverged=True, final_loss=None)
    runs = sweep_fits.load_sweep_runs(write_results(tmp_path / "results.jsonl", records))
    assert len(runs) == 15 and runs.diverged.sum() == 1 and math.isnan(runs[0].loss)
    sweep = sweep_fits.fit_sweep(runs, label="demo", n_bootstrap=0)
    assert sweep.n_diverged == 1
    assert "demo: 15 runs, 1 diverged (left out of the fits)" in sweep.table().format()
    profiles = sweep.fit(2).profiles
    assert sum(profile.n_runs for profile in profiles) == 14


def test_records_fitted_with_every_correction_off_are_fit_sweep_of_their_runs():
    """fit_sweep_records under PLAIN is fit_sweep on the same runs: one kind of result, the same fits
    and bootstrap refits, the same printed report (diverged runs counted and left out)."""
    from scalinglaws.data.results import records_to_runs

    _, records = load_results(DEMO)
    records[0] = dict(records[0], diverged=True, final_loss=None)
    plain = sweep_fits.fit_sweep_records(records, n_bootstrap=4, seed=2, options=sweep_fits.PLAIN)
    book = sweep_fits.fit_sweep(records_to_runs(records), n_bootstrap=4, seed=2)
    assert type(plain) is type(book) is sweep_fits.SweepFits
    assert plain.n_diverged == book.n_diverged == 1 and plain.skipped == {}
    assert plain.report.format() == book.report.format()
    for number in (1, 2, 3):
        assert plain.a(number) == book.a(number) == book.fit(number).a
        boot = book.report.approach(number).bootstrap
        assert plain.bootstrap[f"approach{number}"].samples.keys() == boot.samples.keys()
        for name, samples in boot.samples.items():
            assert np.array_equal(plain.bootstrap[f"approach{number}"].samples[name], samples)


# ------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------


def test_tidy_table_recovers_the_true_exponents(synthetic_sweep):
    table = synthetic_sweep.table()
    assert len(table.rows) == 3
    for approach in (1, 2, 3):
        row = table.row("synthetic", approach)
        assert not row.skipped
        assert row.a == pytest.approx(TRUE_A, abs=0.02) and row.b == pytest.approx(TRUE_B, abs=0.02)


def test_tidy_table_recovers_a_kaplan_like_exponent():
    # A law whose data term falls faster than its size term: a = 0.5 / (0.2 + 0.5) = 0.714.
    law = replace(LAW, alpha=0.2, beta=0.5)
    a, b = laws.allocation_exponents(law)
    runs = with_curves(synthetic.isoflop_runs(np.geomspace(1e18, 1e22, 9), law, sizes_per_budget=9), law)
    table = sweep_fits.fit_sweep(runs, label="kaplan-like", n_bootstrap=0).table()
    for approach in (1, 2, 3):
        row = table.row("kaplan-like", approach)
        assert row.a == pytest.approx(a, abs=0.02) and row.b == pytest.approx(b, abs=0.02)


def test_bootstrap_intervals_reach_the_table(synthetic_bootstrapped):
    for approach in (1, 2, 3):
        row = synthetic_bootstrapped.table().row("noisy", approach)
        low, high = row.a_interval
        assert low <= row.a <= high and high - low < 0.1
        assert row.a == pytest.approx(TRUE_A, abs=0.02)
        assert row.refits.endswith("/8")


def test_comparison_puts_table_2_next_to_each_sweep(synthetic_sweep, synthetic_bootstrapped):
    text = sweep_fits.compare_exponents(synthetic_sweep, synthetic_bootstrapped)
    lines = text.splitlines()
    assert lines[0].split()[-2:] == ["synthetic", "noisy"]
    assert "0.50 (0.488-0.502)" in lines[2] and f"{synthetic_sweep.fit(1).a:.3f}" in lines[2]
    assert lines[-1].split() == ["Kaplan", "et", "al.", "(2020)", "0.73"]
    b_text = sweep_fits.compare_exponents(synthetic_sweep, exponent="b")
    assert "0.54 (0.542-0.543)" in b_text and f"{synthetic_sweep.fit(3).b:.3f}" in b_text
    with pytest.raises(ValueError, match="exponent must be 'a'"):
        sweep_fits.compare_exponents(synthetic_sweep, exponent="c")


def test_skipped_approach_is_named_in_the_table():
    runs = synthetic.isoflop_runs(np.geomspace(1e18, 1e21, 4), LAW)  # no curves: no Approach 1
    sweep = sweep_fits.fit_sweep(runs, label="no curves", n_bootstrap=0)
    assert sweep.table().row("no curves", 1).skipped == "the runs have no loss curves"
    assert "skipped" in sweep_fits.compare_exponents(sweep).splitlines()[2]
    with pytest.raises(ValueError, match="Approach 1 was skipped"):
        sweep_figures.plot_training_envelope(sweep)
    fig, ax = sweep_figures.plot_allocation(sweep)  # Approaches 2 and 3 only: 4 laws, 2 measured, 4 slopes
    assert len(ax.lines) == 4 + 2 + 4
    plt.close(fig)
    with pytest.raises(ValueError, match="approach must be 1, 2 or 3"):
        sweep.fit(4)


def test_pilot_runs_under_the_cpu_rules_give_the_readme_exponents():
    # results/pilot/README.md, section 4: a = 0.511 / 0.607 / 0.621 (Approaches 1 / 2 / 3).
    runs = (sweep_fits.load_sweep_runs(PILOT / "isoflop_batch8")
            + sweep_fits.load_sweep_runs(PILOT / "isoflop", budgets=[3e12])
            + sweep_fits.load_sweep_runs(PILOT / "cpu_1e13"))
    table = sweep_fits.fit_sweep(runs, label="pilot", n_bootstrap=0).table()
    assert [round(table.row("pilot", i).a, 3) for i in (1, 2, 3)] == [0.511, 0.607, 0.621]


# ------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------


def assert_labelled(ax, xscale="log", yscale="log"):
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert ax.get_xscale() == xscale and ax.get_yscale() == yscale


def test_isoflop_profiles_figure(synthetic_sweep):
    fig, ax = sweep_figures.plot_isoflop_profiles(synthetic_sweep)
    profiles = synthetic_sweep.fit(2).profiles
    assert len(ax.collections) == len(profiles) == 9  # one scatter of runs per budget
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(synthetic_sweep.runs)
    stars = [line for line in ax.lines if line.get_marker() == "*"]
    assert len(stars) == sum(p.usable for p in profiles) and len(ax.lines) == 9 + len(stars)
    n_opt = sorted(float(star.get_xdata()[0]) for star in stars)
    np.testing.assert_allclose(n_opt, sorted(p.n_opt for p in profiles if p.usable))
    assert_labelled(ax, yscale="linear")
    plt.close(fig)


def test_training_envelope_figure(synthetic_sweep):
    fig, (left, right) = sweep_figures.plot_training_envelope(synthetic_sweep)
    fit = synthetic_sweep.fit(1)
    assert len(left.lines) == len(synthetic_sweep.runs) + 1
    np.testing.assert_array_equal(left.lines[-1].get_ydata(), fit.loss)
    assert len(right.lines) == 2
    np.testing.assert_array_equal(right.lines[0].get_ydata(), fit.n_opt)
    assert_labelled(left)
    assert_labelled(right)
    plt.close(fig)


def test_allocation_figure(synthetic_sweep):
    fig, ax = sweep_figures.plot_allocation(synthetic_sweep)
    # N and D laws of 3 approaches, measured N and D of Approaches 1 and 2, 2 x 2 reference slopes.
    assert len(ax.lines) == 6 + 4 + 4
    slopes = [np.polyfit(np.log(line.get_xdata()), np.log(line.get_ydata()), 1)[0] for line in ax.lines[-4:]]
    np.testing.assert_allclose(slopes, [0.50, 0.50, 0.73, 0.27])
    law_slopes = [np.polyfit(np.log(line.get_xdata()), np.log(line.get_ydata()), 1)[0] for line in ax.lines[:6]]
    np.testing.assert_allclose(law_slopes, [TRUE_A, TRUE_B] * 3, atol=0.02)
    assert len(ax.get_legend().get_texts()) == 5
    assert_labelled(ax)
    plt.close(fig)


def test_parametric_fit_figure(synthetic_sweep):
    fig, ax = sweep_figures.plot_parametric_fit(synthetic_sweep)
    assert len(ax.collections) == 9 and len(ax.lines) == 9 + 1
    fit = synthetic_sweep.fit(3)
    frontier = ax.lines[-1]
    n, loss = frontier.get_xdata(), frontier.get_ydata()
    # The frontier is L(N_opt(C), D_opt(C)) of Eq. 4: each N is optimal for C = 6 N D.
    c = np.array([laws.optimal_flops_for_params(fit, value) for value in n])
    np.testing.assert_allclose(loss, laws.parametric_loss(fit, n, c / (6 * n)), rtol=1e-9)
    assert_labelled(ax, yscale="linear")
    plt.close(fig)


def test_tokens_per_param_figure(synthetic_sweep):
    fig, ax = sweep_figures.plot_tokens_per_param(synthetic_sweep)
    assert len(ax.lines) == 3 + 2 + 1
    chinchilla = ax.lines[-1]
    assert set(chinchilla.get_ydata()) == {20.0}
    # Approach 2's measured ratios are D_opt / N_opt of its usable profiles.
    profiles = [p for p in synthetic_sweep.fit(2).profiles if p.usable]
    np.testing.assert_allclose(ax.lines[4].get_ydata(), [p.d_opt / p.n_opt for p in profiles])
    assert_labelled(ax)
    plt.close(fig)


# ------------------------------------------------------------------------------------------
# Inside the fits: the envelope's runs, the profiles' outliers, the refits
# ------------------------------------------------------------------------------------------

CPU = ROOT / "results" / "cpu" / "results.jsonl"


@pytest.fixture(scope="module")
def cpu_sweep():
    return sweep_fits.fit_sweep(sweep_fits.load_sweep_runs(CPU), label="cpu", n_bootstrap=0)


def test_envelope_segments_tile_the_envelope(synthetic_sweep):
    fit = synthetic_sweep.fit(1)
    segments = sweep_fits.envelope_segments(synthetic_sweep)
    assert sum(s.n_points for s in segments) == fit.n_grid_points
    start = 0
    for segment in segments:
        span = slice(start, start + segment.n_points)
        assert set(fit.n_opt[span]) == {segment.params}
        assert (segment.flops_start, segment.flops_end) == (fit.flops[span][0], fit.flops[span][-1])
        assert 0 < segment.fraction_start <= segment.fraction_end <= 1 + 1e-12
        start += segment.n_points
    assert len(sweep_fits.format_envelope_segments(segments).splitlines()) == len(segments) + 2


def test_cpu_envelope_alternates_run_ends_and_the_middles_of_longer_runs(cpu_sweep):
    # results/cpu: at each budget's C the runs of that budget end, and from there on only the
    # runs of the next budget (3x longer) cover C, a third of the way through their training.
    segments = sweep_fits.envelope_segments(cpu_sweep)
    assert [round(s.fraction_end, 2) for s in segments][-1] == 1.0
    assert segments[-1].params == 280_368 and segments[-1].budget == 3e13
    budgets = np.array([3e11, 1e12, 3e12, 1e13])
    at_a_budget = [s for s in segments if np.any(np.isclose(s.flops_start, budgets, rtol=0.01))]
    assert len(at_a_budget) == 4
    for segment in at_a_budget:
        assert segment.budget > segment.flops_start
        assert segment.fraction_start == pytest.approx(segment.flops_start / segment.budget, rel=1e-3)
        assert 0.29 < segment.fraction_start < 0.34


def test_isoflop_outliers_are_the_points_the_profile_dropped(cpu_sweep):
    outliers = sweep_fits.isoflop_outliers(cpu_sweep)
    # results/cpu/README.md: at 1e12 FLOPs 25,056 parameters reach 1.8357 and 37,760 only 1.9075.
    assert sorted(outliers.params) == [25_056, 37_760] and set(outliers.budgets()) == {1e12}
    profile = next(p for p in cpu_sweep.fit(2).profiles if p.budget == 1e12)
    assert profile.n_outliers == 2


def test_a_planted_outlier_is_found_and_crossed_out():
    runs = synthetic.isoflop_runs(np.geomspace(1e18, 1e21, 4), LAW, sizes_per_budget=7)
    runs = Runs(tuple(replace(run, loss=run.loss + 0.3) if index == 10 else run for index, run in enumerate(runs)))
    sweep = sweep_fits.fit_sweep(runs, label="planted", n_bootstrap=0)
    outliers = sweep_fits.isoflop_outliers(sweep)
    assert len(outliers) == 1 and outliers[0].loss == runs[10].loss
    fig, ax = sweep_figures.plot_isoflop_profiles(sweep)
    crosses = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(crosses) == 1 and list(crosses[0].get_ydata()) == [runs[10].loss]
    plt.close(fig)


def test_envelope_winners_figure(synthetic_sweep):
    fig, ax = sweep_figures.plot_envelope_winners(synthetic_sweep)
    fit = synthetic_sweep.fit(1)
    points = ax.collections[0].get_offsets()
    np.testing.assert_array_equal(points[:, 0], fit.flops)
    assert np.all((points[:, 1] > 0) & (points[:, 1] <= 1 + 1e-12))
    assert len(ax.get_legend().get_texts()) == np.unique(fit.n_opt).size
    assert_labelled(ax, yscale="linear")
    plt.close(fig)


def test_bootstrap_figure(synthetic_bootstrapped):
    fig, ax = sweep_figures.plot_bootstrap(synthetic_bootstrapped, approaches=(1, 2))
    assert len(ax.get_legend().get_texts()) == 3  # two approaches and Table 2
    heights = [sum(patch.get_height() for patch in container) for container in ax.containers]
    assert heights == [8, 8]
    fit_lines = [line for line in ax.lines if line.get_linewidth() == 2]
    np.testing.assert_allclose([line.get_xdata()[0] for line in fit_lines],
                               [synthetic_bootstrapped.fit(i).a for i in (1, 2)])
    assert_labelled(ax, xscale="linear", yscale="linear")
    plt.close(fig)
    with pytest.raises(ValueError, match="has bootstrap refits"):
        sweep_figures.plot_bootstrap(sweep_fits.fit_sweep(synthetic_bootstrapped.runs, n_bootstrap=0))


def test_figures_draw_a_chosen_approach(synthetic_sweep):
    fig, ax = sweep_figures.plot_allocation(synthetic_sweep, approaches=(1,))
    assert len(ax.lines) == 2 + 2 + 4  # Approach 1's N and D laws and envelope, 2 x 2 slopes
    assert len(ax.get_legend().get_texts()) == 3
    plt.close(fig)
    fig, ax = sweep_figures.plot_tokens_per_param(synthetic_sweep, approaches=[2])
    profiles = [p for p in synthetic_sweep.fit(2).profiles if p.usable]
    assert len(ax.lines) == 1 + 1 + 1
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [p.d_opt / p.n_opt for p in profiles])
    plt.close(fig)
    with pytest.raises(ValueError, match="approaches must be a selection of 1, 2 and 3"):
        sweep_figures.plot_allocation(synthetic_sweep, approaches=(4,))


def test_chinchillas_twenty_tokens_per_parameter_are_about_eighty_bytes():
    # Hoffmann Table 1: 1.4T tokens for 70B parameters; at about 4 bytes per token of English.
    from scalinglaws.book.sweep_figures import (BYTES_PER_TOKEN_ENGLISH, CHINCHILLA_BYTES_PER_PARAM,
                                                CHINCHILLA_TOKENS_PER_PARAM)

    assert CHINCHILLA_TOKENS_PER_PARAM == pytest.approx(20.0)
    assert CHINCHILLA_BYTES_PER_PARAM == pytest.approx(80.0)
    assert CHINCHILLA_BYTES_PER_PARAM == BYTES_PER_TOKEN_ENGLISH * CHINCHILLA_TOKENS_PER_PARAM
