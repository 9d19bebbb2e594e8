# Two commands on a fresh clone: `make figures` and `make test`. Each creates .venv if missing and installs
# into it once; the stamp file makes a second run start at once.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export MPLBACKEND := Agg
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM := false

.PHONY: all setup test test-gpu test-slow lint bench bench-runs bench-canonical bench-sweep bench-worker bench-crosscheck bench-precision bench-families bench-tc bench-shuffles bench-re-sweeps bench-re-sweeps-trained bench-shuffle-seeds bench-mbar bench-parity bench-parity-pa bench-pa-layout bench-paper bench-paper-run figures clean-figures help

all: figures

help:
	@echo "make figures   regenerate dos/ and plots/ from the notebooks (default: bundled MiniLM)"
	@echo "make test      fast test suite (minutes)"
	@echo "make test-gpu  the CUDA tests (skipped without a GPU)"
	@echo "make test-slow full-size runs marked slow"
	@echo "make bench     benchmarks; writes bench/RESULTS.md"
	@echo "make bench-canonical  the canonical engine alone; writes bench/CANONICAL.md"
	@echo "make bench-sweep  anatomy of one heat-bath sweep on MiniLM (fields against the rest); writes bench/SWEEP.md (--config gpt2: bench/SWEEP_gpt2.md)"
	@echo "make bench-worker  the same sweep in this process and in Dask workers (Dask's memory settings against the figures' cluster); writes bench/WORKER.md"
	@echo "make bench-crosscheck  population annealing against replica exchange on an untuned full-size BERT; writes bench/CROSSCHECK.md"
	@echo "make bench-precision  reduced-precision fields (split-bf16, int8x3) against float32 at full size (population annealing on MiniLM); writes bench/PRECISION.md"
	@echo "make bench-families  population annealing's family statistic against sweeps per step on trained MiniLM; writes bench/FAMILIES.md"
	@echo "make bench-tc  the T_c answer's tables from the cached MiniLM results (PT against PA, R against 4R); writes bench/TC.md"
	@echo "make bench-shuffles  T_c of MiniLM shuffled within each matrix (replica exchange and population annealing), beside trained and whole-network shuffled; writes bench/SHUFFLES.md"
	@echo "make bench-re-sweeps  longer replica exchange on shuffled MiniLM (1,000 to 16,000 sweeps) against population annealing: how far down it certifies, where C peaks; writes bench/RE_SWEEPS.md"
	@echo "make bench-re-sweeps-trained  the same on trained MiniLM (4,000 and 16,000 sweeps) against the figures' population annealing; writes bench/RE_SWEEPS_trained.md"
	@echo "make bench-shuffle-seeds  the figures' replica exchange on three more whole-network shuffles of MiniLM: does T_c scatter from shuffle to shuffle, and the trained T_c against the shuffles as an ensemble; writes bench/SHUFFLE_SEEDS.md"
	@echo "make bench-mbar  replica exchange's MBAR analysis of one finished run, pymbar's dense solver against the windowed one (time and agreement); writes bench/MBAR.md"
	@echo "make bench-parity  replica exchange's curve from one parity's exact marginal or both (errors, cost) on MiniLM; writes bench/PARITY.md"
	@echo "make bench-parity-pa  population annealing's curve from one parity, their mean or both weighted (errors) on MiniLM; writes bench/PARITY_PA.md"
	@echo "make bench-pa-layout  population annealing's runs one at a time on every core against one per core at once (the figures' layout); writes bench/PA_LAYOUT.md"
	@echo "make bench-paper  cost per stage of paper-sized models built from their configurations; writes bench/PAPER.md"
	@echo "make bench-paper-run  gpt2 and opt-125m (65,280 spins) end to end at the figures' budget, checked; writes bench/PAPER_RUN.md"
	@echo "make bench-runs  accuracy per second of runs of 16 spins against random spins; writes bench/RUNS.md"
	@echo "make lint      ruff"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

setup: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

test-gpu: $(STAMP)
	$(PY) -m pytest -q -m gpu

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check ising_nn tests bench

bench: $(STAMP)
	$(PY) -m bench.run

bench-canonical: $(STAMP)
	$(PY) -m bench.bench_canonical

bench-sweep: $(STAMP)
	$(PY) -m bench.bench_sweep

bench-worker: $(STAMP)
	$(PY) -m bench.bench_worker

bench-crosscheck: $(STAMP)
	$(PY) -m bench.bench_crosscheck

bench-precision: $(STAMP)
	$(PY) -m bench.bench_precision

bench-families: $(STAMP)
	$(PY) -m bench.bench_families

bench-tc: $(STAMP)
	$(PY) -m bench.bench_tc

bench-parity: $(STAMP)
	$(PY) -m bench.bench_parity

bench-parity-pa: $(STAMP)
	$(PY) -m bench.bench_parity_pa

bench-pa-layout: $(STAMP)
	$(PY) -m bench.bench_pa_layout

bench-shuffles: $(STAMP)
	$(PY) -m bench.bench_shuffles

bench-re-sweeps: $(STAMP)
	$(PY) -m bench.bench_re_sweeps

bench-re-sweeps-trained: $(STAMP)
	$(PY) -m bench.bench_re_sweeps --network trained

bench-shuffle-seeds: $(STAMP)
	$(PY) -m bench.bench_shuffle_seeds

bench-mbar: $(STAMP)
	$(PY) -m bench.bench_mbar

bench-paper: $(STAMP)
	$(PY) -m bench.bench_paper

bench-paper-run: $(STAMP)
	$(PY) -m bench.bench_paper_run

bench-runs: $(STAMP)
	$(PY) -m bench.bench_runs

figures: $(STAMP)
	$(PY) -m ising_nn.paper.figures $(if $(MODELS),--models $(MODELS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

clean-figures:
	rm -rf notebooks/_executed
