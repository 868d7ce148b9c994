"""The interactive figures on the built website, driven in headless Chromium with the network off.

The site is conftest's session build (offline, warnings as errors), served on localhost and
opened in test_site's Chromium, which cannot resolve any other host and logs every request.
For each figure of :mod:`scalinglaws.book.interactive_figures` we check that

- plotly.js, from the site's own ``_static`` (no CDN), drew it and replaced its static image;
- moving a slider to another step changes the numbers its table shows, and those numbers are
  the book's functions' at the step's budget (read back from the page);
- hovering over a point shows its hover text (the run, the model, the loss and compute);
- a budget of the IsoFLOP explorer can be hidden from its legend, and the loss landscape's
  buttons switch fits;
- on a 390 px phone (a page opened there, and a desktop page narrowed to it) each figure fits
  the screen, its legend is below its plot, and no two of its titles, legend, slider, buttons,
  colour bar and tool bar overlap, nor cover a plot, before or after its buttons are pressed; at
  1280 px nothing overlaps either, and a figure narrowed and widened again is drawn as before;
- each page that holds a figure stays under :data:`MAX_PAGE_BYTES`, and no page without one
  loads plotly.js.
"""

from __future__ import annotations

import re
import time
from itertools import combinations

import pytest
from test_site import (  # noqa: F401
    DESKTOP_WIDTH,
    PHONE_WIDTH,
    browser,
    is_off_machine,
    network_log,
    server,
    toc_files,
)

from scalinglaws.book import interactive_figures as interactive
from scalinglaws.book.plotly_assets import BUNDLE
from scalinglaws.papers import constants as k
from scalinglaws.papers import laws

#: Each interactive figure and the page it is on.
FIGURES = {
    "allocation-explorer": "book/07_calculator",
    "isoflop-explorer": "book/11_approach2_isoflop",
    "loss-landscape": "book/appendix_c3_parametric",
    "inference-explorer": "book/15_where_next",
}
MAX_PAGE_BYTES = 5 * 1024 * 1024

WAIT_FOR_FIGURE = """
const [id, done] = [arguments[0], arguments[arguments.length - 1]];
const start = Date.now();
(function poll() {
  const wrapper = document.getElementById(id + "-figure");
  if (wrapper && wrapper.classList.contains("interactive-figure-drawn")) { done("drawn"); }
  else if (Date.now() - start > 30000) { done(wrapper ? "never drawn" : "no such figure"); }
  else { setTimeout(poll, 100); }
})();
"""
# The table as the reader sees it: one list per column, header first, cells top to bottom
# (sorted by where they are drawn); a cell wrapped onto several lines is joined with spaces.
TABLE_TEXT = """
return Array.from(document.querySelectorAll("#" + arguments[0] + " .table .y-column")).map((column) =>
  Array.from(column.querySelectorAll(".cell-text"))
    .map((cell) => {
      const lines = Array.from(cell.querySelectorAll("tspan.line"));
      const text = lines.length ? lines.map((line) => line.textContent).join(" ") : cell.textContent;
      return [cell.getBoundingClientRect().top, text.trim()];
    })
    .sort((a, b) => a[0] - b[0]).map((pair) => pair[1]));
"""


def open_figure(browser, server, figure: str):
    browser.get(server + FIGURES[figure] + ".html")
    assert browser.execute_async_script(WAIT_FOR_FIGURE, figure) == "drawn", f"{figure} was not drawn"
    requested, failed = network_log(browser)
    assert not failed, f"{figure}'s page asked for missing files: {failed}"
    assert not [url for url in requested if is_off_machine(url)], f"{figure}'s page reached for another machine"
    assert any(url.endswith(f"_static/{BUNDLE}") for url in requested), "plotly.js did not come from _static"
    fallback = browser.execute_script(
        "return document.querySelectorAll('#' + arguments[0] + '-figure img.interactive-figure-fallback').length", figure)
    assert fallback == 0, "the static image stayed on the page after plotly drew the figure"


def move_slider(browser, figure: str, fraction: float) -> int:
    """Click the slider's rail at ``fraction`` of its length, as a reader would; the step it is on."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    rail = browser.find_element(By.CSS_SELECTOR, f"#{figure} .slider-rail-touch-rect")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", rail)
    width = rail.rect["width"]
    ActionChains(browser).move_to_element_with_offset(rail, int((fraction - 0.5) * width), 0).click().perform()
    time.sleep(0.5)
    return browser.execute_script("return document.getElementById(arguments[0]).layout.sliders[0].active", figure)


def hover_text(browser, figure: str, selector: str) -> str:
    """Move the mouse over the first element matching ``selector`` in the figure; the hover label's text."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    point = browser.find_element(By.CSS_SELECTOR, f"#{figure} {selector}")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", point)
    ActionChains(browser).move_to_element(point).perform()
    for _ in range(20):
        text = browser.execute_script(
            "return Array.from(document.querySelectorAll('#' + arguments[0] + ' .hoverlayer .hovertext'))"
            ".map((e) => e.textContent).join(' | ')", figure)
        if text:
            return text
        time.sleep(0.1)
    return ""


