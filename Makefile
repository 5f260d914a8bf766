# The project's interface: `make dev` runs the platform locally, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Every install is from a lock, hash-checked (tests/unit/test_locks.py keeps it so).
UV_INSTALL = $(UV) pip install --quiet --require-hashes
RUNTIME := $(VENV)/.runtime-installed
TOOLS := $(VENV)/.tools-installed
# The embedded PostgreSQL of `make dev`, at the version (and with the hashes) of the dev lock.
PGSERVER := $(shell sed -n 's/^\(pgserver==[^ ]*\).*/\1/p' requirements-dev.lock)
# uv installs everything else; pip installs uv itself from its lock, once per machine and version,
# shared by every clone and worktree as pip's and uv's own caches are.
UV_VERSION := $(shell sed -n 's/^uv==\([^ ]*\).*/\1/p' requirements-uv.lock)
UV_HOME := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/event-trigger-platform/uv-$(UV_VERSION)
UV := $(UV_HOME)/bin/uv

.PHONY: dev test lint audit deploy-check fmt migrate bench openapi fuzz chaos browser clean lock lock-upgrade lock-check sbom

# Into a folder of its own first, so that two clones bootstrapping at once never share a half-install.
$(UV):
	rm -rf $(UV_HOME).$$PPID
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --require-hashes --target $(UV_HOME).$$PPID \
		-r requirements-uv.lock
	[ -e $(UV_HOME) ] || mv $(UV_HOME).$$PPID $(UV_HOME)
	rm -rf $(UV_HOME).$$PPID

# What running the platform needs: the image's set and pgserver.
$(RUNTIME): local/requirements.lock requirements-dev.lock | $(UV)
	$(PYTHON) -m venv --without-pip $(VENV)
	$(UV_INSTALL) --python $(BIN)/python -r local/requirements.lock -c requirements-dev.lock $(PGSERVER)
	# The layer and the local runtime are importable from the venv, as the layer is on Lambda.
	$(BIN)/python -c "import site, pathlib; pathlib.Path(site.getsitepackages()[0], 'trigger_platform_dev.pth').write_text('$(CURDIR)/layers/core\n$(CURDIR)\n')"
	touch $@

# The npm tools that check the contract, pinned by tools/contract/package-lock.json. No install
# scripts: none of the checks needs one (they are telemetry and optional native parsers).
CONTRACT := tools/contract
CONTRACT_TOOLS := $(CONTRACT)/node_modules/.installed

$(CONTRACT_TOOLS): $(CONTRACT)/package.json $(CONTRACT)/package-lock.json
	npm ci --prefix $(CONTRACT) --ignore-scripts --no-audit --no-fund
	touch $@

# The test, lint and benchmark tools on top: the venv becomes exactly the dev lock.
$(TOOLS): $(RUNTIME) requirements-dev.lock
	$(UV) pip sync --quiet --require-hashes --python $(BIN)/python requirements-dev.lock
	touch $@

dev: $(RUNTIME)  ## start the platform on http://127.0.0.1:$${PORT:-3000}
	$(BIN)/python -m local

test: $(TOOLS) browser $(CONTRACT_TOOLS)  ## the whole suite: unit, integration, end to end
	$(BIN)/python -m pytest

