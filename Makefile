# The two commands of the README:
#   make demo   install (pinned, into .venv) and run the demo, then write report.html
#   make test   install (pinned, into .venv) and run the test suite
#   make browser  install Debian's chromium for the report test (root; skipped by the test without it)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: install demo test browser

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report report.html

test: install browser
	$(BIN)/python -m pytest

browser:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "chromium is not installed: run 'sudo apt-get install chromium' for the report's browser test"; fi; }
