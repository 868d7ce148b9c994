"""The fit report: its header counts diverged runs apart, each approach's bootstrap flags are
worded for that approach, and exponents outside their physical range are called out."""

import math
from dataclasses import replace

import numpy as np
import pytest

from scalinglaws.data.runs import Run, Runs
from scalinglaws.fitting.bootstrap import BootstrapResult
from scalinglaws.fitting.report import ApproachReport, FitReport, fit_all
from scalinglaws.fitting.synthetic import isoflop_runs
from scalinglaws.papers import constants
from scalinglaws.papers.laws import allocation_exponents

A_TRUE, B_TRUE = allocation_exponents(constants.BESIROGLU_REFIT)  # synthetic runs' default law


@pytest.fixture(scope="module")
def clean():
    """Noise-free IsoFLOP runs of the default law: every exponent is physical."""
    return isoflop_runs((1e18, 1e19, 1e20), sizes_per_budget=5)


@pytest.fixture(scope="module")
def clean_report(clean):
    return fit_all(clean, n_bootstrap=5)


def test_header_counts_diverged_runs_apart(clean, clean_report):
    assert clean_report.format().startswith("15 runs. Exponents of N_opt ~ C^a")
    diverged = Runs(clean.runs + (replace(clean[0], name="blew up", loss=math.nan, diverged=True),))
    report = fit_all(diverged, n_bootstrap=0)
    assert report.n_runs == 16 and report.n_diverged == 1
    assert report.format().startswith("16 runs, 1 diverged (left out). Exponents of N_opt ~ C^a")
    # The diverged run changes no fit: the same 15 points are fitted.
    assert report.approach(3).fit.a == clean_report.approach(3).fit.a


def test_a_physical_fit_gets_no_range_line(clean_report):
    assert clean_report.fitted
    assert clean_report.approach(2).fit.a == pytest.approx(A_TRUE, abs=0.01)
    assert clean_report.approach(3).fit.b == pytest.approx(B_TRUE, abs=0.01)
    assert "unphysical" not in clean_report.format()


def test_no_fitted_approach_is_reported_as_such():
    report = fit_all(isoflop_runs((1e19,), sizes_per_budget=3), n_bootstrap=5)
    assert not report.fitted
    assert all("skipped: " in line for line in report.format().splitlines()[4:7])


def boot(approach, flagged, n_resamples=10):
    """A bootstrap result with 2 failed refits that counts ``flagged``; its samples are all physical."""
    samples = {name: np.full(n_resamples - 2, 0.5) for name in ("a", "b", "alpha", "beta", "E")}
    return BootstrapResult(approach, n_resamples, samples, failures={"stopped: maxiter": 2}, flagged=flagged)


def test_bootstrap_flags_are_worded_for_their_approach(clean_report):
    fits = clean_report.approaches
    report = FitReport(n_runs=15, approaches=(
        ApproachReport("2. IsoFLOP profiles", fit=fits[1].fit,
                       bootstrap=boot("approach 2", {"minimum outside the sampled sizes": 4})),
        ApproachReport("3. Parametric modelling of the loss", fit=fits[2].fit,
                       bootstrap=boot("approach 3", {"ended within 0.001 of its start": 3})),
    ))
    text = report.format()
    approach2, approach3 = text.split("\n2. IsoFLOP profiles:\n")[1].split("\n3. Parametric modelling of the loss:\n")
    assert "  2 of 10 refits failed and are left out of the intervals: stopped: maxiter" in approach2
    assert ("  4 budget exclusions across refits of budgets the full fit used (minimum outside the sampled sizes)"
            in approach2)
    assert ("  3 of 8 successful refits flagged: their best start ended within 0.001 of its start in every one "
            "of (a, b, e, alpha, beta), so the refit may have stopped short of its optimum; they are kept in "
            "the intervals") in approach3
    assert "budget exclusions" not in approach3


def rising_with_size() -> Runs:
    """Runs whose loss rises with N: 1.5 + 0.05 N^0.1 + 400 / D^0.3, so the fitted alpha is negative."""
    return Runs(tuple(Run(name=f"N={n:g} D={d:g}", params=n, tokens=d, flops=6 * n * d,
                          loss=1.5 + 0.05 * n**0.1 + 400 / d**0.3)
                      for n in (1e6, 4e6, 1.6e7, 6.4e7) for d in (1e8, 1e9, 1e10)))


def test_an_unphysical_fit_says_which_exponent_and_what_it_means():
    report = fit_all(rising_with_size(), n_bootstrap=0)
    fit = report.approach(3).fit
    assert fit.alpha < 0 < fit.beta and fit.a > 1 and fit.b < 0  # the truth: loss rises with N
    assert fit.beta == pytest.approx(0.3, abs=0.01)
    text = report.format()
    assert (f"  unphysical a (outside (0, 1)): the fit's a = {fit.a:.3f}. N_opt ~ C^a grows with compute "
            "only for a > 0, and D_opt = C/(6 N_opt) grows too only for a < 1.") in text
    assert f"  unphysical b (outside (0, 1)): the fit's b = {fit.b:.3f}. D_opt ~ C^b grows" in text
    assert (f"  unphysical alpha (outside (0, inf)): the fit's alpha = {fit.alpha:.3f}. The loss "
            "E + A/N^alpha + B/D^beta falls as the model grows only for alpha > 0.") in text
    assert "unphysical beta" not in text


def test_unphysical_refits_of_a_handful_of_points_are_counted():
    # Six noisy points: the fit is physical, but some refits put alpha below 0 (so a above 1).
    report = fit_all(isoflop_runs((1e18, 1e20), sizes_per_budget=3, noise=0.05, seed=1), n_bootstrap=20)
    fit, samples = report.approach(3).fit, report.approach(3).bootstrap.samples
    assert 0 < fit.a < 1 and fit.alpha > 0
    outside = int(np.sum((samples["a"] <= 0) | (samples["a"] >= 1)))
    assert outside >= 1 and outside == int(np.sum(samples["alpha"] <= 0))
    text = report.format()
    assert (f"  unphysical a (outside (0, 1)): {outside} of 20 refits, which the intervals include. "
            "N_opt ~ C^a grows with compute only for a > 0") in text
    assert f"  unphysical alpha (outside (0, inf)): {outside} of 20 refits, which the intervals include." in text
    assert "the fit's" not in text


def test_the_approaches_are_named_as_hoffmann_table_2_names_them():
    assert [row.approach for row in constants.TABLE_2] == [
        "1. Minimum over training curves", "2. IsoFLOP profiles", "3. Parametric modelling of the loss",
        "Kaplan et al. (2020)"]
    assert [approach.table_2.a for approach in constants.APPROACHES] == [0.50, 0.49, 0.46]
    assert [approach.key for approach in constants.APPROACHES] == list(constants.AT_GOPHER_BUDGET)
    with pytest.raises(ValueError, match="1, 2 or 3"):
        constants.approach(4)


def test_a_report_finds_an_approach_by_its_name_not_its_place():
    """A report without Approach 1 (runs with no curves can be reported so) still finds 2 and 3."""
    two, three = (ApproachReport(constants.approach(n).label, skipped="-") for n in (2, 3))
    report = FitReport(n_runs=0, approaches=(two, three))
    assert report.approach(2) is two and report.approach(3) is three
    with pytest.raises(ValueError, match="Approach 1"):
        report.approach(1)
    assert [r.label for r in fit_all(isoflop_runs([1e18, 1e19, 1e20]), n_bootstrap=0).approaches] == \
        [approach.label for approach in constants.APPROACHES]
