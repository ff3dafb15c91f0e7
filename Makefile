# The quick-start commands. Each creates .venv and installs what it needs itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test notebook app lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

## demo: analyse the sample calls in data/ with the embedded model -> out/emotions.csv + out/timeline.png,
## and print how far the answer agrees with their true labels
demo: $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	$(BIN)/emotion-analytics analyze data/ --turns data/*.rttm -o out/emotions.csv \
		--plot out/timeline.png --truth data/*.truth.csv

## test: install the test extras and run every test, doctest and notebook
test: $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"
	$(BIN)/python -m pytest

## notebook: JupyterLab on the widget app (then Run > Run All Cells)
notebook: $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[notebook]"
	$(BIN)/jupyter lab notebooks/04_widgets.ipynb $$([ "$$(id -u)" = 0 ] && echo --allow-root)

## app: the widget app as a web page (Voila, on this machine only, nothing fetched from a CDN)
app: $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[notebook]"
	JUPYTER_PATH=$(CURDIR)/emotion_analytics/jupyter $(BIN)/voila notebooks/04_widgets.ipynb \
		--template=emotion-app --Voila.ip=127.0.0.1

## lint: ruff over the package, tests, benchmarks and scripts
lint: $(BIN)/python
	$(BIN)/python -m pip install -q "ruff>=0.4"
	$(BIN)/ruff check emotion_analytics tests benchmarks scripts
