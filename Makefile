# One command for the main job, one for the tests (README). Both set up .venv first if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export TF_CPP_MIN_LOG_LEVEL := 3
SHARED_DATA := $(abspath ../shared/data/scikit_learn_data)
ifneq ($(wildcard $(SHARED_DATA)),)
export SCIKIT_LEARN_DATA ?= $(SHARED_DATA)
endif

.PHONY: setup sandbox-tools certificates grade test source release demo autograde similarity bench screenshots hub-setup hub

# axe-core, the accessibility engine the browser tests run on the course's pages (README,
# Accessibility), from the npm registry into .venv/axe: nothing of it is committed. Without npm
# the accessibility checks skip, each with one line saying so.
AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js

setup: $(VENV)/installed $(AXE)

$(AXE):
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --no-save --no-package-lock --silent --prefix $(VENV)/axe axe-core@4.14.1; \
	else echo "No npm: axe-core not installed, the accessibility checks will skip"; fi

# Debian's bubblewrap, which grading needs (grading/sandbox.py): installed here when it is
# missing and this is root with apt; otherwise course.py stops with one sentence saying so.
sandbox-tools:
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && echo "Installing Debian's bubblewrap (the students' kernels run inside it)" \
	  && apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; } || true

# The pinned environment, then the course's own package (grading/, pyproject.toml), editable:
# it is imported from this folder, so an edit takes effect without installing again (setuptools
# warns about exactly that, which is the point: PYTHONWARNINGS quiets it).
$(VENV)/installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $@

grade: setup sandbox-tools  ## master notebook -> release/ -> demo grading, feedback and grades.csv
	$(BIN)/python -m grading.course all

test: setup
	$(BIN)/python -m pytest

source release demo: setup
	$(BIN)/python -m grading.course $@

autograde: setup sandbox-tools  ## a real class: submitted/ graded on Dask (a local cluster, or SCHEDULER=tls://host:8786)
	$(BIN)/python -m grading.course autograde $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(WORKERS),--workers $(WORKERS))

similarity: setup  ## who copied from whom: submitted/ compared pairwise -> reports/similitud.{html,png}
	$(BIN)/python -m grading.course similarity

certificates: setup  ## tls/: a course CA and certificates for the Dask cluster (TLS)
	$(BIN)/python -m grading.course certificates

bench: setup  ## timings, held-out MSEs and targets -> bench/out/results.{json,md}
	$(BIN)/python bench/run.py

screenshots: setup  ## the README's screenshots, from the browser tests (needs Debian's chromium)
	SCREENSHOTS_DIR=$(CURDIR)/docs $(BIN)/python -m pytest tests/test_browser.py tests/test_formgrader.py

# The course on a real JupyterHub (grading/hub.py, hub/jupyterhub_config.py), as root: the hub's
# venv in /opt (about 2 minutes the first time), the demo users, the exchange in /srv/nbgrader,
# the course in /home/profesora. tests/test_hub.py uses the same setup; .ci/run runs it first.
hub-setup: setup sandbox-tools
	$(BIN)/python -m grading.hub setup

hub: hub-setup  ## the hub on http://127.0.0.1:8000 (PORT=...) with the demo users; prints their password
	$(BIN)/python -m grading.hub start $(if $(PORT),--port $(PORT))
