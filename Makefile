# `make run` and `make test` work on a fresh clone: they create .venv and install what they need.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
BENCH_VENV := .venv-bench
VLLM_VENV := .venv-vllm

.PHONY: run test test-e2e bench install clean vllm

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m config.localstack

# With TEST_POSTGRES_URL set (.ci/run starts a throwaway Postgres), the database-touching tests
# run a second time on Postgres.
test: install
	$(PY) -m pytest
	@if [ -n "$$TEST_POSTGRES_URL" ]; then echo "== the labeling tests again, on Postgres"; \
	  DATABASE_URL="$$TEST_POSTGRES_URL" $(PY) -m pytest tests/labeling tests/faults/test_web_killed.py; fi

test-e2e: install
	$(PY) -m pytest -m e2e

$(BENCH_VENV)/.installed: requirements.txt requirements-bench.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -r requirements-bench.txt
	touch $@

# The default policy the DPO/PPO benchmark trains from (built once, a few minutes).
var/bench/policy/config.json: | install
	$(PY) -m modeling bootstrap-policy --out var/bench/policy

# The optional vLLM sampler's own environment (a CUDA machine; vLLM pins its own torch and
# transformers): then RLHF_VLLM_PYTHON=$(VLLM_VENV)/bin/python.
vllm: $(VLLM_VENV)/.installed

$(VLLM_VENV)/.installed: requirements-vllm.txt
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install -q --upgrade pip
	$(VLLM_VENV)/bin/python -m pip install -q -r requirements-vllm.txt
	touch $@
	@echo "vLLM ready: export RLHF_VLLM_PYTHON=$(CURDIR)/$(VLLM_VENV)/bin/python"

bench: $(BENCH_VENV)/.installed var/bench/policy/config.json
	OMP_NUM_THREADS=1 $(BENCH_VENV)/bin/python benchmarks/bench_reward.py --threads 1
	$(BENCH_VENV)/bin/python benchmarks/bench_dpo.py --policy var/bench/policy
	OMP_NUM_THREADS=1 $(BENCH_VENV)/bin/python benchmarks/bench_prefix.py --steps 4 --threads 1
	$(PY) benchmarks/bench_stats.py
	OMP_NUM_THREADS=1 $(PY) benchmarks/bench_load.py
	$(PY) benchmarks/bench_lora_memory.py --steps 3 --completions-per-batch 4
	$(PY) benchmarks/bench_dpo_processes.py --policy var/bench/policy

clean:
	rm -rf $(VENV) $(BENCH_VENV) var static_root
