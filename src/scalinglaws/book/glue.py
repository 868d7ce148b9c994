"""Numbers from a cell into the prose: myst-nb's ``glue``, without needing myst-nb installed.

A chapter computes a number in a cell and calls ``glue("a_isoflop", a)``; its Markdown then
writes ``{glue:text}`a_isoflop:.3f``` and the built page prints the value the cell computed.
Re-executing the chapter after a sweep changes updates the prose with it.

myst-nb (the book's build tool) finds a glued value by the output's metadata, so this module
writes exactly the output that ``myst_nb.glue(name, value, display=False)`` writes (myst-nb
1.x, ``myst_nb/ext/glue/__init__.py``). A reader running the chapter in Colab or Binder, where
myst-nb is not installed, gets the same output and nothing is displayed.
"""

from __future__ import annotations

from typing import Any

#: The prefix myst-nb gives a glued value's MIME types when it is not displayed.
GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, value: Any) -> None:
    """Record ``value`` under ``name`` for ``{glue:text}`name``` in the notebook's Markdown,
    displaying nothing. Call it in a notebook cell (needs IPython, which every kernel has)."""
    from IPython.core.formatters import format_display_data
    from IPython.display import display

    if not name.replace("_", "").isalnum():
        raise ValueError(f"a glue name is letters, digits and underscores, got {name!r}")
    mimebundle, metadata = format_display_data(value)
    metadata["scrapbook"] = {"name": name, "mime_prefix": GLUE_PREFIX}
    display({GLUE_PREFIX + kind: data for kind, data in mimebundle.items()}, raw=True, metadata=metadata)
