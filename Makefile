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

.PHONY: setup sandbox-tools certificates grade test source release demo autograde similarity bench screenshots

setup: $(VENV)/installed

# Debian's bubblewrap, which grading needs (grading/sandbox.py): installed here when it is
# missing and this is root with apt; otherwise course.py stops with one sentence saying so.
sandbox-tools:
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && echo "Installing Debian's bubblewrap (the students' kernels run inside it)" \
	  && apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; } || true

$(VENV)/installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

grade: setup sandbox-tools  ## master notebook -> release/ -> demo grading, feedback and grades.csv
	$(BIN)/python tools/course.py all

test: setup
	$(BIN)/python -m pytest

source release demo: setup
	$(BIN)/python tools/course.py $@

autograde: setup sandbox-tools  ## a real class: submitted/ graded on Dask (a local cluster, or SCHEDULER=tls://host:8786)
	$(BIN)/python tools/course.py autograde $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(WORKERS),--workers $(WORKERS))

similarity: setup  ## who copied from whom: submitted/ compared pairwise -> reports/similitud.{html,png}
	$(BIN)/python tools/course.py similarity

certificates: setup  ## tls/: a course CA and certificates for the Dask cluster (TLS)
	$(BIN)/python tools/course.py certificates

bench: setup  ## timings, held-out MSEs and targets -> bench/out/results.{json,md}
	$(BIN)/python bench/run.py

screenshots: setup  ## the README's screenshots, from the browser test (needs Debian's chromium)
	SCREENSHOTS_DIR=$(CURDIR)/docs $(BIN)/python -m pytest tests/test_browser.py
