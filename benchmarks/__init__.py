"""Runnable benchmarks: ``make bench`` or ``python -m benchmarks [name ...]``.

Each benchmark compares against a baseline in the same run and reports a ratio, because machines
are noisy. Results are recorded, with the machine's description, in ``docs/benchmarks.md``.
"""
