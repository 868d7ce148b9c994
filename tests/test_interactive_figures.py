"""The interactive figures hold the book's numbers: what each slider step, table and hover text
shows is what the book's functions compute, and the output is the same on every run."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from scalinglaws.book import plotly_assets
from scalinglaws.book import interactive_figures as interactive
from scalinglaws.data.committed_results import sweep_results
from scalinglaws.data.results import load_results
from scalinglaws.data.runs import Run, Runs
from scalinglaws.fitting import fit_approach2
from scalinglaws.fitting.sweep_fits import load_sweep_runs
from scalinglaws.papers import inference, laws
from scalinglaws.papers import constants as k


@pytest.fixture(scope="module")
def explorer():
    return interactive.allocation_explorer(interactive.published_rules())


def step_columns(figure, step: int):
    return figure.figure["layout"]["sliders"][0]["steps"][step]["args"][0]["cells.values"][0]


def test_rounding_gives_the_same_json_for_numbers_that_differ_in_their_last_bits():
    a = {"x": np.array([1.0, 2.0 / 3.0]), "y": [math.nan, 7], "z": np.float64(123456789.0)}
    b = {"x": [1.0, 2.0 / 3.0 * (1 + 1e-13)], "y": [float("nan"), 7], "z": 123456789.0 * (1 - 1e-12)}
    assert interactive.rounded(a) == interactive.rounded(b) == {"x": [1.0, 0.666667], "y": [None, 7], "z": 123457000.0}
    assert interactive._deterministic_json({"s": "</script>"}) == '{"s":"<\\/script>"}'


def test_output_is_deterministic_and_self_contained(explorer):
    bundle = explorer._repr_mimebundle_()
    assert set(bundle) == {"text/html", "image/png", "text/plain"}
    again = interactive.allocation_explorer(interactive.published_rules())._repr_mimebundle_()
    assert bundle["text/html"] == again["text/html"]
    page = bundle["text/html"]
    assert 'id="allocation-explorer"' in page and 'class="plotly-graph-div"' in page
    assert plotly_assets.FIGURE_MARKER in page
    assert "cdn." not in page and "<script src" not in page  # plotly.js comes from the site's _static
    # The fallback image: the figure's PNG at twice the pixels, shown at its normal width, with alt text.
    png = explorer.static_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert f'width="{interactive._png_width(png) // 2}"' in page
    assert f'alt="{explorer.alt[:40]}' in page and bundle["text/plain"] == explorer.alt
    assert interactive._png_width(png) == 7.5 * interactive.STATIC_DPI


def test_allocation_slider_steps_are_the_budgets_in_order(explorer):
    steps = explorer.figure["layout"]["sliders"][0]["steps"]
    assert len(steps) == len(interactive.SLIDER_BUDGETS) == 33
    values = [float(step["label"]) for step in steps]
    assert values == sorted(values) and values[0] == 1e18 and values[-1] == 1e26
    assert steps[explorer.data["active"]]["label"] == "1e+21"
    with pytest.raises(ValueError, match="increase"):
        interactive.allocation_explorer(interactive.published_rules(), budgets=[1e20, 1e19])


@pytest.mark.parametrize("step", [0, 12, 23, 32])
def test_allocation_table_holds_the_laws_numbers_at_each_step(explorer, step):
    c = interactive.SLIDER_BUDGETS[step]
    rules, rows = step_columns(explorer, step)[0], list(zip(*step_columns(explorer, step)))
    by_rule = dict(zip(rules, rows))
    kaplan = laws.compute_optimal("kaplan", c)
    assert by_rule["Kaplan (Eq. 1.7)"][1] == interactive.sci(kaplan.params)
    assert by_rule["Kaplan (Eq. 1.7)"][2] == f"{interactive.sci(kaplan.tokens)} tokens"
    n, d = laws.optimal_allocation(k.CHINCHILLA_UNROUNDED, c)
    row = by_rule["Hoffmann approach 3"]
    assert row[1].startswith(interactive.sci(n) + " (") and row[2].startswith(interactive.sci(d) + " (")
    assert row[3] == f"{d / n:.3g}"
    assert row[4] == f"{interactive.sci(laws.optimal_loss(k.CHINCHILLA_UNROUNDED, c))} nats/token"
    assert row[5] == interactive.range_position(c, interactive.FITTED_FLOPS)


def test_approaches_1_and_2_reproduce_the_papers_allocation_at_gophers_budget():
    """Hoffmann Section 3.4: 67B (Approach 1) and 63B (Approach 2) parameters at 5.76e23 FLOPs."""
    rules = {rule.name: rule for rule in interactive.published_rules()}
    for name, key in (("Hoffmann approach 1", "approach 1"), ("Hoffmann approach 2", "approach 2")):
        published = k.AT_GOPHER_BUDGET[key][0]
        assert rules[name].params(k.GOPHER_FLOPS) == pytest.approx(published, rel=0.03)


def test_exponent_band_turns_about_the_pivot_and_spans_the_interval():
    rule = interactive.published_rules()[1]
    low, high = rule.params_band(np.array([interactive.BAND_PIVOT_FLOPS, 1e26, 1e18]))
    assert low[0] == pytest.approx(high[0], rel=1e-12)
    assert np.all(low <= high)
    a_low, a_high = k.approach(1).table_2.a_interval
    assert high[1] / low[1] == pytest.approx((1e26 / interactive.BAND_PIVOT_FLOPS) ** (a_high - a_low))


def test_refit_band_collapses_onto_a_fit_when_every_refit_is_that_fit():
    fit = k.BESIROGLU_REFIT
    samples = {name: np.full(5, getattr(fit, name)) for name in ("E", "A", "B", "alpha", "beta")}
    (n_low, n_high), (l_low, l_high) = interactive.refit_percentiles(samples, np.array([1e21, 1e24]))
    np.testing.assert_allclose(n_low, laws.optimal_allocation(fit, np.array([1e21, 1e24]))[0], rtol=1e-12)
    np.testing.assert_allclose(n_high, n_low, rtol=1e-12)
    np.testing.assert_allclose(l_low, laws.optimal_loss(fit, np.array([1e21, 1e24])), rtol=1e-12)
    row = interactive.allocation_row(interactive.parametric_rule("b", fit, samples), 1e21)
    assert row.tokens_band[0] == pytest.approx(row.tokens, rel=1e-9)


def test_range_position():
    assert interactive.range_position(1e20, (1e18, 1e22)) == "inside"
    assert interactive.range_position(4e23, (1e18, 1e22)) == "40x above"
    assert interactive.range_position(1e17, (1e18, 1e22)) == "10x below"
    assert interactive.range_position(1e17, None) == "not recorded"


@pytest.fixture(scope="module")
def cpu():
    path = sweep_results("cpu")
    runs = load_sweep_runs(path)
    return runs, fit_approach2(runs), load_results(path)[1]


def test_isoflop_explorer_has_every_budget_and_every_run(cpu):
    runs, fit, records = cpu
    figure = interactive.isoflop_explorer(fit, records)
    points = [trace for trace in figure.figure["data"] if trace.get("showlegend", True)]
    assert [trace["name"] for trace in points] == [f"C = {p.budget:.0e}" for p in fit.profiles]
    assert sum(len(trace["x"]) for trace in points) == len(runs.without_diverged())
    by_name = {record["run_id"]: record for record in records}
    for trace in points:
        for text in trace["hovertext"]:
            name = text.split("<br>")[0]
            assert f"{by_name[name]['steps']:,} steps" in text and "one seed" in text
    # Each budget's parabola and minimum are in the budget's legend group, so its legend
    # entry hides them together.
    groups = {trace["legendgroup"] for trace in figure.figure["data"]}
    assert groups == {trace["name"] for trace in points}
    stars = [trace for trace in figure.figure["data"] if trace["name"].endswith("minimum")]
    assert [star["x"][0] for star in stars] == [p.n_opt for p in fit.profiles if p.usable]


def test_seeds_of_one_configuration_are_reported_together(cpu):
    runs, _, records = cpu
    first = records[0]
    twin = {**first, "run_id": first["run_id"] + "-twin", "seed": 1}
    original = runs[[run.name for run in runs].index(first["run_id"])]
    pair = Runs((original, Run(twin["run_id"], original.params, original.tokens, original.flops, 9.0,
                               budget=original.budget)))
    details = interactive.run_details(pair, [first, twin])
    assert details[0].seed_losses == (pair[0].loss, 9.0)
    assert f"2 seeds: loss {pair[0].loss:.4f}-9.0000" in details[1].hover(False)
    with pytest.raises(ValueError, match="no record"):
        interactive.run_details(pair, [first])


def test_loss_landscape_draws_eq_2_and_eq_4():
    view = interactive.LandscapeView("H", k.CHINCHILLA_UNROUNDED, (("Gopher", k.GOPHER.params, k.GOPHER.tokens, None),),
                                     (1e18, 1e26), (1e7, 1e13), (1e9, 1e14))
    other = interactive.LandscapeView("B", k.BESIROGLU_REFIT, (), (1e18, 1e24), (1e7, 1e12), (1e9, 1e13))
    figure = interactive.loss_landscape([view, other], grid_points=11)
    contour, frontier, models = figure.figure["data"][:3]
    n, d = np.meshgrid(10 ** np.asarray(contour["x"]), 10 ** np.asarray(contour["y"]))
    np.testing.assert_allclose(contour["z"], laws.parametric_loss(k.CHINCHILLA_UNROUNDED, n, d), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(contour["customdata"])[..., 2], 6 * n * d, rtol=1e-12)
    n_opt, d_opt = laws.optimal_allocation(k.CHINCHILLA_UNROUNDED, np.geomspace(1e18, 1e26, 40))
    np.testing.assert_allclose(frontier["x"], np.log10(n_opt))
    np.testing.assert_allclose(frontier["y"], np.log10(d_opt))
    loss = laws.parametric_loss(k.CHINCHILLA_UNROUNDED, k.GOPHER.params, k.GOPHER.tokens)
    assert f"Eq. 2: L = {loss:.3f}" in models["hovertext"][0]
    assert f"C = 6ND = {6 * k.GOPHER.params * k.GOPHER.tokens:.3g} FLOPs" in models["hovertext"][0]
    buttons = figure.figure["layout"]["updatemenus"][0]["buttons"]
    assert [b["args"][0]["visible"] for b in buttons] == [[True] * 3 + [False] * 3, [False] * 3 + [True] * 3]


@pytest.mark.parametrize("step", [0, 12, 20])
def test_inference_table_holds_the_serving_comparison_at_each_step(step):
    fits = (k.CHINCHILLA_UNROUNDED, k.BESIROGLU_REFIT)
    figure = interactive.inference_explorer(fits)
    served = interactive.SLIDER_SERVED[step]
    args = figure.figure["layout"]["sliders"][0]["steps"][step]["args"]
    rows = list(zip(*args[0]["cells.values"][-1]))
    for fit in fits:
        comparison = interactive.serving_comparison(fit, served)
        aware = [row for row in rows if row[:2] == (fit.name, "inference-aware")][0]
        assert aware[2] == interactive.sci(comparison.inference_aware.params)
        assert aware[-1] == f"{comparison.saving:.0%}"
        direct = inference.inference_optimal(fit, comparison.target_loss, served)
        assert direct.params == comparison.inference_aware.params
    # The curves of the step are 6ND + 2NI along Eq. 2's iso-loss line for the chosen I.
    curve_x, curve_y = np.asarray(args[0]["x"][0]), np.asarray(args[0]["y"][0])
    target = float(laws.parametric_loss(fits[0], k.CHINCHILLA.params, k.CHINCHILLA.tokens))
    expected = [inference.lifetime_flops(fits[0], 10**x, target, served) for x in curve_x[::10]]
    np.testing.assert_allclose(curve_y[::10], np.log10(expected), rtol=1e-12)


def test_serving_more_tokens_saves_more():
    savings = [interactive.serving_comparison(k.CHINCHILLA_UNROUNDED, i).saving for i in interactive.SLIDER_SERVED]
    assert savings[0] == pytest.approx(0, abs=0.01)
    assert all(b >= a - 1e-12 for a, b in zip(savings, savings[1:]))


def test_plotly_assets_loads_plotly_only_on_pages_with_a_figure(tmp_path):
    assert plotly_assets.bundle_path().stat().st_size > 1e6

    class App:
        added = []

        def add_js_file(self, name, **options):
            self.added.append(name)

    app = App()
    plotly_assets._add_script(app, "p", "page.html", {"body": "<p>no figure</p>"}, None)
    assert app.added == []
    plotly_assets._add_script(app, "p", "page.html", {"body": f'<div {plotly_assets.FIGURE_MARKER}></div>'}, None)
    assert app.added == [plotly_assets.BUNDLE]
    # The bundle's version is the pinned plotly's (requirements.txt).
    import plotly

    pin = re.search(r"^plotly==(\S+)$", (plotly_assets.Path(__file__).parents[1] / "requirements.txt").read_text(), re.M)
    assert pin and pin.group(1) == plotly.__version__
    assert json.loads(json.dumps(interactive.CONFIG))["displaylogo"] is False


def test_the_static_image_leaves_pyplot_alone():
    """Drawing the fallback must not switch a notebook's matplotlib backend (the chapter's later
    figures would vanish from its outputs) nor leave a figure open."""
    import matplotlib
    import matplotlib.pyplot as plt

    backend, open_figures = matplotlib.get_backend(), plt.get_fignums()
    interactive.inference_explorer((k.CHINCHILLA_UNROUNDED,)).static_png()
    assert matplotlib.get_backend() == backend and plt.get_fignums() == open_figures


# ------------------------------------------------------------------------------------------
# The narrow layout (a phone): tests/test_interactive_site.py measures it drawn at 390 px
# ------------------------------------------------------------------------------------------


def test_attribute_paths_name_keys_and_list_items():
    assert interactive.attribute_path("sliders[0].currentvalue.prefix") == ["sliders", 0, "currentvalue", "prefix"]
    layout = {"sliders": [{"y": 0.4}], "legend": {"title": {"text": "budget"}}}
    assert interactive.attribute(layout, "sliders[0].y") == 0.4
    assert interactive.attribute(layout, "legend.title.text") == "budget"
    assert interactive.attribute(layout, "legend.title.side") is None
    assert interactive.attribute(layout, "sliders[1].y") is None
    assert interactive.attribute(layout, "xaxis.domain") is None


def test_stacked_blocks_fill_the_paper_top_to_bottom():
    height, spans = interactive.stacked([("plot", 300), ("legend", 50), ("table", 250)], top=30, bottom=10)
    assert height == 640
    assert spans == {"plot": (0.5, 1.0), "legend": (pytest.approx(5 / 12), 0.5), "table": (0.0, pytest.approx(5 / 12))}


def test_two_lines_breaks_at_the_space_nearest_the_middle():
    assert interactive.two_lines("Parameters N of a model trained to Chinchilla's loss") == (
        "Parameters N of a model<br>trained to Chinchilla's loss")
    assert interactive.two_lines("D_opt (tokens; bytes for the book's sweep)") == (
        "D_opt (tokens; bytes<br>for the book's sweep)")
    assert interactive.two_lines("loss") == "loss"


def every_figure(cpu):
    _, fit, records = cpu
    ours = interactive.LandscapeView("ours", k.BESIROGLU_REFIT, (), (1e18, 1e24), (1e7, 1e12), (1e9, 1e13))
    hoffmann = interactive.LandscapeView("H", k.CHINCHILLA_UNROUNDED, (), (1e18, 1e26), (1e7, 1e13), (1e9, 1e14))
    return {"allocation": interactive.allocation_explorer(interactive.published_rules()),
            "isoflop": interactive.isoflop_explorer(fit, records),
            "landscape": interactive.loss_landscape([ours, hoffmann], grid_points=11),
            "inference": interactive.inference_explorer((k.CHINCHILLA_UNROUNDED, k.BESIROGLU_REFIT))}


def valid_plotly(figure: dict) -> None:
    """Raises ValueError, naming it, where ``figure`` holds an attribute or value plotly does not know."""
    import plotly.graph_objects as go

    go.Figure(data=figure["data"], layout=figure["layout"])


def test_narrow_layouts_are_plotly_figures_and_switching_back_restores_the_figure(cpu):
    for name, figure in every_figure(cpu).items():
        as_page = json.loads(figure.to_json())
        assert as_page["narrow"] == json.loads(json.dumps(interactive.rounded(figure.narrow.to_dict())))
        assert {key: as_page[key] for key in ("data", "layout", "config")} == json.loads(
            interactive._deterministic_json(figure.figure))  # the desktop figure is the figure itself
        assert figure.narrow.layout, f"{name} has no narrow layout"
        narrow = figure.narrow.applied(figure.figure)
        valid_plotly(narrow)
        assert figure.narrow.undone(figure.figure).applied(narrow) == json.loads(
            interactive._deterministic_json(figure.figure)), name
        assert f"element.clientWidth < {interactive.NARROW_WIDTH}" in figure.html(figure.static_png())
    with pytest.raises(ValueError, match="orientaton"):
        valid_plotly(interactive.Narrow({"legend.orientaton": "h"}).applied(figure.figure))


@pytest.mark.parametrize("name", ["allocation", "inference"])
def test_narrow_figures_stack_plots_legend_slider_and_table_in_that_order(cpu, name):
    figure = every_figure(cpu)[name]
    narrow = figure.narrow.applied(figure.figure)
    layout, table = narrow["layout"], narrow["data"][figure.data["table_index"]]
    plots = [layout[key]["domain"] for key in layout if key.startswith("yaxis")]
    assert all(axis["domain"] == [0, 1] for key, axis in layout.items() if key.startswith("xaxis"))
    lowest_plot = min(bottom for bottom, _ in plots)
    assert lowest_plot > layout["legend"]["y"] > layout["sliders"][0]["y"] > table["domain"]["y"][1]
    assert layout["legend"]["orientation"] == "v" and layout["legend"]["yanchor"] == "top"
    # Room for the legend: an entry a line.
    entries = sum(trace.get("showlegend", True) for trace in narrow["data"] if trace["type"] == "scatter")
    room = (layout["legend"]["y"] - layout["sliders"][0]["y"]) * (layout["height"] - layout["margin"]["t"] - 10)
    assert room >= interactive.LEGEND_LINE * entries
