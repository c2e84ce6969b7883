"""Benchmarks run by `make bench`: each prints one JSON object as its last line of stdout and
writes it to `bench/results/<name>.json`. See docs/benchmarks.md."""
