# tinykube: the two commands are `make up` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install up down status test unit integration clean

# Prerequisites from the distro (Docker engine, docker-compose, etcd, debootstrap,
# python3-venv), then the venv with tinykube.
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml deploy/prereqs.sh
	bash deploy/prereqs.sh
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

# The compose cluster: etcd, control plane, two nodes; writes ./kubeconfig.
up: install
	$(VENV)/bin/tinykube up

down:
	$(VENV)/bin/tinykube down

status:
	$(VENV)/bin/tinykube status

# Every test: unit, integration (real etcd + API server processes), e2e.
test: install
	$(PY) -m pytest tests $(PYTEST_ARGS)

unit: install
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration: install
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var build *.egg-info