# openapi.yaml as its readers meet it: Swagger Editor 5's validator (0 errors or warnings),
# Spectral and Redocly (0 errors; their warnings are printed). Swagger Editor 4 is an e2e test.
lint: $(TOOLS) $(CONTRACT_TOOLS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml
	node $(CONTRACT)/validate-apidom.mjs openapi.yaml
	$(CONTRACT)/node_modules/.bin/spectral lint --ruleset $(CONTRACT)/.spectral.yaml --fail-severity error openapi.yaml
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(CONTRACT)/node_modules/.bin/redocly lint openapi.yaml

browser: $(TOOLS)  ## Debian's chromium (playwright is in the dev lock) for tests/e2e/test_docs_browser.py (never fails)
	bash scripts/install-browser.sh

audit: $(TOOLS)  ## bandit over our code, pip-audit over what the layer and the image ship
	$(BIN)/bandit -q -r layers/core/trigger_platform functions local
	# pip-audit says "No known vulnerabilities found" even when it could check nothing: count what it checked.
	status=0; for lock in layers/core/requirements.lock local/requirements.lock; do \
		$(BIN)/pip-audit -r $$lock --require-hashes --disable-pip --progress-spinner off -f json \
			-o $(VENV)/audit.json || status=1; \
		$(BIN)/python scripts/audit_summary.py $$lock $(VENV)/audit.json || status=1; \
	done; exit $$status

lock: | $(UV)  ## re-resolve every lock from its ranges (keeps the pins that still fit)
	UV=$(UV) bash scripts/locks.sh write

lock-upgrade: | $(UV)  ## re-resolve every lock to the newest versions its ranges allow
	UV=$(UV) bash scripts/locks.sh upgrade

lock-check: | $(UV)  ## fail when a lock is stale against its ranges
	UV=$(UV) bash scripts/locks.sh check

SBOM_DIR := sbom
sbom: $(TOOLS)  ## CycloneDX SBOMs of what the layer and the image ship: sbom/layer.cdx.json, sbom/image.cdx.json
	mkdir -p $(SBOM_DIR)
	$(BIN)/cyclonedx-py requirements --pyproject pyproject.toml --output-reproducible \
		-o $(SBOM_DIR)/layer.cdx.json layers/core/requirements.lock
	$(BIN)/cyclonedx-py requirements --pyproject pyproject.toml --output-reproducible \
		-o $(SBOM_DIR)/image.cdx.json local/requirements.lock

# AWS SAM CLI lives in its own venv: its pins would fight the project's.
SAM_VENV := .venv-sam
SAM := AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam

$(SAM_VENV)/.installed: requirements-sam.lock | $(UV)
	$(PYTHON) -m venv --without-pip $(SAM_VENV)
	$(UV_INSTALL) --python $(SAM_VENV)/bin/python -r requirements-sam.lock
	touch $@

deploy-check: $(TOOLS) $(SAM_VENV)/.installed  ## what can be checked of a deploy offline
	$(BIN)/cfn-lint template.yaml
	$(SAM) validate --lint
	$(SAM) build
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(BIN)/hadolint Dockerfile

fmt: $(TOOLS)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(RUNTIME)  ## apply migrations to $$DATABASE_URL
	$(BIN)/python -m trigger_platform.edge.cli migrate

bench: $(TOOLS) $(SAM_VENV)/.installed  ## every benchmark in bench/, one after the other (35-45 min; see bench/README.md)
	for script in bench_core bench_fire bench_scheduler bench_logs bench_load bench_server bench_delivery \
		bench_isolation bench_cold_start; do \
		$(BIN)/python bench/$$script.py || exit 1; \
	done

clean:
	rm -rf $(VENV) $(SAM_VENV) $(SBOM_DIR) .aws-sam .local .pytest_cache .mypy_cache .ruff_cache $(CONTRACT)/node_modules

fuzz: $(TOOLS)  ## the contract fuzz test, longer: FUZZ_EXAMPLES per operation
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-1500} $(BIN)/python -m pytest tests/e2e/test_contract_fuzz.py -q

chaos: $(TOOLS)  ## the crash loop, longer: CRASH_ITERATIONS kills and stops of the local runtime
	CRASH_ITERATIONS=$${CRASH_ITERATIONS:-50} $(BIN)/python -m pytest tests/e2e/test_crash.py -q

openapi: $(RUNTIME)  ## regenerate openapi.yaml from the handlers' models
	POWERTOOLS_SERVICE_NAME=trigger-platform $(BIN)/python -m local.openapi
