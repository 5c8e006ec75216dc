"""Performance suite: each measurement is implemented once here and used by both the
pytest-benchmark files (``bench_*.py``) and ``nvr bench`` (``report.py``).

``bench.suite.SUITE`` lists every measurement the runner executes.
"""
