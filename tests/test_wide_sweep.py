"""The wide sweep's grids (scalinglaws.sweeps.wide_sweep)."""

import dataclasses
import json
import math

import numpy as np
import pytest

from scalinglaws.fitting import design
from scalinglaws.papers import counting
from scalinglaws.papers.constants import ParametricFit
from scalinglaws.papers.laws import optimal_allocation
from scalinglaws.sweeps import wide_sweep
from scalinglaws.training import wsd_plan

#: Approach 3 with a held at 0.535 on results/tuned's seed means is close to this; any smooth law serves here.
PILOT = ParametricFit("pilot-like", E=1.21, A=40.0, B=900.0, alpha=0.44, beta=0.51)


def test_the_ladder_is_the_head16_family_from_2_to_8_layers():
    assert wide_sweep.ladder()[:5] == (37_760, 103_344, 224_640, 420_080, 708_096)
    assert len(wide_sweep.ladder()) == 7


def test_each_budget_takes_the_rungs_within_16x_of_the_pilots_optimum():
    grid = wide_sweep.wide_grid(PILOT, 1.3e12, 60.0)
    assert grid.budgets[0] == 1.3e12 and grid.budgets[-1] == pytest.approx(7.8e13)
    assert all(b2 / b1 == pytest.approx(60.0 ** (1 / 6)) for b1, b2 in zip(grid.budgets, grid.budgets[1:]))
    for budget, sizes in zip(grid.budgets, grid.sizes):
        n_opt = float(optimal_allocation(PILOT, budget)[0])
        assert len(sizes) >= 3
        if len(sizes) > 3:
            assert all(abs(math.log(n / n_opt)) <= math.log(4.0) for n in sizes)


def test_one_trunk_per_size_at_its_own_batch_and_rate_with_a_branch_per_budget():
    grid = wide_sweep.wide_grid(PILOT, 1.3e12, 60.0)
    specs = wide_sweep.wide_specs(grid, batch_for=lambda n: 6 * (n / 1e5) ** 0.5, lr_for=lambda n, b: 0.004 * b ** 0.5,
                                  beta2=0.99)
    trunks = wsd_plan.plan(specs)
    assert len(trunks) == len({n for sizes in grid.sizes for n in sizes})
    assert len(specs) == sum(len(sizes) for sizes in grid.sizes)
    for trunk in trunks:
        n_params = counting.params_total(trunk.branches[0].config.shape)
        batch = trunk.branches[0].config.batch_size
        assert batch == 2 ** round(math.log2(6 * (n_params / 1e5) ** 0.5))
        assert {s.config.batch_size for s in trunk.branches} == {batch}
        for spec in trunk.branches:  # each branch spends its budget to within half a batch of tokens
            assert abs(counting.flops_6nd(n_params, spec.config.tokens) - spec.budget) <= 3 * n_params * batch * 128


def test_bad_batches_and_sizes_off_the_ladder_are_refused():
    with pytest.raises(ValueError, match="positive number of sequences"):
        wide_sweep.nearest_power_of_two(0.0)
    grid = design.Grid((1e13,), ((50_000.0, 103_344.0, 224_640.0),), 1)
    with pytest.raises(ValueError, match="not a rung of the head-16 ladder"):
        wide_sweep.wide_specs(grid, lambda n: 4, lambda n, b: 0.004, beta2=0.99)


@pytest.fixture(scope="module")
def chosen():
    return wide_sweep.chosen_specs()


def test_the_chosen_grid_keeps_every_run_above_the_step_floor_from_its_first_budget(chosen):
    """2.8e12 is the smallest first budget (to two figures) at which every run gets 4,000 steps of batch 4."""
    assert min(spec.config.steps for spec in chosen) >= 4000
    _, _, pilot = wide_sweep.reference_inputs()
    below = wide_sweep.wide_grid(pilot, 2.7e12, 30.0)
    assert below.token_range()[0] < 4000 * 4 * 128


