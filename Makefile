# The course's two commands are `make book` and `make test` (see README.md).
# Both create .venv from requirements/lock.txt on first use and do nothing more when nothing changed.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
SETUP  := $(VENV)/.installed
BOOK   := _build/html/index.html
# MathJax and the widget manager, from the npm registry (tools/offline/package-lock.json), served by the book
OFFLINE := tools/offline/node_modules/.installed
# What Binder builds, reproduced without Docker: a venv made only from binder/ (see tests/deploy/browser/test_binder_lab.py)
BINDER_VENV  := _build/binder/venv
BINDER_SETUP := $(BINDER_VENV)/.installed
CHROMIUM := /usr/bin/chromium
# The course's JupyterHub (deploy/jupyterhub/): `make hub` sets it up on this machine; tests/deploy/test_jupyterhub.py
# sets up a temporary one from the same files, with the pinned software installed at HUB_TEST_PREFIX.
HUB_TEST_PREFIX := /opt/gmmlab-hub-test

BOOK_SOURCES := _config.yml _toc.yml $(shell find book gmmlab -type f \
	\( -name '*.md' -o -name '*.ipynb' -o -name '*.py' -o -name '*.bib' -o -name '*.csv' -o -name '*.png' -o -name '*.svg' \) \
	-not -path '*/.ipynb_checkpoints/*' 2>/dev/null) $(wildcard slides/*.md)

.PHONY: book test check pytest pytest-env pdf tex clean lock help chromium sandbox offline-assets binder-venv binder-lock binder-check browser-check \
	hub hub-env slides

help:
	@echo "make book   set up .venv and build the HTML book into _build/html"
	@echo "make check  the maintainer's first check: gmmlab's own tests and doctests (tests/package), no root, minutes"
	@echo "make test   set up .venv, build the book (executing every chapter) and its PDF, and run the whole test suite"
	@echo "make pdf    the whole book as one PDF, _build/latex/gmmlab-book.pdf (installs Debian's TeX Live if missing)"
	@echo "make slides the lecture decks (slides/*.md, built with the book) and a PDF handout of each, in _build/slides"
	@echo "make lock   re-resolve requirements/course.in into requirements/lock.txt"
	@echo "make clean  remove the built book (keeps .venv)"
	@echo "make browser-check  the browser test of the built book (offline math, widgets, search, links, a11y)"
	@echo "make binder-check   the Binder set-up: fresh venv from binder/, JupyterLab, every notebook run in Chromium"
	@echo "make binder-lock    regenerate binder/requirements.txt from requirements/lock.txt"
	@echo "make hub    (as root) set up the course's JupyterHub on this machine (deploy/jupyterhub/setup.sh)"

# uv installs the pinned lock into the venv (the same packages pip would install from it): on this 2-core machine
# it took 17 s where pip took 145 s, and every later step waits for it. Compiled to bytecode at install, as pip
# does: where PYTHONDONTWRITEBYTECODE is set (on this machine) nothing writes .pyc files later, so every kernel and
# grader compiled numpy, scipy and scikit-learn from source again, and make test took 25 minutes instead of 17.
UV := uv==0.13.10

$(SETUP): requirements/lock.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; the course needs Python 3.11 (set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check $(UV)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(PY) -r requirements/lock.txt
	$(BIN)/uv pip install --quiet --python $(PY) --no-deps --no-build-isolation -e .
	touch $@

book: $(BOOK)
	@echo "The book is built: open file://$(CURDIR)/_build/html/index.html"

# the book's own build helpers (Sphinx fixes, the offline assets' copy step) count as sources too
BOOK_TOOLS := $(wildcard tools/sphinx/*.py tools/sphinx/static/* tools/offline/*.py tools/offline/*.js) tools/execute.py

$(BOOK): $(SETUP) $(OFFLINE) $(BOOK_SOURCES) $(BOOK_TOOLS)
	# Chapters draw with the inline backend (so no MPLBACKEND here); one BLAS thread per kernel keeps a
	# 2-core machine from oversubscribing. tools/execute.py runs the chapters on every core into the execution
	# cache first (jupyter-book would run them one after another), so the build itself executes none.
	# MathJax and the widget manager are served by Sphinx itself (tools/offline/assets.py, html_extra_path).
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) tools/execute.py
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(BIN)/jupyter-book build . -W --keep-going
	touch $@

# Two jobs at a time where they do not share files: the test environments (Binder's venv, the Hub's software)
# install while the book builds, the slides' handouts print while the PDF typesets; then the suite runs.
test:
	$(MAKE) -j2 --output-sync=target book pytest-env
	$(MAKE) -j2 --output-sync=target pdf slides
	$(MAKE) pytest

# The package tier: gmmlab alone (its tests and every module's doctests), no root, no browser, no book build.
check: $(SETUP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MPLBACKEND=Agg $(PY) -m pytest tests/package gmmlab -n 2 --dist loadfile -q

# ------------------------------------------------------------------------------------------------ the PDF book
# XeLaTeX and the LaTeX packages and fonts that Sphinx and sphinx-jupyterbook-latex use (its class needs bbm,
# from texlive-fonts-extra), all from Debian; poppler-utils gives the PDF's test pdftotext.
TEX_PACKAGES := latexmk texlive-xetex texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended \
	texlive-fonts-extra texlive-plain-generic tex-gyre fonts-freefont-otf poppler-utils
PDF := _build/latex/gmmlab-book.pdf

pdf: $(PDF)
	@echo "The PDF book is built: $(CURDIR)/$(PDF)"

tex:
	@missing=$$(for p in $(TEX_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y --no-install-recommends $$missing; \
	else echo "error: make pdf needs Debian packages that are missing; as root run:"; \
	     echo "  apt-get update && apt-get install -y --no-install-recommends" $$missing; exit 1; fi

# Same sources and execution cache as the HTML book (_build/.jupyter_cache): after `make book` nothing re-runs.
$(PDF): $(SETUP) $(BOOK_SOURCES) $(BOOK_TOOLS) | tex
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) tools/execute.py
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(BIN)/jupyter-book build . --builder pdflatex
	@test -s $@ || { echo "error: jupyter-book reported success but wrote no $@"; exit 1; }
	# every HTML page's footer links the PDF at the site's root (tools/sphinx/book_html.py)
	mkdir -p _build/html && cp $@ _build/html/gmmlab-book.pdf
	touch $@

# The whole suite, browser tests included: they need Chromium and the Binder environment (both made once).
# Three workers (pytest-xdist) on the two cores, each taking whole test files so a file's module fixtures are built
# once, with one BLAS thread each: much of the suite waits on Chromium, kernels and nbgrader's subprocesses (with two
# workers the cores were busy 57% of the time); measured from a fresh clone, three took 834 s where two took 945.
# What the suite needs besides .venv, one after another (chromium, sandbox and hub-env may call apt-get, which
# takes a lock), even when `make -j` runs this beside the book's build.
pytest-env: $(SETUP)
	MAKEFLAGS= $(MAKE) --no-print-directory chromium sandbox binder-venv hub-env

pytest: pytest-env
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MPLBACKEND=Agg $(PY) -m pytest -n 3 --dist loadfile --durations=12

# ------------------------------------------------------------------------------------------------ the lecture decks
# The book's build writes a reveal.js deck per slides/<chapter>.md into _build/html/slides/ (tools/sphinx/slides.py;
# _build/slides links to it); this adds each deck's PDF handout, one page per slide, printed by Debian's Chromium.
HANDOUTS := _build/html/slides/.handouts

slides: $(HANDOUTS)
	@echo "The lecture decks are built: open file://$(CURDIR)/_build/slides/ (a deck and its PDF per chapter)"

$(HANDOUTS): $(BOOK) tools/slides/handouts.py | chromium
	$(PY) tools/slides/handouts.py
	touch $@

# ------------------------------------------------------------------------------------------------ JupyterHub
# One command on a fresh Debian machine, as root: accounts, exchange, formgrader and autograde services, systemd.
hub:
	bash deploy/jupyterhub/setup.sh

# The Hub's software only (pinned: deploy/jupyterhub/requirements.txt and package-lock.json), for the test; it
# does nothing when nothing changed. Installing needs root, as the Hub does; elsewhere the test skips.
hub-env:
	@if [ "$$(id -u)" = 0 ]; then bash deploy/jupyterhub/install-env.sh $(HUB_TEST_PREFIX); \
	else echo "make hub-env: not root, so tests/deploy/test_jupyterhub.py will skip (the Hub creates accounts)"; fi

lock:
	rm -rf /tmp/gmmlab-lock && $(PYTHON) -m venv /tmp/gmmlab-lock
	/tmp/gmmlab-lock/bin/pip install --quiet pip==24.3.1 && /tmp/gmmlab-lock/bin/pip install --quiet -r requirements/course.in
	{ echo "# The course environment, pinned completely (pip freeze of requirements/course.in on Python 3.11)."; \
	  echo "# Regenerate with: make lock"; echo "pip==24.3.1"; echo "setuptools==80.9.0"; \
	  /tmp/gmmlab-lock/bin/pip freeze; } > requirements/lock.txt

clean:
	rm -rf _build

# ------------------------------------------------------------------------------------------------ browser tests
# Debian's Chromium, the only browser the tests use (Playwright drives it; it never downloads one).
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y --no-install-recommends chromium; \
	else echo "error: the browser tests need Debian's chromium at $(CHROMIUM); as root run:"; \
	     echo "  apt-get update && apt-get install -y --no-install-recommends chromium"; exit 1; fi
	@test -x $(CHROMIUM) || { echo "error: $(CHROMIUM) still missing after installing chromium"; exit 1; }

# Debian's bubblewrap (and util-linux's setpriv and prlimit): autograding runs each submission in a sandbox.
sandbox:
	@if command -v bwrap >/dev/null && command -v setpriv >/dev/null && command -v prlimit >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y --no-install-recommends bubblewrap util-linux; \
	else echo "error: autograding needs bubblewrap; as root run:"; \
	     echo "  apt-get update && apt-get install -y --no-install-recommends bubblewrap util-linux"; exit 1; fi

offline-assets: $(OFFLINE)

$(OFFLINE): tools/offline/package.json tools/offline/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found; the book's offline MathJax and widget files come from npm"; exit 1; }
	cd tools/offline && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# A fresh venv built only from binder/requirements.txt, as repo2docker would (runtime.txt: python-3.11).
# binder/postBuild runs in the test itself, in a copy of the repository, so gmmlab is always current.
binder-venv: $(BINDER_SETUP)

$(BINDER_SETUP): binder/requirements.txt binder/runtime.txt
	@grep -qx 'python-3.11' binder/runtime.txt || { echo "error: binder/runtime.txt must say python-3.11"; exit 1; }
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; the course needs Python 3.11 (set PYTHON=...)"; exit 1; }
	rm -rf $(BINDER_VENV) && $(PYTHON) -m venv $(BINDER_VENV)
	$(BINDER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r binder/requirements.txt
	touch $@

binder-lock:
	$(PYTHON) tools/binder_requirements.py

binder-check: $(SETUP) chromium $(BINDER_SETUP)
	MPLBACKEND=Agg $(PY) -m pytest tests/deploy/browser/test_binder_lab.py tests/deploy/test_binder_requirements.py

browser-check: book chromium
	$(PY) -m pytest tests/deploy/browser/test_book_html.py

# Regenerate the student versions exercises/<assignment>/ from solutions/ with nbgrader generate_assignment
# (solutions and hidden tests removed, outputs cleared). It runs in a throwaway course directory, so no
# gradebook.db is written here; `make test` checks that the committed exercises/ equal this output.
.PHONY: exercises
exercises: $(SETUP)
	@tmp=$$(mktemp -d) && cp -r nbgrader_config.py solutions "$$tmp"/ && \
	for a in $(notdir $(wildcard solutions/*)); do \
	  (cd "$$tmp" && PATH="$(CURDIR)/$(BIN):$$PATH" "$(CURDIR)/$(PY)" -m nbgrader generate_assignment "$$a" --force --log-level=WARN) || exit 1; \
	done && mkdir -p exercises && for a in $(notdir $(wildcard solutions/*)); do \
	  rm -rf "exercises/$$a" && cp -r "$$tmp/exercises/$$a" "exercises/$$a" || exit 1; \
	done && rm -rf "$$tmp"
	@echo "exercises/ regenerated from solutions/: $(notdir $(wildcard solutions/*))"
