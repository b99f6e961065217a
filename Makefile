# allelemesh developer commands. Two do all the set-up on a fresh machine:
#   make demo   - create .venv, install, run a real mesh on loopback
#   make test   - create .venv if needed, lint, type-check, run the whole suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# `make test-hail`: the Hail pipeline's tests in a venv of their own (hail pins its own
# dependencies, e.g. rich 12; the main venv stays as it is).
HAIL_VENV  := .venv-hail
HAIL_STAMP := $(HAIL_VENV)/.installed
TOOLS  := .tools
BUF    := $(TOOLS)/node_modules/.bin/buf
BIOME  := $(TOOLS)/node_modules/.bin/biome
PROTO_SRC := $(wildcard protos/mesh/v1/*.proto)
PYTEST_ARGS ?=

.PHONY: venv demo demo-serve test browser-deps deploy-deps vcf-tools lint lint-js typecheck proto proto-check buf-lint buf-breaking bench bench-quick soak fuzz reliability clean

# native/: the index value expander and the build's counts packer, C built by pip with the machine's compiler (cc).
NATIVE := native/pyproject.toml $(wildcard native/allelemesh_codec/*.c native/allelemesh_codec/*.h)

$(STAMP): pyproject.toml $(NATIVE)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ./native
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py

# The demo mesh kept running (until Ctrl-C) so its pages can be opened in a browser.
demo-serve: $(STAMP)
	$(PY) scripts/demo.py --serve

test: $(STAMP) browser-deps deploy-deps vcf-tools lint lint-js typecheck proto-check
	$(PY) -m pytest $(PYTEST_ARGS)

$(HAIL_STAMP): pyproject.toml $(NATIVE)
	$(PYTHON) -m venv $(HAIL_VENV)
	$(HAIL_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(HAIL_VENV)/bin/python -m pip install --quiet ./native
	$(HAIL_VENV)/bin/python -m pip install --quiet -e '.[hail,test]'
	touch $(HAIL_STAMP)

# Hail needs Java (Debian 12 ships 17; Hail is built with 11 and runs on 17 here).
test-hail: $(HAIL_STAMP)
	@if ! command -v java >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y --no-install-recommends default-jre-headless || (apt-get update && apt-get install -y --no-install-recommends default-jre-headless)); \
	fi
	ALLELEMESH_REQUIRE_HAIL=1 $(HAIL_VENV)/bin/python -m pytest tests/hail $(PYTEST_ARGS)

# Debian's Chromium for the browser tests (tests/pages); Playwright drives it, no download.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && apt-get install -y chromium; \
	elif [ ! -x /usr/bin/chromium ]; then \
	    echo "browser-deps: no /usr/bin/chromium (as root: apt-get install -y chromium); browser tests will skip, or fail under CI=true"; \
	fi

# promtool (Debian's prometheus package) for the alert tests in tests/deploy.
deploy-deps:
	@if ! command -v promtool >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y --no-install-recommends prometheus || (apt-get update && apt-get install -y --no-install-recommends prometheus)); \
	elif ! command -v promtool >/dev/null; then \
	    echo "deploy-deps: no promtool (as root: apt-get install -y prometheus); alert tests will skip, or fail under CI=true"; \
	fi

# Debian's vt and bcftools for the tests of split files (tests/nodes/build/test_builder_vt.py,
# test_builder_split_numbers.py, test_builder_real_files.py).
vcf-tools:
	@if ! (command -v vt && command -v bcftools) >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y --no-install-recommends vt bcftools || (apt-get update && apt-get install -y --no-install-recommends vt bcftools)); \
	elif ! (command -v vt && command -v bcftools) >/dev/null; then \
	    echo "vcf-tools: no vt or bcftools (as root: apt-get install -y vt bcftools); their tests will skip, or fail under CI=true"; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The pages' JavaScript (gateway/pages/static): Biome's linter and formatter, config in biome.json.
# `$(BIOME) check --write` applies its fixes and formatting.
lint-js: $(BIOME)
	$(BIOME) ci --error-on-warnings

typecheck: $(STAMP)
	$(VENV)/bin/mypy mesh nodes gateway

# Regenerate mesh/v1 from protos/ (the generated code is committed).
proto: $(STAMP)
	$(PY) -m grpc_tools.protoc -Iprotos -Iprotos/third_party \
	    --python_out=. --pyi_out=. --grpc_python_out=. $(PROTO_SRC)

# Fail if the committed generated code differs from what the protos give.
proto-check: $(STAMP)
	@rm -rf $(TOOLS)/proto-check && mkdir -p $(TOOLS)/proto-check
	@$(PY) -m grpc_tools.protoc -Iprotos -Iprotos/third_party \
	    --python_out=$(TOOLS)/proto-check --pyi_out=$(TOOLS)/proto-check \
	    --grpc_python_out=$(TOOLS)/proto-check $(PROTO_SRC)
	@for f in $(TOOLS)/proto-check/mesh/v1/*; do \
	    cmp -s "$$f" "mesh/v1/$$(basename $$f)" || { echo "mesh/v1/$$(basename $$f) is stale: run make proto"; exit 1; }; \
	done
	@echo "generated code matches protos/"

$(BUF):
	mkdir -p $(TOOLS)
	cd $(TOOLS) && npm install --silent --no-audit --no-fund @bufbuild/buf@1.75.0

$(BIOME):
	mkdir -p $(TOOLS)
	cd $(TOOLS) && npm install --silent --no-audit --no-fund --save-exact @biomejs/biome@2.6.8

buf-lint: $(BUF)
	$(BUF) lint

# Compare the wire contract with the previous commit (FILE rules, see buf.yaml).
buf-breaking: $(BUF)
	@if git rev-parse --verify -q HEAD~1 >/dev/null; then \
	    $(BUF) breaking --against '.git#ref=HEAD~1'; \
	else echo "no previous commit to compare with"; fi

bench: $(STAMP)
	$(PY) -m bench

bench-quick: $(STAMP)
	$(PY) -m bench --quick

# Faults, load and fuzzing with long bounds (ALLELEMESH_SOAK=1), then RELIABILITY.md.
soak: $(STAMP)
	rm -f test-artifacts/reliability.json
	ALLELEMESH_SOAK=1 $(PY) -m pytest tests/faults tests/fuzz tests/load \
	    -o timeout=3600 $(PYTEST_ARGS)
	$(PY) -m tests.faults.report --check

# Only the fuzzers (hypothesis, atheris, schemathesis) with CI bounds.
fuzz: $(STAMP)
	$(PY) -m pytest tests/fuzz $(PYTEST_ARGS)

# RELIABILITY.md from the figures of the last run of tests/faults, tests/fuzz, tests/load.
reliability: $(STAMP)
	$(PY) -m tests.faults.report --check

clean:
	rm -rf $(VENV) $(HAIL_VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache demo-run
