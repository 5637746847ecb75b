"""Benchmarks: `make bench` runs them on the embedded stack and writes bench/results/."""
