# Two entry points for a fresh clone: `make demo` and `make test`.
# Each one creates .venv and installs what it needs, pinning the CPU build of torch first
# (an unpinned `torch` would pull a multi-GB CUDA build).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_PIN := torch==2.13.0
# Real datasets: CI and tests read ../shared/data when it is there.
export CONV4REC_DATA ?= $(abspath ../shared/data)

.PHONY: install install-test demo test test-slow gpu-check figures clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PIN)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) -m simulations demo

test: install
	$(PY) -m pytest -q -p no:cacheprovider

test-slow: install
	$(PY) -m pytest -q -m slow --hypothesis-profile=thorough

# On a machine with a CUDA GPU (CI has none, so this is not part of `make test`): the CUDA
# tests, then the GPU timings of docs/performance.md, each beside the same one on the CPU
# (one CPU thread, as the benchmark tables use). `make gpu-check PY=python3` uses that
# machine's own CUDA build of torch instead of .venv.
GPU_OUT ?= results/gpu
gpu-check:
	mkdir -p $(GPU_OUT)
	$(PY) -m pytest -q -p no:cacheprovider -rs tests/conv4rec/test_cuda.py
	for what in epoch rank bounds; do \
	  OMP_NUM_THREADS=1 $(PY) -m conv4rec.bench $$what --data ml-1m --repeats 2 --device cuda \
	    --json > $(GPU_OUT)/bench-$$what.json || exit 1; done
	OMP_NUM_THREADS=1 $(PY) -m conv4rec.bench scale --steps 5 --device cuda --json \
	  > $(GPU_OUT)/bench-scale.json

figures: install
	$(PY) -m paper_figures all --build-caches --docs docs/figures $(FIGURES_ARGS)

clean:
	rm -rf results runs .pytest_cache