def test_allocation_explorer_slider_changes_the_table(browser, server):
    open_figure(browser, server, "allocation-explorer")
    before = browser.execute_script(TABLE_TEXT, "allocation-explorer")
    assert [column[0] for column in before] == list(interactive.ALLOCATION_HEADER)
    assert "Hoffmann approach 3" in before[0]
    step = move_slider(browser, "allocation-explorer", 0.9)
    after = browser.execute_script(TABLE_TEXT, "allocation-explorer")
    assert after != before, "moving the slider did not change the numbers shown"
    # The numbers shown are Eq. 4's at the step's budget (the slider's default grid).
    budget = interactive.SLIDER_BUDGETS[step]
    n_opt, d_opt = laws.optimal_allocation(k.CHINCHILLA_UNROUNDED, budget)
    row = after[0].index("Hoffmann approach 3")
    shown = [column[row] for column in after]
    assert shown[1].startswith(interactive.sci(n_opt)), (shown, budget)
    assert shown[2].startswith(interactive.sci(d_opt)), (shown, budget)
    assert interactive.range_position(budget, interactive.FITTED_FLOPS) in shown[5]
    label = browser.execute_script(
        "return document.querySelector('#allocation-explorer .slider-group > .slider-label').textContent")
    assert f"{budget:.2g}" in label, label


def test_isoflop_explorer_hover_shows_the_run(browser, server):
    from selenium.webdriver.common.by import By

    open_figure(browser, server, "isoflop-explorer")
    text = hover_text(browser, "isoflop-explorer", ".scatterlayer .trace .points path")
    assert re.search(r"C\d+e\+\d+-L\d+-d\d+", text), f"no run name in the hover text: {text!r}"
    assert "steps" in text and "bytes/parameter" in text and "seed" in text, text
    # Clicking a budget in the legend hides its points (and its parabola, in the same group).
    browser.find_element(By.CSS_SELECTOR, "#isoflop-explorer .legend .traces").click()
    time.sleep(0.5)
    visible = browser.execute_script("return document.getElementById('isoflop-explorer').data"
                                     ".filter((t) => t.legendgroup === arguments[0]).map((t) => t.visible)",
                                     browser.execute_script("return document.getElementById("
                                                            "'isoflop-explorer').data[0].legendgroup"))
    assert visible and all(v == "legendonly" for v in visible), visible


def test_loss_landscape_hover_and_buttons(browser, server):
    from selenium.webdriver.common.by import By

    models = ".scatterlayer .trace:last-child .points path"  # the drawn view's models, on top
    open_figure(browser, server, "loss-landscape")
    text = hover_text(browser, "loss-landscape", models)  # the first view: the book's runs
    assert re.search(r"C\d+e\+\d+-L\d+-d\d+", text) and "measured:" in text, text
    assert "C = 6ND" in text and "Eq. 2: L =" in text, text
    visible_before = browser.execute_script("return document.getElementById('loss-landscape').data.map((t) => t.visible)")
    buttons = browser.find_elements(By.CSS_SELECTOR, "#loss-landscape .updatemenu-button")
    assert len(buttons) >= 2
    buttons[1].click()
    time.sleep(0.5)
    visible_after = browser.execute_script("return document.getElementById('loss-landscape').data.map((t) => t.visible)")
    assert visible_after != visible_before
    text = hover_text(browser, "loss-landscape", models)  # Hoffmann's fit: Gopher and Chinchilla
    assert "Gopher" in text or "Chinchilla" in text, text


def test_inference_explorer_slider_changes_the_saving(browser, server):
    open_figure(browser, server, "inference-explorer")
    before = browser.execute_script(TABLE_TEXT, "inference-explorer")
    step = move_slider(browser, "inference-explorer", 0.95)
    after = browser.execute_script(TABLE_TEXT, "inference-explorer")
    assert after != before, "moving the slider did not change the numbers shown"
    served = interactive.SLIDER_SERVED[step]
    comparison = interactive.serving_comparison(k.CHINCHILLA_UNROUNDED, served)
    assert [column[0] for column in after] == list(interactive.INFERENCE_HEADER)
    rows = list(zip(*after))[1:]
    aware = [row for row in rows if row[0] == k.CHINCHILLA_UNROUNDED.name and row[1] == "inference-aware"]
    assert len(aware) == 1, rows
    assert aware[0][2] == interactive.sci(comparison.inference_aware.params), (aware, served)
    assert aware[0][-1] == f"{comparison.saving:.0%}", (aware, served)


