"""Facts about the book itself that its notebooks need when opened on their own.

A chapter opened in Colab has no checkout around it, so it cannot read ``_config.yml``.
Its first code cell installs this package from :data:`REPOSITORY_URL` when it is missing.
``_config.yml``'s ``repository.url`` is the single source; ``tests/test_book.py`` checks
that this constant and every chapter's install line agree with it.
"""

from __future__ import annotations

#: The book's public repository (``repository.url`` in ``_config.yml``).
REPOSITORY_URL = "https://github.com/scalinglaws-book/chinchilla-by-hand"

#: What ``pip install`` needs to install this package straight from the repository.
PIP_INSTALL_SPEC = f"git+{REPOSITORY_URL}"