def test_the_chosen_grid_is_the_reference_recipe_on_a_30x_span_within_10_core_hours(chosen):
    from scalinglaws.sweeps.tuned_sweep import DEFAULT_TRAIN_BYTES, MAX_EPOCHS, tuned_recipe

    recipe = tuned_recipe()
    budgets = sorted({spec.budget for spec in chosen})
    assert len(budgets) == 6 and budgets[-1] / budgets[0] == pytest.approx(30.0)
    for spec in chosen:
        n_params = counting.params_total(spec.config.shape)
        assert spec.config.batch_size == 4 and spec.config.warmup_steps == 200
        assert spec.config.peak_lr == float(f"{recipe.lr_rule.peak_lr(n_params):.3g}")
        assert spec.config.betas[1] == recipe.beta2 and spec.config.seed == 0
        assert spec.config.tokens <= MAX_EPOCHS * DEFAULT_TRAIN_BYTES
    planned, _ = wsd_plan.cost(wsd_plan.plan(chosen))
    assert planned / wide_sweep.MEASURED_FLOPS_PER_CORE_SECOND / 3600 <= 10.0
    assert len(wsd_plan.plan(chosen)) == 7  # one trunk per rung, L2 to L8


def test_the_committed_design_marks_the_chosen_grid():
    text = (wide_sweep.OUT / "DESIGN.md").read_text()
    chosen_rows = [line for line in text.splitlines() if "(chosen)" in line]
    assert len(chosen_rows) == 1 and chosen_rows[0].startswith("| 30x from 2.8e+12, 1 seed (chosen)")


# ------------------------------------------------------------------------------------------
# The fit of the complete sweep, and the held-out prediction (on synthetic records of the chosen grid)
# ------------------------------------------------------------------------------------------

#: Approach 3 with a held at 0.5 on results/tuned's seed means (tests/test_design.py): the truth here.
LAW_05 = ParametricFit("a = 0.5", E=1.218, A=65.82, B=459.9, alpha=0.4868, beta=0.4868)


def synthetic_records(specs, law, noise_sd: float = 0.0, seed: int = 0) -> list[dict]:
    """One record per run of ``specs`` as the runner writes them, its final loss ``law``'s plus normal noise."""
    from scalinglaws.papers.laws import parametric_loss

    rng = np.random.default_rng(seed)
    records = []
    for spec in specs:
        n_params = counting.params_total(spec.config.shape)
        tokens = spec.config.tokens
        records.append({"kind": "run", "run_id": spec.run_id, "budget": spec.budget, "params_total": n_params, "tokens": tokens,
                        "final_loss": float(parametric_loss(law, n_params, tokens)) + noise_sd * rng.normal(),
                        "seed": spec.config.seed, "branch": {"trunk": f"L{spec.config.shape.n_layers}-seed{spec.config.seed}"}, "diverged": False,
                        "shape": dataclasses.asdict(spec.config.shape)})
    return records


@pytest.fixture(scope="module")
def synthetic_fit(chosen):
    return wide_sweep.fit_wide(synthetic_records(chosen, LAW_05, noise_sd=0.002), n_sweeps=3)


def test_the_fit_gives_back_the_law_of_synthetic_runs_and_reports_every_rule(synthetic_fit):
    fit = synthetic_fit
    assert len(fit.runs) == 25 and fit.n_diverged == 0 and fit.seed_sd == pytest.approx(0.0225, abs=5e-4)
    assert fit.every_size.exponent(3) == pytest.approx(0.5, abs=0.03)
    assert fit.every_size.exponent(2) == pytest.approx(0.5, abs=0.04)
    assert set(fit.redraws) == {"offset + run", "drifting"}
    assert all(r.every_size.shape == (3, 3) and r.true_a == pytest.approx(fit.law.a) for r in fit.redraws.values())
    assert sum(p.usable for p in fit.approach2.profiles) >= 5
    text = wide_sweep.report_text(fit)
    for heading in ("# The `wide` sweep fitted", "## Without the smallest size (37,760 parameters, 2 runs)",
                    "## Approach 2's profiles", "## Do the approaches agree?"):
        assert heading in text
    assert "25 finished runs (0 diverged, left out) at 6 budgets" in text and "side of 0.615" in text