# What a reader must be able to read on a figure, as drawn: its titles (the figure's and each
# axis's), legend, sliders, button rows, colour bars and plotly's tool bar, its plot areas and the
# figure itself, each as a box [left, top, right, bottom] in CSS pixels; and the page's width.
FIGURE_BOXES = """
const figure = document.getElementById(arguments[0]);
const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
const drawn = (selector) => Array.from(figure.querySelectorAll(selector)).map(box)
  .filter(([left, top, right, bottom]) => right > left && bottom > top);
// The figure: its element and plotly's drawing in it, which a resize can leave wider.
const [element, drawing] = [box(figure), box(figure.querySelector(".svg-container") || figure)];
const titles = Array.from(figure.querySelectorAll(".infolayer text"))
  .filter((e) => /^(g|[xy]\\d*)title$/.test(e.getAttribute("class")) && e.textContent.trim());
return {
  page: document.documentElement.clientWidth, plots: drawn(".draglayer .nsewdrag"),
  figure: [Math.min(element[0], drawing[0]), element[1], Math.max(element[2], drawing[2]), element[3]],
  titles: titles.map((e) => [e.getAttribute("class"), box(e)]), legend: drawn(".infolayer > .legend"),
  sliders: drawn(".slider-container"), menus: drawn(".updatemenu-container"), colorbars: drawn(".colorbar"),
  toolbar: drawn(".modebar"),
};
"""


def overlap(a, b, tolerance: float = 1.0) -> bool:
    """Whether boxes ``a`` and ``b`` share more than ``tolerance`` pixels each way."""
    return min(a[2], b[2]) - max(a[0], b[0]) > tolerance and min(a[3], b[3]) - max(a[1], b[1]) > tolerance


def unreadable(boxes: dict, phone: bool) -> list[str]:
    """What a reader cannot read on a figure measured by FIGURE_BOXES: the figure wider than the
    page; a title, legend, slider, button row or colour bar cut off at the figure's side, over
    another one or over a plot area. On a ``phone`` also a legend that is not below every plot
    area and x-axis title, and plotly's tool bar over any of them (a phone has no hover: once
    tapped, the tool bar stays; on a desktop it shows only while the mouse is over the figure)."""
    problems = []
    figure, page = boxes["figure"], boxes["page"]
    if figure[0] < -1 or figure[2] > page + 1:
        problems.append(f"the figure spans {figure[0]:.0f}-{figure[2]:.0f} px of a {page} px page")
    labels = [*(tuple(title) for title in boxes["titles"]),
              *((what, box) for what in ("legend", "sliders", "menus", "colorbars") for box in boxes[what])]
    tools = [("the tool bar", box) for box in boxes["toolbar"]] if phone else []
    for name, box in labels:
        if box[0] < figure[0] - 1 or box[2] > figure[2] + 1:
            problems.append(f"{name} ({box[0]:.0f}-{box[2]:.0f} px) is cut off by the figure's side "
                            f"({figure[0]:.0f}-{figure[2]:.0f} px)")
        problems += [f"{name} covers a plot area" for plot in boxes["plots"] if overlap(box, plot)]
    problems += [f"{a} {[round(v) for v in box_a]} overlaps {b} {[round(v) for v in box_b]}"
                 for (a, box_a), (b, box_b) in combinations(labels + tools, 2) if overlap(box_a, box_b)]
    if phone:
        x_titles = [box for name, box in boxes["titles"] if name.startswith("x")]
        plot_bottom = max(box[3] for box in boxes["plots"] + x_titles)
        problems += [f"the legend's top ({legend[1]:.0f} px) is above the plot's bottom ({plot_bottom:.0f} px)"
                     for legend in boxes["legend"] if legend[1] < plot_bottom - 1]
    return problems


def test_unreadable_finds_overlaps_cut_titles_a_wide_figure_and_a_legend_beside_the_plot():
    fits = {"page": 390, "figure": [16, 0, 374, 600], "plots": [[76, 20, 354, 400]],
            "titles": [["xtitle", [150, 440, 280, 456]], ["ytitle", [25, 100, 41, 300]]],
            "legend": [[76, 470, 300, 520]], "sliders": [[69, 530, 354, 590]], "menus": [], "colorbars": [],
            "toolbar": [[156, 2, 372, 28]]}
    assert unreadable(fits, phone=True) == []
    beside = {**fits, "legend": [[300, 20, 370, 200]]}
    assert unreadable(beside, phone=False) == ["legend covers a plot area"]
    assert unreadable(beside, phone=True)[1:] == ["legend [300, 20, 370, 200] overlaps the tool bar [156, 2, 372, 28]",
                                                  "the legend's top (20 px) is above the plot's bottom (456 px)"]
    crossed = {**fits, "titles": [["xtitle", [51, 440, 229, 456]], ["x2title", [204, 440, 382, 456]]]}
    assert unreadable(crossed, phone=True) == [
        "x2title (204-382 px) is cut off by the figure's side (16-374 px)",
        "xtitle [51, 440, 229, 456] overlaps x2title [204, 440, 382, 456]"]
    assert unreadable({**fits, "figure": [16, 0, 420, 600]}, phone=True) == [
        "the figure spans 16-420 px of a 390 px page"]


