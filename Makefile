# Trạm Y tế số: two commands on a fresh Debian machine.
#   make run    set up, migrate the embedded SQLite database, seed demo data on first run, serve on :8000
#   make test   set up and run the whole test suite
#   make bench  run bench/ and write bench/results.json

VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
INSTANCE ?= instance

.PHONY: run test test-pg bench deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,postgres]'
	touch $(STAMP)

deps:
	./scripts/system-deps.sh run

run: deps $(STAMP)
	$(BIN)/station init
	@if [ ! -f $(INSTANCE)/.demo-seeded ]; then \
		$(BIN)/station demo && touch $(INSTANCE)/.demo-seeded; \
	fi
	$(BIN)/station serve --port 8000

test: $(STAMP)
	./scripts/system-deps.sh test
	$(BIN)/pytest -q

# The same suite against PostgreSQL (STATION_TEST_DATABASE_URL must point at an empty database).
test-pg: $(STAMP)
	$(BIN)/pytest -q -m "not e2e"

bench: $(STAMP)
	./scripts/system-deps.sh bench
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache
