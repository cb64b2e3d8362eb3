# One entry point for people and CI. Every target installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINT_PATHS := mmseg_wsss tools tests configs benchmarks
# Two pytest-xdist workers of one torch thread each: on 2 cores faster than
# one process of 2 threads, and far less hurt by other load; an idle worker
# takes tests queued for the other (worksteal), so a few long end-to-end
# tests do not leave it idle at the end (RESULTS.md, "The test suite in two
# workers"). PYTEST_ARGS= runs the suite in one process.
PYTEST_ARGS ?= -n 2 --dist worksteal
# e.g. DEMO_ARGS='--stage2-labels both' (a second stage 2 on the CAM masks)
DEMO_ARGS ?=

.PHONY: install lint format test demo bench clean

$(STAMP): requirements/runtime.txt requirements/tests.txt setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch is pinned first and alone: an unpinned resolve pulls a multi-GB
	# CUDA build from the index.
	$(BIN)/pip install torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -r requirements/runtime.txt -r requirements/tests.txt
	$(BIN)/pip install --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/flake8 $(LINT_PATHS)
	$(BIN)/isort --check-only --diff $(LINT_PATHS)
	$(BIN)/yapf --diff --recursive $(LINT_PATHS)
	$(BIN)/codespell mmseg_wsss tools tests configs benchmarks README.md docs

format: $(STAMP)
	$(BIN)/isort $(LINT_PATHS)
	$(BIN)/yapf --in-place --recursive $(LINT_PATHS)

test: lint
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/python tools/run_pipeline.py \
		configs/toy/rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py \
		configs/toy/deeplabv3plus_r18-tiny_1xb8-300it_toyvoc-96x96.py \
		--work-dir work_dirs/demo --make-toy-data data/toy_voc --crf \
		--irn-config configs/irn/irn_r18-tiny_1xb8-300it_toyvoc-192x192.py \
		$(DEMO_ARGS)

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) work_dirs build *.egg-info