def test_saved_redraws_give_the_same_report_and_refuse_another_sweep(chosen, synthetic_fit):
    saved = wide_sweep.redraws_from_payload(json.loads(json.dumps(wide_sweep.redraws_payload(synthetic_fit))))
    for name, redraws in synthetic_fit.redraws.items():
        assert np.array_equal(saved[name].every_size, redraws.every_size, equal_nan=True)
    again = wide_sweep.fit_wide(synthetic_records(chosen, LAW_05, noise_sd=0.002), redraws=saved)
    assert wide_sweep.report_text(again) == wide_sweep.report_text(synthetic_fit)
    # the noise models redrawn in two processes: the same numbers
    parallel = wide_sweep.fit_wide(synthetic_records(chosen, LAW_05, noise_sd=0.002), n_sweeps=3, jobs=2)
    assert wide_sweep.report_text(parallel) == wide_sweep.report_text(synthetic_fit)
    with pytest.raises(ValueError, match="drawn from another law"):
        wide_sweep.fit_wide(synthetic_records(chosen, LAW_05, noise_sd=0.002, seed=1), redraws=saved)


def test_the_prediction_is_3x_the_top_budget_with_an_interval_around_its_loss(synthetic_fit):
    prediction, intervals = wide_sweep.predict_from(synthetic_fit)
    assert prediction.flops == wide_sweep.heldout_budget() == 2.52e14
    ratio = prediction.twin.n_params / prediction.optimum.n_params
    assert 2.5 < ratio < 6.5  # the family's rungs nearest 4x
    for name in ("offset + run", "drifting"):
        for which in ("optimum", "twin"):
            low, high = intervals[name][which]  # 3 redraws: an interval in form only (tests/test_parametric_redraws.py)
            assert 1.0 < low < high < low + 0.2
    specs = wide_sweep.heldout_specs(prediction)
    assert len(specs) == 4 and {spec.budget for spec in specs} == {2.52e14}
    assert {spec.config.seed for spec in specs} == {0, 1} and {spec.config.batch_size for spec in specs} == {4}
    for spec in specs:
        n_params = counting.params_total(spec.config.shape)
        assert abs(counting.flops_6nd(n_params, spec.config.tokens) - 2.52e14) <= 3 * n_params * 4 * 128


def test_a_partial_sweep_is_not_fitted(tmp_path, chosen):
    from scalinglaws.sweeps.runner import header_for

    header = header_for("wide", wide_sweep.DESCRIPTION, chosen)
    records = synthetic_records(chosen[:3], LAW_05)
    (tmp_path / "results.jsonl").write_text("\n".join(json.dumps(line) for line in [header, *records]) + "\n")
    with pytest.raises(SystemExit, match="3 of 25 runs finished; the fit waits for the whole sweep"):
        wide_sweep.complete_records(tmp_path)


def test_a_ladder_row_of_a_one_seed_sweep_takes_its_intervals_from_the_saved_redraws(tmp_path, chosen, synthetic_fit):
    from scalinglaws.sweeps import ladder_table

    path = tmp_path / "redraws.json"
    path.write_text(json.dumps(wide_sweep.redraws_payload(synthetic_fit)))
    fits = ladder_table.redrawn_fits(synthetic_records(chosen, LAW_05, noise_sd=0.002), path)
    for number in (1, 2, 3):
        assert fits.a(number) == synthetic_fit.every_size.exponent(number)
        assert fits.a_interval(number) == synthetic_fit.redraws["offset + run"].bias_corrected_interval(number)
    step = ladder_table.LadderStep("+ wider centred design", "wide", reference_grid=False, intervals="redraws")
    table = ladder_table.format_ladder_table([ladder_table.LadderRow(step, 25, fits)])
    low, high = fits.a_interval(2)
    assert f"{fits.a(2):.3f} [{low:.2f}, {high:.2f}]" in table
    with pytest.raises(ValueError, match="intervals must be 'bootstrap' or 'redraws', got 'seeds'"):
        ladder_table.LadderStep("x", "wide", intervals="seeds")


