.PHONY: app test unit lint bench
app:    ## run the app on the embedded default (SQLite, no broker)
	scripts/app
test:   ## the whole test suite, services included
	scripts/test
unit:   ## unit tests only (no services)
	KVT_NO_SERVICES=1 scripts/test tests/unit
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy
bench:  ## every bench, on the local services (brought up if down): bench/out/RESULTS.md
	scripts/bench
