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


def write_student_config(config_path, out_path):
    """Write the student edition's configuration: ``config_path`` with solutions hidden.

    The student edition is the same book built with sphinx-exercise's ``hide_solutions``
    set, so every ``solution`` directive is dropped and the exercises stay, and without
    the copies of the page sources that hold them. Returns
    ``out_path`` (a :class:`pathlib.Path`), ready for ``jupyter-book build --config``.
    """
    from pathlib import Path

    import yaml

    config = yaml.safe_load(Path(config_path).read_text())
    if not isinstance(config, dict):
        raise ValueError(f"{config_path} is not a Jupyter Book configuration (expected a YAML mapping)")
    sphinx = config.setdefault("sphinx", {}) or {}
    config["sphinx"] = sphinx
    sphinx_config = sphinx.get("config") or {}
    sphinx_config["hide_solutions"] = True
    # The page sources (and the download button that serves them) hold the solutions.
    sphinx_config["html_copy_source"] = False
    sphinx["config"] = sphinx_config
    config["title"] = f"{config.get('title', '')} (student edition)".strip()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return out_path


def main(argv=None) -> None:
    """``python -m scalinglaws.book student-config CONFIG OUT``: used by ``make student``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m scalinglaws.book", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser("student-config", help="write the student edition's _config.yml")
    student.add_argument("config", help="the book's _config.yml")
    student.add_argument("out", help="where to write the student edition's configuration")
    args = parser.parse_args(argv)
    print(write_student_config(args.config, args.out))


if __name__ == "__main__":
    main()
