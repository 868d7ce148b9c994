"""Sphinx extension: ship plotly.js once with the website, and load it only where a page needs it.

The interactive figures (:mod:`scalinglaws.book.interactive_figures`) are written without plotly.js
(the minified bundle is about 4.8 MB: embedded in every page it would put pages near 5 MB)
and without a CDN (the site is read offline). This extension copies ``plotly.min.js`` from
the installed ``plotly`` package (pinned in ``requirements.txt``, so the bundle is the one its
figures were written for) into the built site's ``_static`` once, and adds a ``<script>`` for
it to the pages that hold an interactive figure: pages without one load nothing more.

Registered in ``_config.yml`` (``sphinx.extra_extensions``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

#: The class every interactive figure's element carries (plotly's own ``plotly-graph-div``).
FIGURE_MARKER = 'class="plotly-graph-div"'
BUNDLE = "plotly.min.js"


def bundle_path() -> Path:
    """plotly.js as the installed ``plotly`` package ships it."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / BUNDLE
    if not path.exists():
        raise FileNotFoundError(f"the plotly package has no {path}: reinstall plotly (requirements.txt)")
    return path


def _add_script(app, pagename, templatename, context, doctree):
    if FIGURE_MARKER in context.get("body", ""):
        app.add_js_file(BUNDLE, priority=400)


def _copy_bundle(app, exception):
    if exception is None and app.builder.format == "html":
        static = Path(app.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(bundle_path(), static / BUNDLE)


def setup(app):
    app.connect("html-page-context", _add_script)
    app.connect("build-finished", _copy_bundle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
