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
- each page that holds a figure stays under :data:`MAX_PAGE_BYTES`, and no page without one
  loads plotly.js.
"""

from __future__ import annotations

import re
import time

from scalinglaws.book import interactive_figures as interactive
from scalinglaws.book.plotly_assets import BUNDLE
from scalinglaws.papers import constants as k
from scalinglaws.papers import laws
from test_site import browser, is_off_machine, network_log, server, toc_files  # noqa: F401 (fixtures)

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
