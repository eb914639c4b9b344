# The course's two commands are `make book` and `make test` (see README.md).
# Both create .venv from requirements/lock.txt on first use and do nothing more when nothing changed.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
SETUP  := $(VENV)/.installed
BOOK   := _build/html/index.html

BOOK_SOURCES := _config.yml _toc.yml $(shell find book gmmlab -type f \
	\( -name '*.md' -o -name '*.ipynb' -o -name '*.py' -o -name '*.bib' -o -name '*.csv' -o -name '*.png' -o -name '*.svg' \) \
	-not -path '*/.ipynb_checkpoints/*' 2>/dev/null)

.PHONY: book test pytest clean lock help

help:
	@echo "make book   set up .venv and build the HTML book into _build/html"
	@echo "make test   set up .venv, build the book (executing every chapter) and run the whole test suite"
	@echo "make lock   re-resolve requirements/course.in into requirements/lock.txt"
	@echo "make clean  remove the built book (keeps .venv)"

$(SETUP): requirements/lock.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; the course needs Python 3.11 (set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/lock.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

book: $(BOOK)
	@echo "The book is built: open file://$(CURDIR)/_build/html/index.html"

$(BOOK): $(SETUP) $(BOOK_SOURCES)
	MPLBACKEND=Agg $(BIN)/jupyter-book build . -W --keep-going
	touch $@

test: book pytest

pytest: $(SETUP)
	MPLBACKEND=Agg $(PY) -m pytest

lock:
	rm -rf /tmp/gmmlab-lock && $(PYTHON) -m venv /tmp/gmmlab-lock
	/tmp/gmmlab-lock/bin/pip install --quiet pip==24.3.1 && /tmp/gmmlab-lock/bin/pip install --quiet -r requirements/course.in
	{ echo "# The course environment, pinned completely (pip freeze of requirements/course.in on Python 3.11)."; \
	  echo "# Regenerate with: make lock"; echo "pip==24.3.1"; echo "setuptools==80.9.0"; \
	  /tmp/gmmlab-lock/bin/pip freeze; } > requirements/lock.txt

clean:
	rm -rf _build
