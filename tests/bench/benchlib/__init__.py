"""The sections of `make bench` (tests/bench/bench.py runs them)."""
