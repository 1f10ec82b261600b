# The two commands of the README:
#   make demo   install (pinned, into .venv) and run the demo, then write report.html
#   make test   install (pinned, into .venv), lint, and run the test suite
# and their parts:
#   make install  the library (editable: .venv imports this checkout's scripts/biodl) with its pinned
#                 dependencies, one TensorFlow build and Snakemake (pyproject.toml), and the test tools,
#                 installed by uv (INSTALLER=pip: by pip); then numba compiles the motif kernels once
#                 into .cache/numba (the workflow's interpretation.numba_cache_dir), so the first
#                 interpretation does not, while the modules' bytecode is written beside it
#   make lint     ruff (lint and format) and mypy, as make test runs them before pytest
#   make browser  install Debian's chromium for the report test (root; skipped by the test without it)
#   make constraints  rewrite constraints.txt (every package pulled in, pinned) from a fresh install,
#                 after a pin in pyproject.toml or requirements-dev.txt changed
# TF=gpu (or GPU=1) installs TensorFlow's CUDA build instead of the CPU one, into a new .venv
# (rm -rf .venv first). Without TF or GPU, the CUDA build is taken when `nvidia-smi -L` lists an
# NVIDIA GPU; GPU=0 keeps the CPU build on such a machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
ifeq ($(GPU),1)
TF ?= gpu
endif
ifeq ($(GPU),0)
TF ?= cpu
endif
TF ?= $(shell nvidia-smi -L 2>/dev/null | grep -q '^GPU ' && echo gpu || echo cpu)
PIP_INSTALL := pip install --quiet --disable-pip-version-check
# uv installs the same pinned set as pip (constraints.txt), several times faster (10 s against 62 s
# for a new .venv here, both with a filled download cache); the bytecode that pip would compile
# while installing is compiled beside numba's kernels (below). INSTALLER=pip uses pip instead,
# e.g. where only pip.conf reaches a private index.
INSTALLER ?= uv
UV_VERSION := 0.13.8
ifeq ($(INSTALLER),uv)
INSTALL_PACKAGES := $(BIN)/uv pip install --quiet --python $(BIN)/python
else
INSTALL_PACKAGES := $(BIN)/$(PIP_INSTALL)
endif

.PHONY: install demo test lint browser constraints

$(VENV)/.installed: pyproject.toml requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(if $(filter uv,$(INSTALLER)),$(BIN)/$(PIP_INSTALL) uv==$(UV_VERSION))
	$(INSTALL_PACKAGES) -e ".[$(TF),workflow]" -r requirements-dev.txt -c constraints.txt
	touch $@

# numba's compile of Tomtom keeps one core busy for half a minute; meanwhile compileall writes the
# bytecode of the installed packages (not their own tests) and of the library on the other, at a
# lower priority so that it does not lengthen the compile: then no job compiles TensorFlow's
# modules again (every job would where PYTHONDONTWRITEBYTECODE is set). Bytecode only saves time:
# a file it cannot compile (some packages ship such files) is left to Python.
NUMBA_CACHE := .cache/numba
SITE_PACKAGES = $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
$(NUMBA_CACHE)/.compiled: $(VENV)/.installed
	nice -n 10 $(BIN)/python -m compileall -qq -j 1 -x '/tests?/' $(SITE_PACKAGES) scripts & \
	compiling=$$!; \
	$(BIN)/python -m biodl.interpret.warm_up $(NUMBA_CACHE) && { wait $$compiling || true; }
	touch $@

install: $(VENV)/.installed $(NUMBA_CACHE)/.compiled

demo: install
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report report.html --report-stylesheet workflow/report/report.css

test: install browser lint
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

browser:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "chromium is not installed: run 'sudo apt-get install chromium' for the report's browser test"; fi; }

# The CPU build: constraints.txt pins what CI installs. pip freeze leaves out pip, setuptools and
# the editable library itself.
LOCK_VENV := .cache/constraints-venv
constraints:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/$(PIP_INSTALL) -e ".[cpu,workflow]" -r requirements-dev.txt
	$(LOCK_VENV)/bin/pip freeze --exclude-editable | sort -f > constraints.txt
	rm -rf $(LOCK_VENV)
