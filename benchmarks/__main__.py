"""Run every benchmark (or those named on the command line)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = (
    "bench_scores",
    "bench_assess",
    "bench_spectra",
    "bench_service",
    "bench_screen",
    "bench_cds_hooks",
)


def main(argv: list[str]) -> None:
    names = argv or list(BENCHMARKS)
    for name in names:
        module = importlib.import_module(f"benchmarks.{name.removeprefix('benchmarks.')}")
        print(f"\n=== {name} ===", flush=True)
        sys.argv = [name]  # each benchmark parses its own (default) options
        module.main()


if __name__ == "__main__":
    main(sys.argv[1:])
