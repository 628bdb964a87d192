# tinykube: the two commands are `make up` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install up down status test unit integration clean

# Prerequisites from the distro (etcd, python3-venv), then the venv with tinykube.
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml deploy/prereqs.sh
	bash deploy/prereqs.sh
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

# Bring up etcd and the API server locally (HTTPS on 6443) and write ./kubeconfig.
up: install
	$(PY) -m tinykube.localcluster up

down:
	$(PY) -m tinykube.localcluster down

status:
	$(PY) -m tinykube.localcluster status

# Every test: unit, integration (real etcd + API server processes), e2e.
test: install
	$(PY) -m pytest tests $(PYTEST_ARGS)

unit: install
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration: install
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var build *.egg-info