def test_an_approach_that_fails_everywhere_is_reported_not_decided(synthetic_fit):
    from scalinglaws.fitting.parametric_redraws import Redraws, ThreeFits

    def without_approach1(array):
        array = array.copy()
        array[:, 0] = np.nan
        return array

    redraws = {name: Redraws(r.law, without_approach1(r.every_size), without_approach1(r.without_smallest), r.laws)
               for name, r in synthetic_fit.redraws.items()}
    failed = dataclasses.replace(synthetic_fit, redraws=redraws,
                                 every_size=ThreeFits((np.nan, *synthetic_fit.every_size.a[1:]), synthetic_fit.law))
    text = wide_sweep.report_text(failed)
    assert text.count("not decided (a fit failed)") == 2 * 2  # pairs 1-2 and 1-3, each noise model
    assert "Failed refits (Approaches 1 / 2 / 3), left out of the percentiles: offset + run: 3 / 0 / 0" in text


def test_the_committed_coverage_check_holds_the_amended_rule():
    """results/wide/COVERAGE.md, simulated before the fit: the bias-corrected interval holds the true a in
    80-91% of sweeps for every approach, truth and noise model; Approach 1's percentile interval does not."""
    import re

    rows = [line for line in (wide_sweep.OUT / "COVERAGE.md").read_text().splitlines()
            if line.startswith(("0.5 ", "0.73 "))]
    assert len(rows) == 10
    for row in rows:
        (covered, n), (corrected, n_again) = ((int(a), int(b)) for a, b in re.findall(r"(\d+) / (\d+)", row))
        # 70-90%, give or take the binomial sd of ~100 sweeps (3-4 points): one cell is 86 / 95 = 90.5%
        assert n == n_again and 0.7 <= corrected / n <= 0.91, row
        if row.startswith("0.73 ") and "Approach 1" in row:
            assert covered / n < 0.3, row


def test_the_committed_prediction_coverage_check_is_calibrated():
    """results/wide/COVERAGE-PREDICTION.md, simulated before the fit: when the law holds at 2.52e14 FLOPs the
    prediction's 10-90% loss interval holds the observed mean of two seeds in 23-27 of 30 sweeps."""
    import re

    text = (wide_sweep.OUT / "COVERAGE-PREDICTION.md").read_text()
    found = [(int(a), int(b), float(w)) for a, b, w in re.findall(r"(\d+) / (\d+)\s+([0-9.]+)", text)]
    assert len(found) == 4
    assert all(n == 30 and 0.7 <= covered / n <= 0.91 and 0.02 < width < 0.06 for covered, n, width in found)


def test_the_committed_report_follows_from_the_committed_runs_and_redraws():
    """results/wide/report.txt was written by `report` (numpy's default kernels); the sweep refitted here under
    the tests' pinned kernels with its saved redraws prints every table line of it again. The header's law
    constants (4 figures) may differ in the last figure: the fit moves by about 5e-5 between the kernels."""
    from scalinglaws.fitting.approach3 import parameter_vector

    fit = wide_sweep.committed_fit()
    assert len(fit.runs) == 25 and fit.n_diverged == 0
    committed = (wide_sweep.OUT / "report.txt").read_text().splitlines()
    again = wide_sweep.report_text(fit).splitlines()
    assert len(again) == len(committed)
    differing = [i for i, (old, new) in enumerate(zip(committed, again)) if old != new]
    assert all(committed[i].startswith("Intervals: 10-90% of 400 redraws") for i in differing), differing
    for redraws in fit.redraws.values():
        assert np.allclose(parameter_vector(redraws.law), parameter_vector(fit.law), rtol=wide_sweep.SAVED_LAW_RTOL)


