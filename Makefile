.PHONY: test test-slow quality style bench

PYTHON ?= python

# The fast tier (tiny random models, seconds each): what CI runs.
test:
	$(PYTHON) -m pytest -m "not slow" -q

# Recipes end to end with the real offline MiniLM on the bundled samples (a few minutes).
test-slow:
	$(PYTHON) -m pytest -m slow -q

quality:
	ruff check mossrl_hf recipes tests scripts
	ruff format --check mossrl_hf recipes tests scripts

style:
	ruff check --fix mossrl_hf recipes tests scripts
	ruff format mossrl_hf recipes tests scripts

# The quick benchmark suite (about 9 minutes on 2 CPU cores; data from ../shared/data): each optimized recipe
# against its reference arm in the same run. Writes runs/bench-quick/results.{json,md,png}.
bench:
	$(PYTHON) -m mossrl_hf.bench --suite quick
