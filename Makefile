# huzhu — 职工医疗互助保障管理平台
# make demo : set everything up and serve the demo province on http://127.0.0.1:$(PORT)
# make test : run the whole test suite (SQLite; set DATABASE_URL=postgres://... for PostgreSQL)

PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
export HUZHU_DEV ?= 1
DEMO_MEMBERS ?= 5000
DEMO_SEED ?= 2026
SYSTEM_PACKAGES := chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
VENDOR := huzhu/web/static/vendor

.PHONY: demo setup test test-fast bench load lint sast system-deps assets migrate serve clean

demo: setup migrate
	$(BIN)/huzhu demo seed --members $(DEMO_MEMBERS) --seed $(DEMO_SEED) --if-empty
	$(BIN)/huzhu demo products
	$(BIN)/huzhu demo accounts
	$(BIN)/huzhu demo claims --if-empty
	$(BIN)/huzhu demo knowledge
	@echo "平台地址 / Platform: http://127.0.0.1:$(PORT)/"
	$(BIN)/huzhu worker --loop & trap "kill $$! 2>/dev/null" EXIT INT TERM; \
	$(BIN)/huzhu runserver --insecure 127.0.0.1:$(PORT)

setup: $(VENV)/.installed assets system-deps

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

assets: $(VENDOR)/htmx.min.js

$(VENDOR)/htmx.min.js: package.json
	npm install --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts.min.js

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = "0" ]; then \
		echo "Installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
		echo "请以 root 运行 / please run as root:  apt-get install -y$$missing"; \
	fi

migrate: $(VENV)/.installed
	$(BIN)/huzhu migrate --no-input -v 0

test: setup
	$(BIN)/pytest -q -n 2 --dist loadgroup

test-fast: $(VENV)/.installed
	$(BIN)/pytest -q -x -m "not browser and not live"

bench: setup
	$(BIN)/python bench/run_all.py

# The enrollment-season load test (bench/load.py): gunicorn on PostgreSQL with the province-size
# demo; LOAD_ARGS e.g. "--users 200 --duration 180 --db-url postgres://postgres@127.0.0.1/x".
load: setup
	$(BIN)/python bench/load.py $(LOAD_ARGS)

# bandit fails on a high-severity finding (medium and low are printed by `make sast`);
# tools/audit_deps.py fails on a known vulnerability in an installed package, and when PyPI's
# advisory answers cannot be had within HUZHU_AUDIT_TIMEOUT (120 s) it warns and passes unless
# HUZHU_REQUIRE_AUDIT=1 (TRUST S-25).
lint: $(VENV)/.installed
	$(BIN)/ruff check huzhu tests bench deploy tools
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/bandit -q -r huzhu deploy tools --severity-level high
	$(BIN)/python tools/audit_deps.py

sast: $(VENV)/.installed
	$(BIN)/bandit -r huzhu deploy tools

clean:
	rm -rf $(VENV) node_modules $(VENDOR)