def test_the_committed_prediction_is_what_the_committed_fit_predicts():
    """results/wide-heldout/prediction.json, committed before its runs, is predict_from on the committed sweep and
    its saved redraws: the same shapes exactly; losses and intervals within 1e-4 nats (the Approach 3 fit moves by
    about 5e-5 relative between numpy's default kernels, which wrote the file, and the tests' pinned ones)."""
    from scalinglaws.fitting.prediction import read_prediction

    path = wide_sweep.HELDOUT_OUT / "prediction.json"
    committed = read_prediction(path)
    prediction, intervals = wide_sweep.predict_from(wide_sweep.committed_fit())
    assert committed.flops == prediction.flops == 2.52e14
    for which in ("optimum", "twin"):
        planned, saved = getattr(prediction, which), getattr(committed, which)
        assert (planned.shape, planned.n_params) == (saved.shape, saved.n_params)
        assert planned.predicted_loss == pytest.approx(saved.predicted_loss, abs=1e-4)
    saved_intervals = json.loads(path.read_text())["loss_intervals_10_90"]
    for name in intervals:
        for which in ("optimum", "twin"):
            assert intervals[name][which] == pytest.approx(tuple(saved_intervals[name][which]), abs=1e-4)


def test_the_heldout_check_says_which_intervals_hold_the_observed_means(tmp_path):
    """Fabricated test runs of the committed prediction's shapes: the optimum's two seeds average to its
    predicted loss (inside every interval), the twin's to 0.2 nats above it (outside every interval)."""
    import shutil
    from dataclasses import asdict

    from scalinglaws.fitting.prediction import read_prediction

    path = tmp_path / "prediction.json"
    shutil.copy(wide_sweep.HELDOUT_OUT / "prediction.json", path)
    prediction = read_prediction(path)
    records = []
    for which, offset in (("optimum", 0.0), ("twin", 0.2)):
        planned = getattr(prediction, which)
        for seed, noise in enumerate((-0.01, 0.01)):
            records.append({"shape": asdict(planned.shape), "budget": prediction.flops, "diverged": False,
                            "final_loss": planned.predicted_loss + offset + noise})
    check = wide_sweep.heldout_check(path, records)
    assert check.outcomes["optimum"].miss == pytest.approx(0.0, abs=1e-12)
    assert check.outcomes["twin"].miss == pytest.approx(0.2)
    assert set(check.intervals) == {"offset + run", "drifting"}
    assert all(check.inside(noise, "optimum") and not check.inside(noise, "twin") for noise in check.intervals)
    text = wide_sweep.check_text(check)
    assert text.count(" is inside ") == 2 and text.count(" is outside ") == 2


def test_the_committed_check_is_what_the_committed_runs_say():
    """results/wide-heldout/check.txt, written by `check`, is check_text on the committed runs and prediction: it
    names the four runs' losses (two seeds of each planned shape, at the prediction's budget) and each interval."""
    from scalinglaws.data.committed_results import sweep_results
    from scalinglaws.data.results import load_results

    _, records = load_results(sweep_results("wide-heldout"))
    assert len(records) == 4 and sorted(r["seed"] for r in records) == [0, 0, 1, 1]
    assert (wide_sweep.HELDOUT_OUT / "check.txt").read_text() == wide_sweep.check_text()
    check = wide_sweep.heldout_check(wide_sweep.HELDOUT_OUT / "prediction.json", records)
    assert [round(check.outcomes[which].mean, 4) for which in ("optimum", "twin")] == [1.3457, 1.4085]