def figure_boxes(browser, figure: str) -> dict:
    """FIGURE_BOXES once the figure has settled (two readings 0.3 s apart agree)."""
    boxes = None
    for _ in range(40):
        time.sleep(0.3)
        boxes, previous = browser.execute_script(FIGURE_BOXES, figure), boxes
        if boxes == previous:
            return boxes
    raise AssertionError(f"{figure} never settled: {boxes}")


def at_width(browser, width: int | None) -> None:
    """Emulate a phone ``width`` px wide (Chromium's mobile emulation), or None: the desktop window."""
    if width is None:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    else:
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": True})


def same_boxes(a, b, tolerance: float) -> bool:
    """Whether two FIGURE_BOXES readings hold the same boxes, to ``tolerance`` pixels."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= tolerance
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_boxes(a[key], b[key], tolerance) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_boxes(x, y, tolerance) for x, y in zip(a, b))
    return a == b


def from_the_figure(boxes: dict) -> dict:
    """``boxes`` measured from the figure's top left corner, to the nearest pixel."""
    x, y = boxes["figure"][:2]

    def shift(value):
        if isinstance(value, list) and len(value) == 4 and all(isinstance(v, (int, float)) for v in value):
            return [round(value[0] - x), round(value[1] - y), round(value[2] - x), round(value[3] - y)]
        return [shift(v) for v in value] if isinstance(value, list) else value

    return {key: shift(value) for key, value in boxes.items()}


@pytest.mark.parametrize("figure", FIGURES)
def test_figure_is_readable_on_a_phone_and_on_a_desktop(browser, server, figure):
    from selenium.webdriver.common.by import By

    try:
        at_width(browser, None)
        open_figure(browser, server, figure)
        desktop = figure_boxes(browser, figure)
        assert desktop["page"] >= DESKTOP_WIDTH - 20, desktop["page"]  # the window, less a scroll bar
        problems = unreadable(desktop, phone=False)
        assert not problems, f"{figure} at {DESKTOP_WIDTH} px:\n" + "\n".join(problems)
        # The desktop page narrowed to a phone's width (a window resized), then a page opened on a phone.
        for how in ("narrowed", "opened"):
            at_width(browser, PHONE_WIDTH)
            if how == "opened":
                open_figure(browser, server, figure)
            phone = figure_boxes(browser, figure)
            assert phone["page"] == PHONE_WIDTH
            problems = unreadable(phone, phone=True)
            assert not problems, f"{figure} {how} at {PHONE_WIDTH} px:\n" + "\n".join(problems)
        # Each button (the loss landscape's switch fits, and set the axes anew) keeps it readable.
        buttons = len(browser.find_elements(By.CSS_SELECTOR, f"#{figure} .updatemenu-button"))
        for index in reversed(range(buttons)):
            button = browser.find_elements(By.CSS_SELECTOR, f"#{figure} .updatemenu-button")[index]
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
            button.click()
            problems = unreadable(figure_boxes(browser, figure), phone=True)
            assert not problems, f"{figure} at {PHONE_WIDTH} px after button {index}:\n" + "\n".join(problems)
        # Widened again, the figure is drawn as it was on the desktop (to 3 px: plotly's own
        # resizing moves a colour bar by 2 px).
        at_width(browser, None)
        widened = from_the_figure(figure_boxes(browser, figure))
        assert same_boxes(widened, from_the_figure(desktop), tolerance=3), (widened, from_the_figure(desktop))
    finally:
        at_width(browser, None)


def test_pages_stay_small_and_load_plotly_only_where_needed(site):
    for doc in toc_files():
        page = site / f"{doc}.html"
        text = page.read_text()
        loads = f"_static/{BUNDLE}" in text
        holds = [figure for figure, where in FIGURES.items() if where == doc]
        assert loads == bool(holds), f"{doc}: loads plotly.js {loads}, holds {holds}"
        for figure in holds:
            assert f'id="{figure}"' in text, f"{doc} lost its figure {figure}"
        assert page.stat().st_size < MAX_PAGE_BYTES, f"{doc}.html is {page.stat().st_size:,} bytes"
        assert not re.search(r"<script[^>]+src=\"https?://", text), f"{doc} loads a script from another site"
    assert (site / "_static" / BUNDLE).stat().st_size > 1e6
