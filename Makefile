# The project's interface: `make dev` runs the platform locally, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: dev test lint audit deploy-check fmt migrate bench openapi fuzz chaos browser clean

$(INSTALLED): requirements-dev.txt layers/core/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	# The layer and the local runtime are importable from the venv, as the layer is on Lambda.
	$(BIN)/python -c "import site, pathlib; pathlib.Path(site.getsitepackages()[0], 'trigger_platform_dev.pth').write_text('$(CURDIR)/layers/core\n$(CURDIR)\n')"
	touch $@

dev: $(INSTALLED)  ## start the platform on http://127.0.0.1:$${PORT:-3000}
	$(BIN)/python -m local

test: $(INSTALLED) browser  ## the whole suite: unit, integration, end to end
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml

browser: $(INSTALLED)  ## Debian's chromium + playwright for tests/e2e/test_docs_browser.py (never fails)
	VENV=$(VENV) bash scripts/install-browser.sh

audit: $(INSTALLED)  ## bandit over our code, pip-audit over the layer's dependencies
	$(BIN)/bandit -q -r layers/core/trigger_platform functions local
	$(BIN)/pip-audit -r layers/core/requirements.txt --progress-spinner off

# AWS SAM CLI lives in its own venv: its pins would fight the project's.
SAM_VENV := .venv-sam
SAM := AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet "aws-sam-cli>=1.140"
	touch $@

deploy-check: $(INSTALLED) $(SAM_VENV)/.installed  ## what can be checked of a deploy offline
	$(BIN)/cfn-lint template.yaml
	$(SAM) validate --lint
	$(SAM) build
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(BIN)/hadolint Dockerfile

fmt: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(INSTALLED)  ## apply migrations to $$DATABASE_URL
	$(BIN)/python -m trigger_platform.edge.cli migrate

bench: $(INSTALLED)  ## every benchmark in bench/, one after the other (10-15 min; see bench/README.md)
	for script in bench_core bench_fire bench_scheduler bench_logs bench_load; do \
		$(BIN)/python bench/$$script.py || exit 1; \
	done

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .local .pytest_cache .mypy_cache .ruff_cache

fuzz: $(INSTALLED)  ## the contract fuzz test, longer: FUZZ_EXAMPLES per operation
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-1500} $(BIN)/python -m pytest tests/e2e/test_contract_fuzz.py -q

chaos: $(INSTALLED)  ## the crash loop, longer: CRASH_ITERATIONS kills of the local runtime
	CRASH_ITERATIONS=$${CRASH_ITERATIONS:-50} $(BIN)/python -m pytest tests/e2e/test_crash.py -q

openapi: $(INSTALLED)  ## regenerate openapi.yaml from the handlers' models
	POWERTOOLS_SERVICE_NAME=trigger-platform $(BIN)/python -m local.openapi
