# The two Quickstart commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo demo-serve test docs docs-build fuzz fuzz-differential lint typecheck bench bench-smoke clean example-flask example-fastapi example-django

$(BIN)/samljit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $@

demo: $(BIN)/samljit
	$(BIN)/python examples/jit_demo/story.py

demo-serve: $(BIN)/samljit
	$(BIN)/python examples/jit_demo/serve.py

# The framework examples, each against SimpleSAMLphp on 127.0.0.1 (installed when missing).
example-flask example-fastapi example-django: $(BIN)/samljit
	bash .ci/simplesamlphp.sh
	$(BIN)/python examples/run_with_simplesamlphp.py $(patsubst example-%,%,$@)$(if $(filter example-django,$@),_project,_app)

# tests/e2e run SimpleSAMLphp from Debian's packages, tests/browser also Debian's Chromium and
# ChromeDriver, tests/redis Debian's redis-server, tests/dns Debian's dnsmasq, the SQL store
# tests (marked postgresql) a throw-away cluster of Debian's postgresql; the scripts install
# them when missing.
test: $(BIN)/samljit
	bash .ci/simplesamlphp.sh
	bash .ci/browser.sh
	bash .ci/redis.sh
	bash .ci/dnsmasq.sh
	bash .ci/postgresql.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict src
	$(MAKE) --no-print-directory docs-build
	$(MAKE) --no-print-directory bench-smoke
	$(BIN)/python -m pytest --cov=samljit --cov-branch --cov-fail-under=95 --cov-report=term:skip-covered

# The documentation site with the API reference generated from the docstrings (mkdocs.yml):
# `make docs` serves it on http://127.0.0.1:8000 and rebuilds on change; `make docs-build`
# builds it into artifacts/site with every warning an error (a broken link or anchor, a
# docstring that names a parameter the code does not have), as `make test` and CI do.
docs: $(BIN)/samljit
	$(BIN)/mkdocs serve --strict

docs-build: $(BIN)/samljit
	$(BIN)/mkdocs build --strict --quiet

# The mutation fuzzer of tests/fuzz at length: SAMLJIT_FUZZ_EXAMPLES examples per target (the
# normal suite runs 200) from a random seed, printed to reproduce a run. Every distinct input
# that raises anything but a SamlError is saved under artifacts/fuzz-crashers/, and the run
# fails listing them: fix each, then keep it under tests/fuzz/crashers/ (see docs/testing.md).
fuzz: $(BIN)/samljit
	@seed=$$($(BIN)/python -c 'import secrets; print(secrets.randbits(32))'); \
	echo "fuzz seed $$seed"; \
	SAMLJIT_FUZZ_EXAMPLES=$${SAMLJIT_FUZZ_EXAMPLES:-20000} SAMLJIT_FUZZ_SAVE=artifacts/fuzz-crashers \
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/fuzz/test_fuzz.py -k "only_saml_errors or keeps_the_good_copy" \
		--hypothesis-seed=$$seed --hypothesis-show-statistics

# The signature differential fuzzer at length (docs/security.md): SAMLJIT_FUZZ_EXAMPLES mutants
# per test (the normal suite runs 2000) from a random seed, each signature judged by both the
# lean path and signxml; any disagreement fails and hypothesis prints the mutant.
fuzz-differential: $(BIN)/samljit
	@seed=$$($(BIN)/python -c 'import secrets; print(secrets.randbits(32))'); \
	echo "fuzz-differential seed $$seed"; \
	SAMLJIT_FUZZ_EXAMPLES=$${SAMLJIT_FUZZ_EXAMPLES:-20000} \
	$(BIN)/python -m pytest -q -s -p no:cacheprovider tests/test_signature_differential.py -k mutants \
		--hypothesis-seed=$$seed --hypothesis-show-statistics

bench:
	bash benchmarks/run.sh

# Every benchmarks/*_bench.py once, tiny, on samljit alone in the project's venv (no peers
# venv, nothing compiled): `--smoke` exits non-zero when samljit fails in it, so the scripts
# cannot rot unnoticed. About 20 s; load_bench.py needs redis-server.
bench-smoke: $(BIN)/samljit
	bash .ci/redis.sh
	@log=$$(mktemp); for script in benchmarks/*_bench.py; do \
		echo "bench-smoke: $$script"; \
		$(BIN)/python "$$script" --smoke > "$$log" 2>&1 || { cat "$$log"; rm -f "$$log"; exit 1; }; \
	done; rm -f "$$log"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis artifacts
