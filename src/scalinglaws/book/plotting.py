"""One look for every figure in the book: white background, labelled axes, log scales for
power laws, and inline figures drawn at twice their size in pixels, so they stay sharp on a
high-density screen (the website shows them at their normal size).

The website turns the white figures dark in its dark theme (``book/_static/book.css``).

Usage in a chapter::

    from scalinglaws.book.plotting import use_book_style, loglog_axes
    use_book_style()
    fig, ax = loglog_axes("Training compute C (FLOPs)", "Parameters N")
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker

BOOK_STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.figsize": (6.4, 4.2),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "font.size": 10,
}


def use_book_style() -> None:
    """Apply the book's matplotlib settings for the rest of the session."""
    mpl.rcParams.update(BOOK_STYLE)
    show_inline_figures_at_twice_the_pixels()


def show_inline_figures_at_twice_the_pixels() -> None:
    """In a Jupyter kernel, render inline figures as "retina" PNGs.

    The PNG holds twice the pixels in each direction and its display metadata halves them
    back, so a figure keeps its size on the page (and the website's ``<img>`` its width) but
    is sharp at a device pixel ratio of 2. ``figure.dpi`` stays 100, so a figure's text
    stand-in ("<Figure size 640x420 with 1 Axes>"), which nbval compares, is unchanged.
    Outside a kernel (a script, the tests) this does nothing.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    from matplotlib_inline.backend_inline import InlineBackend, set_matplotlib_formats

    # The backend resets the formats to its configured ones when it is first activated,
    # which can happen after this call (at the first figure): configure it as well.
    InlineBackend.instance().figure_formats = {"retina"}
    set_matplotlib_formats("retina")


def loglog_axes(xlabel: str, ylabel: str, title: str | None = None, ax=None):
    """A figure (or the given axes) with both axes logarithmic and labelled with units."""
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return fig, ax


def plain_tick_labels(axis) -> None:
    """Label a log axis with plain numbers (2, 3, 4) instead of 2x10^0, 3x10^0, ...

    For axes that span about a decade or less, such as losses in nats per token, where
    matplotlib's default labels the minor ticks in scientific notation.
    """
    formatter = mticker.FuncFormatter(lambda value, _position: f"{value:g}")
    axis.set_major_formatter(formatter)
    axis.set_minor_formatter(formatter)
