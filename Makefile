# Two entry points for a fresh machine (see README.md):
#   make book   install everything into .venv and build the website into _build/html
#   make test   install everything (and headless Chromium) and run the whole test suite
# Both need only python3 (3.10+) with venv; `make test` also needs apt-get (root or sudo).

VENV ?= .venv
PYTHON := $(VENV)/bin/python

.PHONY: book student test browser clean

$(VENV)/installed.stamp: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -r requirements.txt
	touch $@

book: $(VENV)/installed.stamp
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going

# The student edition: every exercise, no solution. scalinglaws.book.student_edition writes
# solution-free copies of the chapters (and the tree around them) into $(STUDENT)/source;
# the site is built from that tree into $(STUDENT)/_build/html, so its page sources and
# .ipynb downloads are those copies, and its Colab and Binder buttons open them from the
# branch `student_edition.branch` of `repository.url` (README.md: publishing them there).
STUDENT ?= _build/student
student: $(VENV)/installed.stamp
	$(PYTHON) -m scalinglaws.book.student_edition source . $(STUDENT)/source
	$(VENV)/bin/jupyter-book build $(STUDENT)/source --path-output $(STUDENT) \
		--warningiserror --nitpick --keep-going --all

browser:
	bash tests/install_browser.sh

# One BLAS thread: the fits run many tiny linear-algebra calls, which a thread pool only
# slows down on 2 cores (measured: the fitting tests take 15 s instead of 22 s). The same
# AVX2 kernels on every processor, so that the fits' printed digits agree everywhere
# (tests/conftest.py, PINNED_KERNELS, says why; it sets them for the notebooks too).
PINNED_KERNELS := NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" OPENBLAS_CORETYPE=Haswell
# Two workers, one test file or notebook at a time each (--dist loadscope: a notebook's cells run in
# order in one kernel, as nbval needs): the suite is mostly single-threaded, so one worker leaves a
# core idle. Measured on a fresh clone here: 2,271 s on one worker, 1,707 s on two (a niced sweep
# training alongside both). --durations lists the slowest tests, where the suite's time goes.
test: $(VENV)/installed.stamp browser
	OPENBLAS_NUM_THREADS=1 $(PINNED_KERNELS) $(PYTHON) -m pytest -n 2 --dist loadscope --durations=25

clean:
	rm -rf _build
