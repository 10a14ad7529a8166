"""Population screening: 1,000,000 synthetic patients, polars engine vs ``assess()`` vs Spark.

- polars engine (``hccbm screen``'s path): read the cohort Parquet, validate, screen in 200k-row
  chunks, write Parquet — in a fresh subprocess, peak memory = its VmHWM (peak RSS);
- baseline: one ``assess()`` call per patient on a sample (Patient objects built beforehand, so
  only the assessment is timed), extrapolated to 1M; ``assess_many`` on the same sample too;
- Spark ``local[2]`` (``mapInArrow`` over the same function), on fewer patients (JVM start is
  reported separately).

Targets (issue 7): 1M patients < 30 s with polars, peak memory < 4 GB, >= 100x the assess loop.
Run: ``python -m benchmarks bench_screen`` (``--n``, ``--sample``, ``--spark-n`` to change sizes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _peak_mb() -> float:
    """This process's peak resident memory. VmHWM is reset by exec; ``ru_maxrss`` on Linux
    carries the parent's peak into a forked child, so it is only the fallback."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker_polars(path: str, out: str) -> None:
    import polars as pl
    import pyarrow.parquet as pq

    from hccbm.cohort import io
    from hccbm.cohort.screen import RunInfo, screen_chunks

    base = _peak_mb()
    t0 = time.perf_counter()
    result = io.load(Path(path))
    t1 = time.perf_counter()
    run = RunInfo("bench", RUN_AT)
    writer = None
    screen_s = 0.0
    lesions = []
    chunks = screen_chunks(result.cohort, run, 200_000)
    while True:
        ts = time.perf_counter()
        try:
            patients, les = next(chunks)
        except StopIteration:
            break
        screen_s += time.perf_counter() - ts
        arrow = patients.to_arrow()
        writer = writer or pq.ParquetWriter(out, arrow.schema)
        writer.write_table(arrow)
        lesions.append(les)
    if writer is not None:
        writer.close()
    pl.concat(lesions).write_parquet(out + ".lesions.parquet")
    t2 = time.perf_counter()
    peak = _peak_mb()
    print(
        json.dumps(
            {
                "n": len(result.cohort),
                "load_validate_s": t1 - t0,
                "screen_s": screen_s,
                "total_s": t2 - t0,
                "peak_mb": peak,
                "import_baseline_mb": base,
            }
        )
    )


def _worker_spark(path: str, out: str, partitions: int) -> None:
    from hccbm.cohort import spark as spark_engine
    from hccbm.cohort.screen import RunInfo

    t0 = time.perf_counter()
    session = spark_engine.session(
        "local[2]", **{"spark.sql.execution.arrow.maxRecordsPerBatch": "50000"}
    )
    session.sparkContext.setLogLevel("ERROR")
    t1 = time.perf_counter()
    n = spark_engine.screen_spark(
        session, path, out, RunInfo("bench", RUN_AT), partitions=partitions
    )
    t2 = time.perf_counter()
    session.stop()
    print(json.dumps({"n": n, "session_s": t1 - t0, "screen_s": t2 - t1}))


def _run_worker(args: list[str]) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_screen", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--spark-n", type=int, default=200_000)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--worker", choices=["polars", "spark"])
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker == "polars":
        _worker_polars(*args.paths)
        return
    if args.worker == "spark":
        _worker_spark(args.paths[0], args.paths[1], int(args.paths[2]))
        return

    from benchmarks.machine import describe
    from hccbm.assessment.engine import assess, assess_many
    from hccbm.cohort import synthetic

    print(describe())
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        cohort = synthetic.generate(args.n, seed=1)
        gen_s = time.perf_counter() - t
        src = Path(tmp) / "cohort.parquet"
        cohort.write_parquet(src)
        print(
            f"generate {args.n:,} synthetic patients: {gen_s:.1f} s "
            f"({src.stat().st_size / 1e6:.0f} MB Parquet)"
        )

        pol = _run_worker(["--worker", "polars", str(src), str(Path(tmp) / "out.parquet")])
        rate = pol["n"] / pol["total_s"]
        print(
            f"polars engine, {pol['n']:,} patients: total {pol['total_s']:.1f} s "
            f"(load+validate {pol['load_validate_s']:.1f} s, screen {pol['screen_s']:.1f} s, "
            f"rest = Parquet write) -> {rate:,.0f} rows/s end to end, "
            f"{pol['n'] / pol['screen_s']:,.0f} rows/s screen only; "
            f"peak RSS {pol['peak_mb']:,.0f} MB (after imports {pol['import_baseline_mb']:,.0f} MB)"
        )

        sample = synthetic.to_patients(cohort.head(args.sample))
        del cohort
        t = time.perf_counter()
        for p in sample:
            assess(p)
        loop_s = time.perf_counter() - t
        loop_rate = len(sample) / loop_s
        t = time.perf_counter()
        assess_many(sample)
        many_rate = len(sample) / (time.perf_counter() - t)
        print(
            f"assess() loop on {len(sample):,}: {loop_rate:,.0f} patients/s -> "
            f"{args.n / loop_rate / 60:,.1f} min for {args.n:,} (extrapolated); "
            f"assess_many: {many_rate:,.0f} patients/s"
        )
        print(
            f"ratio polars end-to-end / assess() loop: {rate / loop_rate:,.0f}x; "
            f"/ assess_many: {rate / many_rate:,.0f}x"
        )

        if not args.no_spark:
            small = Path(tmp) / "spark_in.parquet"
            synthetic.generate(args.spark_n, seed=1).write_parquet(small)
            sp = _run_worker(["--worker", "spark", str(small), str(Path(tmp) / "spark_out"), "4"])
            print(
                f"spark local[2], {sp['n']:,} patients: session start {sp['session_s']:.1f} s, "
                f"screen + write {sp['screen_s']:.1f} s -> {sp['n'] / sp['screen_s']:,.0f} rows/s"
            )
        targets = [
            ("1M < 30 s (polars)", pol["total_s"] < 30),
            ("peak memory < 4 GB", pol["peak_mb"] < 4096),
            (">= 100x assess() loop", rate / loop_rate >= 100),
        ]
        print("targets: " + "; ".join(f"{k}: {'met' if ok else 'NOT met'}" for k, ok in targets))


if __name__ == "__main__":
    main()
