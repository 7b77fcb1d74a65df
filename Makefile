# The two commands a new user needs: `make run` (whole workflow, synthetic default) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= all
SNAKEMAKE_ARGS ?=

# Jobs find the venv's tools (jupyter-nbconvert, papermill) without activating it.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# JAX reuses compiled programs across processes (Snakemake jobs, test sessions).
export JAX_COMPILATION_CACHE_DIR ?= $(CURDIR)/.jax_cache

.PHONY: venv run smoke test slurm bench rulegraph report lock clean

venv: $(BIN)/.installed

$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

run: venv  ## whole workflow on the synthetic default config
	$(BIN)/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS)

smoke: venv  ## whole workflow, tiny (the CI-sized run)
	$(BIN)/snakemake --cores $(CORES) --configfile $(CURDIR)/workflow/configs/smoke.yaml --directory results-smoke $(SNAKEMAKE_ARGS)

test: venv slurm  ## the test suite (what CI runs)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

slurm:  ## Debian's slurm-wlm and munge for the SLURM test, installed with apt-get where missing (as root)
	@tests/setup_slurm.sh

bench: venv  ## speed and memory benchmarks, one JSON line each
	@for b in benchmarks/bench_*.py; do $(BIN)/python $$b; done

rulegraph: venv  ## docs/rulegraph.{dot,svg}, the README's picture of the default config's rules (needs Graphviz `dot`)
	$(BIN)/snakemake --cores 1 --rulegraph > docs/rulegraph.dot
	dot -Tsvg docs/rulegraph.dot > docs/rulegraph.svg

report: venv  ## results/report.html: every figure and table of a finished `make run`, with captions
	$(BIN)/snakemake --cores 1 --report results/report.html $(SNAKEMAKE_ARGS)

lock: venv  ## refresh requirements.lock from the current venv
	$(BIN)/pip freeze --exclude-editable | sed 's/+cpu$$//' > requirements.lock

# private/ is the default data.private_dir: the PRIVATE tables (image ID -> original DICOM file, skipped files),
# which may name patients, and the synthetic archive; a data.private_dir set elsewhere is not touched.
clean:
	rm -rf results results-smoke private .snakemake .jax_cache
