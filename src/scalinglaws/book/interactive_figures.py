"""Interactive figures for the static website, computed in advance from the book's own numbers.

Each figure is a Plotly figure whose every state is precomputed: a slider step swaps in
numbers that Python worked out (no kernel runs behind the page), hover text is written into
the figure, and plotly.js is shipped once with the site (:mod:`scalinglaws.book.plotly_assets`),
never fetched from a CDN. Four figures, each in the chapter where it teaches:

- :func:`allocation_explorer` (Chapter 7): N_opt, D_opt, D/N and the predicted loss at a
  budget chosen on a slider, under Kaplan's law (Kaplan Eq. 1.7), Hoffmann et al.'s three
  approaches, Besiroglu et al.'s refit and the book's own sweep, each with its interval;
- :func:`isoflop_explorer` (Chapter 11): a sweep's IsoFLOP profiles (Hoffmann Figure 3), every
  point hoverable for its run;
- :func:`loss_landscape` (Chapter 12): Eq. 2 as a contour map with Eq. 4's frontier and the
  trained models on it;
- :func:`inference_explorer` (Chapter 15): the cheapest model for Chinchilla's loss as the
  lifetime inference tokens grow (Sardana & Frankle 2023), against Eq. 4's.

Each figure also has a narrow layout (:class:`Narrow`) for a column under :data:`NARROW_WIDTH`
pixels (a phone): its legend below its plot, its plots stacked instead of side by side, long axis
titles on two lines, so that no title, legend or slider covers another. The page's script draws
the figure with it where the column is that narrow and switches layout when the column crosses
that width (a window resized, a phone turned).

What a notebook shows is an :class:`InteractiveFigure`: its output holds the interactive figure
as ``text/html`` (with the static image inside it, shown until plotly.js has drawn the figure,
so a reader with JavaScript off sees the image), the same figure as ``image/png`` (drawn by
matplotlib in the book's style, for the PDF) and a one-line description as ``text/plain``.
The HTML is deterministic: a fixed element id per figure, JSON with sorted keys, and every
number rounded to :data:`SIGNIFICANT_DIGITS` significant figures (so that the last bits of a
fit, which differ between processors, never reach it), so nbval compares it exactly; only the
embedded image is masked (``tests/nbval_sanitize.cfg``), as nbval skips ``image/png`` anyway.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from scalinglaws.data.runs import Runs
from scalinglaws.fitting import fit_power_law
from scalinglaws.papers import constants as k
from scalinglaws.papers import inference, laws
from scalinglaws.papers.calculator import FITTED_FLOPS
from scalinglaws.papers.constants import OptimalRow, ParametricFit

#: Digits kept of every number written into a figure: more than any label or hover text
#: shows (3), few enough that a fit's last bits, which depend on the processor, never show.
SIGNIFICANT_DIGITS = 6
#: One colour per row of a figure (matplotlib's default cycle, which the static figures use too).
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
#: The static image is drawn at twice its size in pixels, like every figure of the book
#: (:func:`scalinglaws.book.plotting.show_inline_figures_at_twice_the_pixels`).
STATIC_DPI = 200
#: Bands are drawn with this opacity (two hex digits appended to a colour).
BAND_ALPHA = "33"


# ------------------------------------------------------------------------------------------
# Putting a figure on the page
# ------------------------------------------------------------------------------------------


def rounded(value, digits: int = SIGNIFICANT_DIGITS):
    """``value`` (a figure's JSON tree) with every float rounded to ``digits`` significant
    figures and every NumPy array turned into a list: the same tree on every processor."""
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [rounded(item, digits) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            return None  # JSON has no NaN; plotly draws a gap
        return float(f"{number:.{digits}g}")
    return value


def _deterministic_json(figure: dict) -> str:
    text = json.dumps(rounded(figure), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("</", "<\\/")  # never close the <script> that holds it


#: Below this width of its column, in CSS pixels, a figure is drawn with its narrow layout. The
#: text column is 688 px wide at 1280 px and about 360 px on a 390 px phone.
NARROW_WIDTH = 600


def attribute_path(path: str) -> list[str | int]:
    """The keys of a plotly attribute path: "sliders[0].y" -> ["sliders", 0, "y"]."""
    keys = []
    for part in path.split("."):
        name, *indices = part.replace("]", "").split("[")
        keys += [name, *map(int, indices)]
    return keys


def attribute(tree, path: str):
    """The value at ``path`` (:func:`attribute_path`) in a figure's JSON tree, or None where unset."""
    for key in attribute_path(path):
        if isinstance(key, int):
            tree = tree[key] if isinstance(tree, list) and key < len(tree) else None
        else:
            tree = tree.get(key) if isinstance(tree, dict) else None
    return tree


@dataclass(frozen=True)
class Narrow:
    """What changes when a figure is drawn in a column narrower than :data:`NARROW_WIDTH`.

    ``layout`` maps plotly attribute paths of the layout ("legend.y", "sliders[0].y", as
    ``Plotly.relayout`` names them) to their narrow values; ``traces`` maps a trace's index to the
    paths and values of that trace. The page's script sets them in the figure (:meth:`applied`)
    and draws it.
    """

    layout: dict = field(default_factory=dict)
    traces: dict = field(default_factory=dict)

    def undone(self, figure: dict) -> Narrow:
        """The same paths with the figure's own values: what switches a narrow figure back.
        A path the figure leaves unset gets None, which plotly reads as its default."""
        return Narrow({path: attribute(figure["layout"], path) for path in self.layout},
                      {index: {path: attribute(figure["data"][index], path) for path in paths}
                       for index, paths in self.traces.items()})

    def applied(self, figure: dict) -> dict:
        """``figure`` ({"data", "layout", ...}) as the page holds it (:func:`rounded`) with these
        values set, None deleting one: what the page's script does to it before drawing it."""
        figure = json.loads(_deterministic_json(figure))
        for root, paths in [(figure["layout"], self.layout),
                            *((figure["data"][index], paths) for index, paths in self.traces.items())]:
            for path, value in paths.items():
                *parents, last = attribute_path(path)
                tree = root
                for key in parents:
                    tree = tree[key] if isinstance(key, int) else tree.setdefault(key, {})
                if value is None:
                    tree.pop(last, None)
                else:
                    tree[last] = value
        return figure

    def to_dict(self) -> dict:
        return {"layout": self.layout, "traces": {str(index): paths for index, paths in self.traces.items()}}


def stacked(blocks: Sequence[tuple[str, float]], top: float, bottom: float) -> tuple[int, dict]:
    """Blocks of the given heights in pixels, stacked top to bottom between a top and a bottom
    margin: the figure's height and each block's (bottom, top) in paper coordinates."""
    inner = sum(height for _, height in blocks)
    spans, y = {}, inner
    for name, height in blocks:
        spans[name] = ((y - height) / inner, y / inner)
        y -= height
    return round(top + inner + bottom), spans


def two_lines(title: str) -> str:
    """``title`` broken into two lines at the space nearest its middle (for a narrow figure)."""
    spaces = [i for i, char in enumerate(title) if char == " "]
    if not spaces:
        return title
    middle = min(spaces, key=lambda i: abs(i - len(title) / 2))
    return f"{title[:middle]}<br>{title[middle + 1:]}"


#: A narrow figure's legend: one entry a line, left-aligned under the plot, at the top of the
#: block :func:`stacked` keeps for it (LEGEND_LINE pixels an entry).
LEGEND_LINE = 20


def titled_close(*axes: str) -> dict:
    """The narrow layout's paths that set each axis's title just under its tick labels (where the
    axis is not at the figure's foot, plotly's default gap left it nearer the plot below)."""
    return {path: value for axis in axes for path, value in ((f"{axis}.automargin", True),
                                                             (f"{axis}.title.standoff", 8))}


def legend_below(top: float) -> dict:
    """The narrow layout's paths for a vertical legend whose top is at paper height ``top``."""
    return {"legend.orientation": "v", "legend.x": 0, "legend.xanchor": "left", "legend.y": top,
            "legend.yanchor": "top", "legend.tracegroupgap": 0}


@dataclass(frozen=True, eq=False)
class InteractiveFigure:
    """A figure as a notebook shows it: interactive HTML, a static PNG, a text description.

    ``figure`` is plotly's JSON form of the figure ({"data", "layout"}), ``div_id`` the page
    element it is drawn into (fixed, so the output is the same every run), ``alt`` the
    description of what it shows (alt text of the static image, and the text/plain output).
    ``data`` keeps the numbers the figure was built from, for tests and for the chapter;
    ``narrow`` is how the figure is drawn in a narrow column (:class:`Narrow`).
    """

    figure: dict
    div_id: str
    alt: str
    data: dict = field(default_factory=dict, repr=False)
    narrow: Narrow = field(default_factory=Narrow)

    def to_json(self) -> str:
        """The figure as deterministic JSON (sorted keys, numbers rounded), with its narrow layout
        ("narrow") and what undoes it ("wide")."""
        return _deterministic_json({**self.figure, "narrow": self.narrow.to_dict(),
                                    "wide": self.narrow.undone(self.figure).to_dict()})

    def static_png(self) -> bytes:
        """The figure's first state drawn by matplotlib: the fallback and the PDF's figure."""
        return render_static(self.figure)

    def html(self, png: bytes | None = None) -> str:
        """The output's HTML: the static image, replaced by the plotly figure once drawn."""
        png = self.static_png() if png is None else png
        width = _png_width(png) // 2  # drawn at 2x; shown at its normal size
        image = base64.b64encode(png).decode("ascii")
        alt = html.escape(self.alt, quote=True)
        return (
            f'<div class="interactive-figure" id="{self.div_id}-figure">\n'
            f'<img class="interactive-figure-fallback" alt="{alt}" width="{width}" '
            f'src="data:image/png;base64,{image}">\n'
            f'<div id="{self.div_id}" class="plotly-graph-div"></div>\n'
            "<script>(function () {\n"
            f"  var figure = {self.to_json()};\n"
            f"  function isNarrow(element) {{ return element.clientWidth < {NARROW_WIDTH}; }}\n"
            '  function set(tree, path, value) {  // path: "legend.y", "sliders[0].y"; null: plotly\'s default\n'
            '    var keys = path.replace(/\\[(\\d+)\\]/g, ".$1").split("."), last = keys.pop();\n'
            "    keys.forEach(function (key) { tree = tree[key] = tree[key] || {}; });\n"
            "    if (value === null) { delete tree[last]; } else { tree[last] = value; }\n"
            "  }\n"
            "  function apply(change, data, layout) {  // figure.narrow or figure.wide, into a figure's own\n"
            "    Object.keys(change.layout).forEach(function (path) { set(layout, path, change.layout[path]); });\n"
            "    Object.keys(change.traces).forEach(function (index) {\n"
            "      Object.keys(change.traces[index]).forEach(function (path) {\n"
            "        set(data[Number(index)], path, change.traces[index][path]);\n"
            "      });\n"
            "    });\n"
            "  }\n"
            "  function draw() {\n"
            "    if (!window.Plotly) { return; }  // no plotly.js: the static image stays\n"
            f'    var wrapper = document.getElementById("{self.div_id}-figure");\n'
            f'    var element = document.getElementById("{self.div_id}"), narrow = isNarrow(element);\n'
            "    if (narrow) { apply(figure.narrow, figure.data, figure.layout); }\n"
            "    Plotly.newPlot(element, figure.data, figure.layout, figure.config).then(function () {\n"
            '      wrapper.querySelector(".interactive-figure-fallback").remove();\n'
            '      wrapper.classList.add("interactive-figure-drawn");\n'
            "      if (!window.ResizeObserver) { return; }\n"
            "      var width = element.clientWidth, redraw = null;\n"
            "      new ResizeObserver(function () {  // the column's width changed: redraw 0.1 s after it settles\n"
            "        if (element.clientWidth === width) { return; }  // a new height: the figure's own\n"
            "        width = element.clientWidth;\n"
            "        clearTimeout(redraw);\n"
            "        redraw = setTimeout(function () {\n"
            "          if (isNarrow(element) !== narrow) {  // switch layout\n"
            "            narrow = !narrow;\n"
            "            apply(narrow ? figure.narrow : figure.wide, element.data, element.layout);\n"
            "          }\n"
            "          // Redrawn whole, from the figure as it stands (slider, hidden traces, zoom). Plotly's\n"
            "          // own resizing (config.responsive) redraws in part: once a legend wraps onto more or\n"
            "          // fewer lines it leaves it and the slider where the old margins put them.\n"
            "          Plotly.newPlot(element, element.data, element.layout, figure.config);\n"
            "        }, 100);\n"
            "      }).observe(element);\n"
            "    });\n"
            "  }\n"
            '  if (window.Plotly) { draw(); } else { window.addEventListener("load", draw); }\n'
            "})();</script>\n"
            "</div>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        png = self.static_png()
        return {"text/html": self.html(png), "image/png": base64.b64encode(png).decode("ascii"),
                "text/plain": self.alt}


def _png_width(png: bytes) -> int:
    return int.from_bytes(png[16:20], "big")  # the IHDR chunk's width


def _layout(height: int, **extra) -> dict:
    """A layout in plotly's plain style, sized for the book's text column."""
    return {"template": "none", "height": height, "autosize": True, "font": {"size": 12},
            "margin": {"l": 60, "r": 20, "t": 30, "b": 40}, "hovermode": "closest", **extra}


#: Not plotly's "responsive": the page's script redraws a figure when its column's width changes
#: (:meth:`InteractiveFigure.html` says why).
CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def decade_axis(title: str, low: float, high: float, **extra) -> dict:
    """A linear axis over log10 of a quantity, ticked at the decades 10^low..10^high.

    The figures plot log10 of N, D and C on linear axes (not plotly's log axes), so that
    shapes, contours and slider updates all live in the same, plain coordinates.
    """
    decades = list(range(int(math.floor(low)), int(math.ceil(high)) + 1))
    return {"title": {"text": title}, "range": [low, high], "tickvals": decades,
            "ticktext": [f"1e{d}" for d in decades], "zeroline": False, "showgrid": True, **extra}


def sci(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant figures, as the calculator's tables print it."""
    return f"{x:.{digits}g}" if math.isfinite(x) else "n/a"


# ------------------------------------------------------------------------------------------
# The static image: the same figure, drawn by matplotlib
# ------------------------------------------------------------------------------------------


def _axis_key(ref: str, letter: str) -> str:
    return f"{letter}axis{ref[1:]}"


MATPLOTLIB_MARKERS = {"circle": "o", "star": "*", "diamond": "D", "square": "s", "x": "x", "cross": "P"}


def render_static(figure: dict) -> bytes:
    """Draw a figure's first state (its visible traces, shapes, first slider step) with matplotlib.

    Handles what the book's figures use: scatter traces (lines, markers, filled bands),
    contours, tables, vertical line and band shapes, titles, decade ticks and plotly log axes.
    """
    from matplotlib.figure import Figure  # not pyplot: a notebook's own figures stay as they are

    layout = figure.get("layout", {})
    height = layout.get("height", 500) / 100
    fig = Figure(figsize=(7.5, height), dpi=100)
    axes = {}

    def axes_for(xref: str, yref: str):
        if (xref, yref) not in axes:
            xaxis, yaxis = layout.get(_axis_key(xref, "x"), {}), layout.get(_axis_key(yref, "y"), {})
            x0, x1 = xaxis.get("domain", [0, 1])
            y0, y1 = yaxis.get("domain", [0, 1])
            ax = fig.add_axes([0.09 + 0.89 * x0, 0.07 + 0.88 * y0, 0.89 * (x1 - x0) - 0.06, 0.88 * (y1 - y0) - 0.07])
            for axis, spec, set_scale, set_lim, set_ticks, set_label in (
                    (ax.xaxis, xaxis, ax.set_xscale, ax.set_xlim, ax.set_xticks, ax.set_xlabel),
                    (ax.yaxis, yaxis, ax.set_yscale, ax.set_ylim, ax.set_yticks, ax.set_ylabel)):
                if spec.get("type") == "log":
                    set_scale("log")
                if "range" in spec:
                    low, high = spec["range"]
                    set_lim(*(10**low, 10**high) if spec.get("type") == "log" else (low, high))
                if "tickvals" in spec:
                    set_ticks(spec["tickvals"], spec.get("ticktext", spec["tickvals"]))
                set_label(spec.get("title", {}).get("text", ""), fontsize=8)
                axis.set_tick_params(labelsize=7)
            ax.grid(True, alpha=0.3)
            axes[(xref, yref)] = ax
        return axes[(xref, yref)]

    for trace in figure.get("data", []):
        if trace.get("visible", True) in (False, "legendonly"):
            continue
        kind = trace.get("type", "scatter")
        if kind == "table":
            _static_table(fig, trace)
            continue
        ax = axes_for(trace.get("xaxis", "x"), trace.get("yaxis", "y"))
        label = trace.get("name") if trace.get("showlegend", True) else None
        if kind == "contour":
            x, y, z = (np.asarray(trace[key], dtype=float) for key in ("x", "y", "z"))
            contours = trace.get("contours", {})
            levels = np.arange(contours["start"], contours["end"] + contours["size"] / 2, contours["size"])
            filled = ax.contourf(x, y, z, levels=levels, cmap="viridis_r", extend="both")
            fig.colorbar(filled, ax=ax, pad=0.01).set_label(trace.get("colorbar", {}).get("title", {}).get("text", ""),
                                                            fontsize=8)
            continue
        x = np.asarray(trace.get("x", []), dtype=float)
        y = np.asarray(trace.get("y", []), dtype=float)
        if trace.get("fill") == "toself":
            ax.fill(x, y, color=trace.get("fillcolor", "#00000022"), lw=0, label=label)
            continue
        mode = trace.get("mode", "lines")
        line, marker = trace.get("line", {}), trace.get("marker", {})
        colour = line.get("color") or marker.get("color") or "black"
        if isinstance(colour, list):
            colour = "black"
        style = {"dot": ":", "dash": "--", "dashdot": "-."}.get(line.get("dash"), "-")
        if "lines" in mode:
            ax.plot(x, y, style, color=colour, lw=line.get("width", 2) * 0.7, label=label)
            label = None
        if "markers" in mode:
            symbols = marker.get("symbol", "circle")
            symbols = symbols if isinstance(symbols, list) else [symbols] * len(x)
            for symbol in dict.fromkeys(symbols):
                at = [i for i, s in enumerate(symbols) if s == symbol]
                ax.plot(x[at], y[at], MATPLOTLIB_MARKERS.get(symbol, "o"), color=colour,
                        ms=marker.get("size", 6) * 0.6, label=label, ls="none")
                label = None
    for shape in layout.get("shapes", []):
        ax = axes_for(shape.get("xref", "x").replace(" domain", ""), shape.get("yref", "y").replace(" domain", ""))
        if shape.get("type") == "rect":
            ax.axvspan(shape["x0"], shape["x1"], color=shape.get("fillcolor", "#00000011"), lw=0)
        elif shape.get("x0") == shape.get("x1"):
            ax.axvline(shape["x0"], color=shape.get("line", {}).get("color", "black"), ls=":", lw=1)
    for ax in axes.values():
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6.5, loc="best")
    title = layout.get("title", {}).get("text", "")
    for slider in layout.get("sliders", [])[:1]:
        step = slider["steps"][slider.get("active", 0)]
        title = f"{title}  {slider.get('currentvalue', {}).get('prefix', '')}{step['label']}".strip()
    if title:
        fig.suptitle(title, fontsize=9, y=0.995)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=STATIC_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _static_table(fig, trace: dict) -> None:
    x0, x1 = trace.get("domain", {}).get("x", [0, 1])
    y0, y1 = trace.get("domain", {}).get("y", [0, 1])
    ax = fig.add_axes([0.02 + 0.96 * x0, 0.01 + 0.96 * y0, 0.96 * (x1 - x0), 0.96 * (y1 - y0)])
    ax.axis("off")
    columns = trace["cells"]["values"]
    rows = [list(row) for row in zip(*columns)]
    table = ax.table(cellText=rows, colLabels=trace["header"]["values"], loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(6.5)
    table.auto_set_column_width(list(range(len(columns))))


def _slider(steps: list[dict], active: int, prefix: str, y: float) -> dict:
    return {"active": active, "steps": steps, "currentvalue": {"prefix": prefix, "font": {"size": 13}},
            "x": 0.0, "len": 1.0, "y": y, "yanchor": "top", "pad": {"t": 10, "b": 10}}


def _nearest_step(grid: np.ndarray, value: float) -> int:
    return int(np.argmin(np.abs(np.log(grid) - math.log(value))))


# ------------------------------------------------------------------------------------------
# 1. The allocation explorer (Chapter 7)
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllocationRule:
    """One row of the explorer: how a law spends C, and its interval where one exists.

    ``params(C)`` is N_opt; D_opt = C / (6 N_opt) throughout (as in the fitting code).
    ``loss(C)`` is the predicted loss at the optimum, or None where the approach predicts
    none. ``params_band(C)`` and ``loss_band(C)`` give (low, high) arrays or are None.
    ``fitted_flops`` are the budgets the law was fitted on (None: the book does not record
    them), ``token_unit`` and ``loss_unit`` say what D and L count.
    """

    name: str
    params: Callable
    loss: Callable | None = None
    params_band: Callable | None = None
    loss_band: Callable | None = None
    band_note: str = ""
    fitted_flops: tuple[float, float] | None = None
    token_unit: str = "tokens"
    loss_unit: str = "nats/token"


def power_law_through_rows(rows: Sequence[OptimalRow]):
    """N_opt = k C^a by least squares through printed (C, N) rows (Hoffmann Table 3 / A3)."""
    return fit_power_law([row.flops for row in rows], [row.params for row in rows])


#: Where a published exponent interval is pivoted into a band on N_opt(C): the middle, in
#: log C, of the budgets the Chinchilla laws were fitted on (:data:`calculator.FITTED_FLOPS`),
#: where the data pin the optimum down. Hoffmann et al. publish intervals on a only.
BAND_PIVOT_FLOPS = math.sqrt(FITTED_FLOPS[0] * FITTED_FLOPS[1])


def exponent_band(params: Callable, interval: tuple[float, float], pivot: float = BAND_PIVOT_FLOPS) -> Callable:
    """(low, high) N_opt(C) for every a in ``interval``, through N_opt(pivot):
    N(C) = N(pivot) (C / pivot)^a (the line of N_opt ~ C^a turned about the pivot)."""

    def band(flops):
        c = np.asarray(flops, dtype=float)
        lines = [params(pivot) * (c / pivot) ** a for a in interval]
        return np.minimum(*lines), np.maximum(*lines)

    return band


def refit_percentiles(samples: dict, flops, percentiles=(10.0, 90.0)):
    """10th-90th percentile N_opt(C) and L_opt(C) over bootstrap refits of Eq. 2.

    ``samples`` is a :class:`fitting.BootstrapResult`'s ``samples`` (arrays E, A, B, alpha,
    beta, one entry per refit); each refit's N_opt comes from Eq. 4 and its L_opt from Eq. 2
    at that allocation (:func:`laws.optimal_loss`). Returns ((N_low, N_high), (L_low, L_high)).
    """
    c = np.asarray(flops, dtype=float)
    n_opt, l_opt = [], []
    for values in zip(*(samples[name] for name in ("E", "A", "B", "alpha", "beta"))):
        refit = ParametricFit("refit", *map(float, values))
        n_opt.append(laws.optimal_allocation(refit, c)[0])
        l_opt.append(laws.optimal_loss(refit, c))
    n_band = np.percentile(np.array(n_opt), percentiles, axis=0)
    l_band = np.percentile(np.array(l_opt), percentiles, axis=0)
    return (n_band[0], n_band[1]), (l_band[0], l_band[1])


def parametric_rule(name: str, fit: ParametricFit, samples: dict | None = None, band_note: str = "",
                    fitted_flops=FITTED_FLOPS, token_unit: str = "tokens", loss_unit: str = "nats/token",
                    a_interval: tuple[float, float] | None = None) -> AllocationRule:
    """A row from a fit of Eq. 2: N_opt from Eq. 4, the loss from Eq. 2; the band from
    bootstrap ``samples`` of the fit (N and L), or from a published ``a_interval`` (N only)."""

    def params(c):
        return laws.optimal_allocation(fit, c)[0]

    def loss(c):
        return laws.optimal_loss(fit, c)

    params_band = loss_band = None
    if samples is not None:
        params_band = lambda c: refit_percentiles(samples, c)[0]  # noqa: E731
        loss_band = lambda c: refit_percentiles(samples, c)[1]  # noqa: E731
    elif a_interval is not None:
        params_band = exponent_band(params, a_interval)
    return AllocationRule(name, params, loss, params_band, loss_band, band_note, fitted_flops, token_unit, loss_unit)


def published_rules() -> list[AllocationRule]:
    """Kaplan's Eq. 1.7 and Hoffmann et al.'s three approaches, as published.

    Approaches 1 and 2: the power law through their printed rows (Table 3, Table A3);
    Approach 3: Eq. 4 of the unrounded fit. Their bands turn Table 2's 10-90% interval of a
    about :data:`BAND_PIVOT_FLOPS`. Kaplan et al. publish no interval.
    """
    note = "Table 2's 10-90% interval of a, turned about 1e20 FLOPs"
    rules = [AllocationRule("Kaplan (Eq. 1.7)", lambda c: laws.kaplan_optimal_params(c),
                            band_note="no interval published")]
    for number, rows in ((1, k.TABLE_3_APPROACH_1), (2, k.TABLE_A3_APPROACH_2)):
        law = power_law_through_rows(rows)
        rules.append(AllocationRule(f"Hoffmann approach {number}", law, None,
                                    exponent_band(law, k.approach(number).table_2.a_interval), None, note,
                                    FITTED_FLOPS))
    rules.append(parametric_rule("Hoffmann approach 3", k.CHINCHILLA_UNROUNDED,
                                 a_interval=k.approach(3).table_2.a_interval,
                                 band_note=note))
    return rules


def range_position(flops: float, fitted: tuple[float, float] | None) -> str:
    """Where C lies against the fitted budgets: "inside", "40x above", "3x below" or "not recorded"."""
    if fitted is None:
        return "not recorded"
    low, high = fitted
    if low <= flops <= high:
        return "inside"
    return f"{flops / high:.2g}x above" if flops > high else f"{low / flops:.2g}x below"


def _with_band(value: float, band) -> str:
    return sci(value) if band is None else f"{sci(value)} ({sci(band[0])}-{sci(band[1])})"


@dataclass(frozen=True)
class AllocationRow:
    """What the explorer's table shows for one rule at one budget (numbers, not text)."""

    rule: str
    flops: float
    params: float
    params_band: tuple[float, float] | None
    tokens: float
    tokens_band: tuple[float, float] | None
    loss: float
    loss_band: tuple[float, float] | None
    position: str

    @property
    def tokens_per_param(self) -> float:
        return self.tokens / self.params

    def cells(self, rule: AllocationRule) -> list[str]:
        loss = "n/a" if rule.loss is None else f"{_with_band(self.loss, self.loss_band)} {rule.loss_unit}"
        return [self.rule, _with_band(self.params, self.params_band),
                f"{_with_band(self.tokens, self.tokens_band)} {rule.token_unit}",
                f"{self.tokens_per_param:.3g}", loss, self.position]


def _at(band: Callable, flops: float) -> tuple[float, float]:
    low, high = band(np.array([flops]))
    return float(np.ravel(low)[0]), float(np.ravel(high)[0])


def allocation_row(rule: AllocationRule, flops: float) -> AllocationRow:
    """N_opt, D_opt = C / (6 N_opt), the loss and their intervals under ``rule`` at ``flops``."""
    c = float(laws.require_positive("the compute budget (FLOPs)", flops))
    n = float(rule.params(c))
    n_band = None if rule.params_band is None else _at(rule.params_band, c)
    d_band = None if n_band is None else (c / (6 * n_band[1]), c / (6 * n_band[0]))
    loss = math.nan if rule.loss is None else float(rule.loss(c))
    l_band = None if rule.loss_band is None else _at(rule.loss_band, c)
    return AllocationRow(rule.name, c, n, n_band, c / (6 * n), d_band, loss, l_band,
                         range_position(c, rule.fitted_flops))


ALLOCATION_HEADER = ("rule", "N_opt (10-90%)", "D_opt (10-90%)", "D/N", "loss (10-90%)", "C vs fitted range")


#: The allocation explorer's slider: 1e18 to 1e26 FLOPs in quarter decades.
SLIDER_BUDGETS = np.logspace(18, 26, 33)
#: The inference explorer's slider: 1e10 to 1e15 lifetime tokens in quarter decades.
SLIDER_SERVED = np.logspace(10, 15, 21)


def allocation_explorer(rules: Sequence[AllocationRule], budgets=SLIDER_BUDGETS, initial: float = 1e21,
                        curve_budgets=np.logspace(18, 26, 81), div_id: str = "allocation-explorer") -> InteractiveFigure:
    """N_opt(C) and D_opt(C) of every rule with its band, and a table of the allocation at
    the budget chosen on a slider over ``budgets``; the budgets the Chinchilla laws were fitted
    on (:data:`calculator.FITTED_FLOPS`) are shaded."""
    budgets = np.asarray(budgets, dtype=float)
    if np.any(np.diff(budgets) <= 0):
        raise ValueError("the slider's budgets must increase")
    curve = np.asarray(curve_budgets, dtype=float)
    log_c = np.log10(curve)
    data = []
    for index, rule in enumerate(rules):
        colour = COLOURS[index % len(COLOURS)]
        n = np.asarray(rule.params(curve), dtype=float)
        d = curve / (6 * n)
        if rule.params_band is not None:
            low, high = (np.asarray(v, dtype=float) for v in rule.params_band(curve))
            for axis, lower, upper in (("", low, high), ("2", curve / (6 * high), curve / (6 * low))):
                data.append({"type": "scatter", "x": [*log_c, *log_c[::-1]],
                             "y": [*np.log10(upper), *np.log10(lower)[::-1]], "fill": "toself",
                             "fillcolor": colour + BAND_ALPHA, "line": {"width": 0}, "hoverinfo": "skip",
                             "showlegend": False, "legendgroup": rule.name, "xaxis": f"x{axis}", "yaxis": f"y{axis}",
                             "name": f"{rule.name} band", "mode": "lines"})
        for axis, values, what in (("", n, "N_opt"), ("2", d, "D_opt")):
            data.append({"type": "scatter", "mode": "lines", "x": log_c, "y": np.log10(values), "name": rule.name,
                         "legendgroup": rule.name, "showlegend": axis == "", "line": {"color": colour, "width": 2},
                         "xaxis": f"x{axis}", "yaxis": f"y{axis}",
                         "customdata": [[sci(c), sci(v)] for c, v in zip(curve, values)],
                         "hovertemplate": f"{rule.name}<br>C = %{{customdata[0]}} FLOPs<br>{what} = %{{customdata[1]}}"
                                          "<extra></extra>"})
    rows = {float(c): [allocation_row(rule, c) for rule in rules] for c in budgets}

    def columns(c):
        cells = [row.cells(rule) for row, rule in zip(rows[float(c)], rules)]
        return [list(column) for column in zip(*cells)]

    active = _nearest_step(budgets, initial)
    table_index = len(data)
    data.append({"type": "table", "domain": {"x": [0, 1], "y": [0, 0.47]},
                 "columnwidth": [1.3, 1.9, 2.1, 0.6, 1.9, 1.0],
                 "header": {"values": list(ALLOCATION_HEADER), "align": "left", "font": {"size": 11},
                            "fill": {"color": "#e8e8e8"}},
                 "cells": {"values": columns(budgets[active]), "align": "left", "font": {"size": 11}, "height": 24}})
    low, high = np.log10(FITTED_FLOPS)
    shapes = [{"type": "rect", "xref": "x", "yref": "y domain", "x0": low, "x1": high, "y0": 0, "y1": 1,
               "fillcolor": "#00000014", "line": {"width": 0}, "layer": "below"},
              {"type": "rect", "xref": "x2", "yref": "y2 domain", "x0": low, "x1": high, "y0": 0, "y1": 1,
               "fillcolor": "#00000014", "line": {"width": 0}, "layer": "below"}]
    marker = [{"type": "line", "xref": axis, "yref": f"y{axis[1:]} domain", "y0": 0, "y1": 1,
               "line": {"color": "black", "width": 1, "dash": "dot"}} for axis in ("x", "x2")]

    def at(c):
        return [{**line, "x0": math.log10(c), "x1": math.log10(c)} for line in marker]

    steps = [{"method": "update", "label": f"{c:.2g}",
              "args": [{"cells.values": [columns(c)]}, {"shapes": shapes + at(c)}, [table_index]]}
             for c in budgets]
    n_values = [np.asarray(rule.params(curve), dtype=float) for rule in rules]
    n_range = [math.floor(min(np.log10(v).min() for v in n_values)), math.ceil(max(np.log10(v).max() for v in n_values))]
    d_values = [curve / (6 * v) for v in n_values]
    d_range = [math.floor(min(np.log10(v).min() for v in d_values)), math.ceil(max(np.log10(v).max() for v in d_values))]
    layout = _layout(
        1000,
        xaxis=decade_axis("Training compute C (FLOPs)", 18, 26, domain=[0, 0.46], anchor="y"),
        yaxis=decade_axis("N_opt (parameters)", *n_range, domain=[0.68, 1], anchor="x"),
        xaxis2=decade_axis("Training compute C (FLOPs)", 18, 26, domain=[0.56, 1], anchor="y2"),
        yaxis2=decade_axis("D_opt (tokens; bytes for the book's sweep)", *d_range, domain=[0.68, 1], anchor="x2"),
        shapes=shapes + at(budgets[active]),
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "font": {"size": 10}},
        sliders=[_slider(steps, active, "Compute budget C = ", 0.595)],
        margin={"l": 60, "r": 20, "t": 70, "b": 10},
    )
    layout["sliders"][0]["currentvalue"]["suffix"] = " FLOPs"
    narrow = allocation_narrow(layout, len(rules), table_index)
    alt = ("Compute-optimal parameters and tokens against the training budget, 1e18 to 1e26 FLOPs, "
           f"under {', '.join(rule.name for rule in rules)}, each with its interval, the Chinchilla "
           "laws' fitted budgets shaded, and a table of the allocation at the chosen budget "
           f"(shown here at {budgets[active]:.2g} FLOPs).")
    return InteractiveFigure({"data": data, "layout": layout, "config": CONFIG}, div_id, alt,
                             {"budgets": budgets, "rows": rows, "active": active, "table_index": table_index}, narrow)


def allocation_narrow(layout: dict, n_rules: int, table_index: int) -> Narrow:
    """The allocation explorer on a phone: N_opt's plot above D_opt's (side by side each was
    130 px wide and their axis titles ran into each other), then the legend, the slider and the table."""
    height, spans = stacked([("N", 250), ("N axis", 60), ("D", 250), ("D axis", 60),
                             ("legend", LEGEND_LINE * n_rules + 10), ("slider", 90), ("table", 420)], top=30, bottom=10)
    return Narrow({"height": height, "margin.t": 30, "xaxis.domain": [0, 1], "yaxis.domain": spans["N"],
                   "xaxis2.domain": [0, 1], "yaxis2.domain": spans["D"], **titled_close("xaxis", "xaxis2"),
                   "yaxis.automargin": True, "yaxis2.automargin": True,
                   "yaxis2.title.text": two_lines(layout["yaxis2"]["title"]["text"]),
                   **legend_below(spans["legend"][1]), "sliders[0].y": spans["slider"][1]},
                  {table_index: {"domain.y": [0, spans["table"][1]]}})


# ------------------------------------------------------------------------------------------
# 2. The IsoFLOP explorer (Chapter 11)
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunDetails:
    """What the hover text says about one run, from its record in a sweep's results."""

    name: str
    budget: float
    params: float
    tokens: float
    loss: float
    shape: str
    steps: int
    seed_losses: tuple[float, ...]  # the final losses of every seed of this configuration

    @property
    def tokens_per_param(self) -> float:
        return self.tokens / self.params

    def hover(self, outlier: bool) -> str:
        seeds = (f"{len(self.seed_losses)} seeds: loss {min(self.seed_losses):.4f}-{max(self.seed_losses):.4f}"
                 if len(self.seed_losses) > 1 else "one seed")
        lines = [self.name, f"N = {self.params:,.0f} parameters ({self.shape})",
                 f"{self.steps:,} steps, D = {self.tokens:,.0f} bytes, {self.tokens_per_param:,.0f} bytes/parameter",
                 f"final loss {self.loss:.4f} nats/byte; {seeds}"]
        if outlier:
            lines.append("left out of the parabola as an outlier")
        return "<br>".join(lines)


def run_details(runs: Runs, records: Sequence[dict]) -> list[RunDetails]:
    """Each run of ``runs`` with its shape, steps and seed spread from the sweep's ``records``
    (:func:`results.load_results`); runs of one budget and one shape that differ only in
    their seed are one configuration."""
    by_name = {record["run_id"]: record for record in records}
    missing = [run.name for run in runs if run.name not in by_name]
    if missing:
        raise ValueError(f"no record for run(s) {', '.join(missing[:3])}: pass the records of the same results")

    def configuration(record):
        return (float(record["budget"]), json.dumps(record["shape"], sort_keys=True), record["steps"])

    seeds: dict[tuple, list[float]] = {}
    for run in runs:
        seeds.setdefault(configuration(by_name[run.name]), []).append(run.loss)
    details = []
    for run in runs:
        record = by_name[run.name]
        shape = record["shape"]
        details.append(RunDetails(
            run.name, float(run.budget), run.params, run.tokens, run.loss,
            f"{shape['n_layers']} layers, d_model {shape['d_model']}, {shape['n_heads']} heads",
            int(record["steps"]), tuple(seeds[configuration(record)])))
    return details


def isoflop_explorer(fit, records: Sequence[dict], div_id: str = "isoflop-explorer") -> InteractiveFigure:
    """Every budget's runs (final loss against N), its fitted parabola and minimum, from
    ``fit`` (an :class:`fitting.Approach2Fit`, whose profiles keep their runs) and the sweep's
    ``records``; clicking a budget in the legend hides or shows it, and hovering over a run
    shows its shape, steps, D/N and seeds.

    Takes any sweep: as many budgets as the runs have, each in its own colour.
    """
    data, every_detail = [], []
    for index, profile in enumerate(fit.profiles):
        colour = COLOURS[index % len(COLOURS)]
        group = f"C = {profile.budget:.0e}"
        members, outliers = profile.runs, profile.outliers  # the runs the parabola was fitted to
        details = run_details(members, records)
        every_detail += details
        data.append({"type": "scatter", "mode": "markers", "name": group, "legendgroup": group,
                     "x": members.params, "y": members.loss,
                     "marker": {"color": colour, "size": 9,
                                "symbol": ["x" if out else "circle" for out in outliers]},
                     "hovertext": [detail.hover(out) for detail, out in zip(details, outliers)],
                     "hovertemplate": "%{hovertext}<extra></extra>"})
        if not profile.usable:
            continue
        sizes = np.geomspace(members.params.min() / 1.3, members.params.max() * 1.3, 40)
        data.append({"type": "scatter", "mode": "lines", "name": f"{group} parabola", "legendgroup": group,
                     "showlegend": False, "x": sizes, "y": profile.loss_at(sizes), "hoverinfo": "skip",
                     "line": {"color": colour, "width": 1.5}})
        data.append({"type": "scatter", "mode": "markers", "name": f"{group} minimum", "legendgroup": group,
                     "showlegend": False, "x": [profile.n_opt], "y": [profile.loss_min],
                     "marker": {"color": colour, "size": 14, "symbol": "star", "line": {"color": "black", "width": 1}},
                     "hovertext": [f"{group} FLOPs: minimum of the parabola<br>N_opt = {profile.n_opt:,.0f}, "
                                   f"D_opt = {profile.d_opt:,.0f} bytes<br>L_min = {profile.loss_min:.4f} nats/byte"],
                     "hovertemplate": "%{hovertext}<extra></extra>"})
    layout = _layout(
        480,
        xaxis={"type": "log", "title": {"text": "Parameters N"}, "showgrid": True},
        yaxis={"title": {"text": "Final held-out loss (nats per byte)"}, "showgrid": True},
        legend={"title": {"text": "budget (click to hide)"}, "font": {"size": 11}},
    )
    alt = (f"IsoFLOP profiles of {len(every_detail)} runs at {len(fit.profiles)} budgets: final loss against "
           "parameters on a log axis, one colour per budget, each with its fitted parabola and a star "
           "at its minimum; outliers left out of a parabola are crosses.")
    return InteractiveFigure({"data": data, "layout": layout, "config": CONFIG}, div_id, alt,
                             {"details": every_detail}, isoflop_narrow(len(fit.profiles)))


def isoflop_narrow(n_budgets: int) -> Narrow:
    """The IsoFLOP explorer on a phone: the legend (beside the plot it took a third of the width)
    at the figure's foot, where plotly keeps room for it under the x-axis title, two budgets a
    line; the figure taller by as much."""
    return Narrow({"height": 480 + LEGEND_LINE * math.ceil(n_budgets / 2) + 30, "legend.orientation": "h",
                   "legend.x": 0, "legend.xanchor": "left", "legend.yref": "container", "legend.y": 0,
                   "legend.yanchor": "bottom", "legend.title.side": "top", "xaxis.automargin": True,
                   "yaxis.automargin": True})


# ------------------------------------------------------------------------------------------
# 3. The loss landscape (Chapter 12)
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LandscapeView:
    """One fit of Eq. 2 drawn over (N, D), with the models to place on it.

    ``models`` are (name, N, D, measured loss or None); ``flops`` the budgets along which
    Eq. 4's frontier is drawn; ``params`` and ``tokens`` the (low, high) extent of the map.
    """

    label: str
    fit: ParametricFit
    models: tuple[tuple[str, float, float, float | None], ...]
    flops: tuple[float, float]
    params: tuple[float, float]
    tokens: tuple[float, float]
    token_unit: str = "tokens"
    loss_unit: str = "nats/token"


def loss_landscape(views: Sequence[LandscapeView], grid_points: int = 41,
                   div_id: str = "loss-landscape") -> InteractiveFigure:
    """Eq. 2 of each view as a contour map over log N and log D, Eq. 4's compute-optimal
    frontier and the view's models on it; hovering gives the loss and C = 6ND. Buttons
    switch between the views."""
    data, visibility, ranges = [], [], []
    for index, view in enumerate(views):
        log_n = np.linspace(*np.log10(view.params), grid_points)
        log_d = np.linspace(*np.log10(view.tokens), grid_points)
        n, d = np.meshgrid(10**log_n, 10**log_d)
        loss = laws.parametric_loss(view.fit, n, d)
        low, high = np.percentile(loss, (2, 90))
        size = float(f"{(high - low) / 12:.1g}")
        start = math.floor(low / size) * size
        first = len(data)
        data.append({"type": "contour", "x": log_n, "y": log_d, "z": loss, "name": view.label,
                     "colorscale": "Viridis", "reversescale": True, "visible": index == 0,
                     "contours": {"start": start, "end": start + 14 * size, "size": size, "showlabels": True,
                                  "labelfont": {"size": 9, "color": "white"}},
                     "colorbar": {"title": {"text": f"loss ({view.loss_unit})"}},
                     "customdata": np.stack([n, d, 6 * n * d], axis=-1),
                     "hovertemplate": (f"N = %{{customdata[0]:.3g}}<br>D = %{{customdata[1]:.3g}} {view.token_unit}"
                                       f"<br>C = 6ND = %{{customdata[2]:.3g}} FLOPs<br>L = %{{z:.3f}} {view.loss_unit}"
                                       "<extra>Eq. 2</extra>")})
        budgets = np.geomspace(*view.flops, 40)
        n_opt, d_opt = laws.optimal_allocation(view.fit, budgets)
        data.append({"type": "scatter", "mode": "lines", "name": "Eq. 4 frontier", "visible": index == 0,
                     "x": np.log10(n_opt), "y": np.log10(d_opt), "line": {"color": "white", "width": 3},
                     "customdata": [[sci(c), sci(nn), sci(dd), f"{laws.optimal_loss(view.fit, c):.3f}"]
                                    for c, nn, dd in zip(budgets, n_opt, d_opt)],
                     "hovertemplate": (f"compute-optimal at C = %{{customdata[0]}} FLOPs<br>N_opt = %{{customdata[1]}}, "
                                       f"D_opt = %{{customdata[2]}} {view.token_unit}<br>"
                                       f"L = %{{customdata[3]}} {view.loss_unit}<extra>Eq. 4</extra>")})
        names, xs, ys, texts = [], [], [], []
        for name, params, tokens, measured in view.models:
            predicted = float(laws.parametric_loss(view.fit, params, tokens))
            text = [name, f"N = {params:.3g}, D = {tokens:.3g} {view.token_unit}",
                    f"C = 6ND = {6 * params * tokens:.3g} FLOPs", f"Eq. 2: L = {predicted:.3f} {view.loss_unit}"]
            if measured is not None:
                text.append(f"measured: {measured:.3f} {view.loss_unit}")
            names.append(name)
            xs.append(math.log10(params))
            ys.append(math.log10(tokens))
            texts.append("<br>".join(text))
        data.append({"type": "scatter", "mode": "markers+text" if len(names) <= 4 else "markers", "name": "models",
                     "visible": index == 0, "x": xs, "y": ys, "text": names if len(names) <= 4 else None,
                     "textposition": "top right", "textfont": {"color": "white", "size": 11},
                     "marker": {"color": "#d62728", "size": 9, "line": {"color": "white", "width": 1}},
                     "hovertext": texts, "hovertemplate": "%{hovertext}<extra></extra>"})
        visibility.append(range(first, len(data)))
        ranges.append((np.log10(view.params), np.log10(view.tokens), view.token_unit))
    n_traces = len(data)

    def axes(i):
        (x0, x1), (y0, y1), unit = ranges[i]
        return {"xaxis": decade_axis("Parameters N", x0, x1), "yaxis": decade_axis(f"Training {unit} D", y0, y1)}

    buttons = [{"label": view.label, "method": "update",
                "args": [{"visible": [j in visibility[i] for j in range(n_traces)]}, axes(i)]}
               for i, view in enumerate(views)]
    layout = _layout(560, **axes(0), showlegend=False, margin={"l": 60, "r": 20, "t": 50, "b": 50})
    if len(views) > 1:
        layout["updatemenus"] = [{"type": "buttons", "direction": "right", "buttons": buttons, "active": 0,
                                  "x": 0, "y": 1.02, "xanchor": "left", "yanchor": "bottom"}]
    narrow = landscape_narrow([index for index, trace in enumerate(data) if trace["type"] == "contour"],
                              buttons="updatemenus" in layout)
    alt = (f"Contour map of Eq. 2's loss over parameters and training data for {views[0].label}"
           + (f" (a button switches to {', '.join(v.label for v in views[1:])})" if len(views) > 1 else "")
           + ", with Eq. 4's compute-optimal frontier as a white line and the trained models as red dots.")
    return InteractiveFigure({"data": data, "layout": layout, "config": CONFIG}, div_id, alt, {"views": views}, narrow)


def landscape_narrow(contours: Sequence[int], buttons: bool) -> Narrow:
    """The loss landscape on a phone: each contour's colour bar lies under the map's x-axis title
    (beside the map it took a third of the width), and the ``buttons`` sit below plotly's tool
    bar instead of under it, from the figure's left edge rather than the map's (on a 320 px
    phone they ran past the right one); the figure taller by as much.

    The colour bar is placed in the map's coordinates, 0.14 of its height (about 60 px) below it,
    where plotly widens the bottom margin for it: anchored to the figure's foot instead, it would
    take the x-axis title's margin unless that axis had automargin on, which the buttons undo
    (each sets the whole axis)."""
    colorbar = {"colorbar.orientation": "h", "colorbar.x": 0, "colorbar.xanchor": "left", "colorbar.len": 1,
                "colorbar.y": -0.14, "colorbar.yanchor": "top", "colorbar.thickness": 15,
                "colorbar.title.side": "top"}
    layout = {"height": 560 + 30 + 80, "margin.t": 80}
    if buttons:
        layout |= {"updatemenus[0].x": -0.15}
    return Narrow(layout, {index: colorbar for index in contours})


# ------------------------------------------------------------------------------------------
# 4. Inference-aware allocation (Chapter 15)
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServingComparison:
    """Eq. 4's model and the inference-aware one for the same loss and the same tokens served."""

    fit: str
    target_loss: float
    served: float
    compute_optimal: inference.InferenceAllocation
    inference_aware: inference.InferenceAllocation

    @property
    def compute_optimal_total(self) -> float:
        """Training plus serving FLOPs of Eq. 4's model: 6 N D + 2 N I."""
        return self.compute_optimal.training_flops + 2.0 * self.compute_optimal.params * self.served

    @property
    def saving(self) -> float:
        """The share of lifetime FLOPs the inference-aware model saves."""
        return 1.0 - self.inference_aware.total_flops / self.compute_optimal_total


def serving_comparison(fit: ParametricFit, served: float, target_loss: float | None = None) -> ServingComparison:
    """Train to ``target_loss`` (default: Chinchilla's loss under ``fit``, Hoffmann Table 1's
    70B on 1.4T tokens) and serve ``served`` tokens: Eq. 4's model against the cheapest one
    (:func:`inference.inference_optimal`)."""
    target = (float(laws.parametric_loss(fit, k.CHINCHILLA.params, k.CHINCHILLA.tokens))
              if target_loss is None else float(target_loss))
    return ServingComparison(fit.name, target, float(served), inference.inference_optimal(fit, target, 0.0),
                             inference.inference_optimal(fit, target, served))


INFERENCE_HEADER = ("fit", "model", "N", "D (tokens)", "D/N", "train FLOPs", "serve FLOPs", "total", "saved")


def _serving_cells(comparison: ServingComparison) -> list[list[str]]:
    rows = []
    for label, model in (("Eq. 4", comparison.compute_optimal), ("inference-aware", comparison.inference_aware)):
        serve = 2.0 * model.params * comparison.served
        train = model.training_flops
        rows.append([comparison.fit, label, sci(model.params), sci(model.tokens), f"{model.tokens_per_param:.0f}",
                     sci(train), sci(serve), sci(train + serve),
                     f"{comparison.saving:.0%}" if label != "Eq. 4" else ""])
    return rows


def inference_explorer(fits: Sequence[ParametricFit], served=SLIDER_SERVED, initial: float = 1e13,
                       div_id: str = "inference-explorer") -> InteractiveFigure:
    """Lifetime FLOPs (6 N D + 2 N I) of every model size that reaches Chinchilla's loss,
    with Eq. 4's model and the cheapest one marked, for lifetime inference tokens I chosen on
    a slider over ``served``; the table gives both models and the FLOPs saved."""
    served = np.asarray(served, dtype=float)
    if np.any(np.diff(served) <= 0):
        raise ValueError("the slider's token counts must increase")
    comparisons = {float(i): [serving_comparison(fit, i) for fit in fits] for i in served}
    sizes = {}
    for fit, comparison in zip(fits, comparisons[float(served[0])]):
        n_opt = comparison.compute_optimal.params
        floor = inference.smallest_params(fit, comparison.target_loss)
        sizes[fit.name] = np.geomspace(max(floor * 1.05, n_opt / 100), n_opt * 10, 60)

    def traces(i):
        out = []
        for index, (fit, comparison) in enumerate(zip(fits, comparisons[float(i)])):
            colour = COLOURS[index % len(COLOURS)]
            n = sizes[fit.name]
            total = [inference.lifetime_flops(fit, size, comparison.target_loss, i) for size in n]
            out.append({"type": "scatter", "mode": "lines", "name": fit.name, "legendgroup": fit.name,
                        "x": np.log10(n), "y": np.log10(total), "line": {"color": colour, "width": 2},
                        "customdata": [[sci(size), sci(t)] for size, t in zip(n, total)],
                        "hovertemplate": (f"{fit.name}<br>N = %{{customdata[0]}}<br>6ND + 2NI = %{{customdata[1]}} FLOPs"
                                          "<extra></extra>")})
            for label, model, symbol in (("Eq. 4", comparison.compute_optimal, "circle"),
                                         ("inference-aware", comparison.inference_aware, "star")):
                total = model.training_flops + 2.0 * model.params * i
                out.append({"type": "scatter", "mode": "markers", "name": f"{fit.name}: {label}",
                            "legendgroup": fit.name, "showlegend": False,
                            "x": [math.log10(model.params)], "y": [math.log10(total)],
                            "marker": {"color": colour, "size": 13 if symbol == "star" else 9, "symbol": symbol,
                                       "line": {"color": "black", "width": 1}},
                            "hovertext": [f"{fit.name}, {label}<br>N = {sci(model.params)}, D = {sci(model.tokens)} "
                                          f"tokens<br>lifetime {sci(total)} FLOPs"],
                            "hovertemplate": "%{hovertext}<extra></extra>"})
        return out

    def columns(i):
        rows = [row for comparison in comparisons[float(i)] for row in _serving_cells(comparison)]
        return [list(column) for column in zip(*rows)]

    active = _nearest_step(served, initial)
    data = traces(served[active])
    n_curves = len(data)
    table_index = len(data)
    data.append({"type": "table", "domain": {"x": [0, 1], "y": [0, 0.3]},
                 "columnwidth": [1.6, 1.4, 0.9, 0.9, 0.5, 1.0, 1.0, 0.9, 0.6],
                 "header": {"values": list(INFERENCE_HEADER), "align": "left", "font": {"size": 11},
                            "fill": {"color": "#e8e8e8"}},
                 "cells": {"values": columns(served[active]), "align": "left", "font": {"size": 11}, "height": 24}})

    def update(i):
        curves = traces(i)
        return {"x": [trace["x"] for trace in curves] + [None], "y": [trace["y"] for trace in curves] + [None],
                "customdata": [trace.get("customdata") for trace in curves] + [None],
                "hovertext": [trace.get("hovertext") for trace in curves] + [None],
                "cells.values": [None] * n_curves + [columns(i)]}

    steps = [{"method": "restyle", "label": f"{i:.2g}", "args": [update(i), list(range(n_curves + 1))]}
             for i in served]
    all_x = np.concatenate([np.log10(n) for n in sizes.values()])
    totals = [trace["y"] for i in (served[0], served[-1]) for trace in traces(i)]
    all_y = np.concatenate([np.asarray(y, dtype=float) for y in totals])
    layout = _layout(
        720,
        xaxis=decade_axis("Parameters N of a model trained to Chinchilla's loss", math.floor(all_x.min()),
                          math.ceil(all_x.max()), domain=[0, 1]),
        yaxis=decade_axis("Lifetime FLOPs, 6ND + 2NI", math.floor(all_y.min()), math.ceil(all_y.max()),
                          domain=[0.55, 1]),
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        sliders=[_slider(steps, active, "Lifetime inference tokens I = ", 0.43)],
        margin={"l": 60, "r": 20, "t": 50, "b": 10},
    )
    narrow = inference_narrow(layout, len(fits), table_index)
    alt = ("Lifetime FLOPs of training to Chinchilla's loss and then serving I tokens, against model "
           f"size, under {', '.join(fit.name for fit in fits)}, with Eq. 4's model (circles) and the "
           f"cheapest model (stars) marked and a table of both (shown here at I = {served[active]:.2g} tokens).")
    return InteractiveFigure({"data": data, "layout": layout, "config": CONFIG}, div_id, alt,
                             {"served": served, "comparisons": comparisons, "active": active,
                              "table_index": table_index}, narrow)


def inference_narrow(layout: dict, n_fits: int, table_index: int) -> Narrow:
    """The inference explorer on a phone: the plot, its x-axis title on two lines (on one it was
    wider than the figure), then the legend, the slider and the table."""
    height, spans = stacked([("plot", 300), ("axis", 70), ("legend", LEGEND_LINE * n_fits + 10), ("slider", 90),
                             ("table", 200)], top=30, bottom=10)
    return Narrow({"height": height, "margin.t": 30, "yaxis.domain": spans["plot"], "yaxis.automargin": True,
                   **titled_close("xaxis"),
                   "xaxis.title.text": two_lines(layout["xaxis"]["title"]["text"]),
                   **legend_below(spans["legend"][1]), "sliders[0].y": spans["slider"][1]},
                  {table_index: {"domain.y": [0, spans["table"][1]]}})
