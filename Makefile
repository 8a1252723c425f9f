.PHONY: test test-slow quality style

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
