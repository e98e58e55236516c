"""Benchmarks: scripts that write results/ (`python bench/NAME.py`), importable as `bench.NAME` by their tests
(pytest puts the repository root on the path: pyproject's `pythonpath`)."""
