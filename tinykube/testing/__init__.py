"""Helpers that start real processes for tests, benchmarks and `make up`."""
