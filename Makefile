# Two entry points for a fresh machine (see README.md):
#   make book   install everything into .venv and build the website into _build/html
#   make test   install everything (and headless Chromium) and run the whole test suite
# Both need only python3 (3.10+) with venv; `make test` also needs apt-get (root or sudo).

VENV ?= .venv
PYTHON := $(VENV)/bin/python

.PHONY: book test browser clean

$(VENV)/installed.stamp: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -r requirements.txt
	touch $@

book: $(VENV)/installed.stamp
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going

browser:
	bash tests/install_browser.sh

test: $(VENV)/installed.stamp browser
	$(PYTHON) -m pytest

clean:
	rm -rf _build
