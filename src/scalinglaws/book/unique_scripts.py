"""Sphinx extension: each script once per page.

Two of the theme's extensions (sphinx-thebe and sphinx-togglebutton) register their inline
configuration scripts once per read of the sources, and a Jupyter Book build reads them twice,
so every page carried ``const THEBE_JS_URL = ...`` twice and the browser's console logged
"Identifier 'THEBE_JS_URL' has already been declared" on every page. This extension drops a
script that repeats one already on the page (same file or inline body, same attributes), keeping
the first (``tests/test_site.py`` checks the built pages).

Registered in ``_config.yml`` (``sphinx.extra_extensions``).
"""

from __future__ import annotations


def script_key(script) -> tuple:
    """What makes two script entries the same script on a page: the file (None for an inline
    script, which extensions register with None or with "") and the attributes, the inline body
    among them. The load priority is not part of it."""
    filename = getattr(script, "filename", script)
    attributes = getattr(script, "attributes", {})
    return (str(filename) if filename else None,
            tuple(sorted((name, str(value)) for name, value in attributes.items())))


def unique_scripts(scripts: list) -> list:
    """``scripts`` in order, each one's repeats left out."""
    seen, kept = set(), []
    for script in scripts:
        key = script_key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    return kept


def _drop_repeats(app, pagename, templatename, context, doctree):
    if "script_files" in context:
        context["script_files"][:] = unique_scripts(context["script_files"])  # in place: the builder's list


def setup(app):
    # Early: html-page-context stops at the first handler that returns a template name, so a late
    # handler may never run. The repeats are there before the event (registered with the build).
    app.connect("html-page-context", _drop_repeats, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
