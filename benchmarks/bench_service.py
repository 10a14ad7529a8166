"""Service benchmark: POST /api/v1/assessments throughput and p50/p99 latency.

A uvicorn server (``--workers`` processes) runs on 127.0.0.1 against a fresh SQLite file (and
PostgreSQL when ``HCCBM_TEST_POSTGRES_URL`` is set); a second process sends a fixed number of
requests from a bounded number of concurrent connections and stops by itself. The baseline is
in-process :func:`hccbm.assess` on the same patient.

    python -m benchmarks.bench_service [--requests 2000] [--concurrency 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PATIENT = json.loads((ROOT / "hccbm" / "examples" / "demo-001.json").read_text(encoding="utf-8"))


def baseline(n: int = 300) -> float:
    """In-process assessments per second (one thread)."""
    from hccbm import Patient, assess

    patient = Patient.model_validate(PATIENT)
    assess(patient)
    started = time.perf_counter()
    for _ in range(n):
        assess(patient).model_dump(mode="json")
    return n / (time.perf_counter() - started)


def load(url: str, token: str, requests: int, concurrency: int) -> dict[str, Any]:
    """Run in the load process: ``requests`` POSTs over ``concurrency`` keep-alive connections."""
    import httpx

    assert url.startswith("http://127.0.0.1:"), "loopback only"
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(requests))
    body = {"patient": PATIENT}

    def worker() -> None:
        nonlocal errors
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                t0 = time.perf_counter()
                r = client.post("/api/v1/assessments", json=body)
                dt_ms = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(dt_ms)
                    errors += r.status_code != 201

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_backend(url: str, requests: int, concurrency: int, workers: int) -> dict[str, Any]:
    from hccbm.service.auth import create_user, issue
    from hccbm.service.db import Database
    from hccbm.service.migrations import upgrade

    database = Database(url)
    upgrade(database.engine)
    with database.sessions() as db:
        user = create_user(db, "bench", "benchmark password", "clinician")
        token, _ = issue(db, user, "api", 1.0)
        db.commit()
    database.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "HCCBM_DATABASE_URL": url,
        "HCCBM_MIGRATE_ON_START": "false",
        "HCCBM_LOG_LEVEL": "WARNING",
        "HCCBM_SECRET_KEY": "bench",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "hccbm.service.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        warm = [sys.executable, "-m", "benchmarks.bench_service", "--load", base, token]
        subprocess.run(
            [*warm, str(4 * concurrency), str(concurrency)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        out = subprocess.run(
            [*warm, str(requests), str(concurrency)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        return dict(json.loads(out.stdout))
    finally:
        server.terminate()
        server.wait(timeout=20)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--load"]:
        url, token, requests, concurrency = argv[1], argv[2], int(argv[3]), int(argv[4])
        print(json.dumps(load(url, token, requests, concurrency)))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    base = baseline()
    print(f"baseline in-process assess(): {base:.0f}/s ({1000 / base:.2f} ms each)")
    backends = {}
    with tempfile.TemporaryDirectory() as tmp:
        backends["sqlite"] = f"sqlite:///{tmp}/bench.db"
        if os.environ.get("HCCBM_TEST_POSTGRES_URL"):
            backends["postgresql"] = os.environ["HCCBM_TEST_POSTGRES_URL"]
        for name, url in backends.items():
            r = run_backend(url, args.requests, args.concurrency, args.workers)
            print(
                f"{name}: {r['requests']} POST /api/v1/assessments, {args.concurrency} "
                f"connections, {args.workers} workers: {r['per_second']}/s, p50 "
                f"{r['p50_ms']} ms, p99 {r['p99_ms']} ms, errors {r['errors']}; "
                f"ratio to in-process {r['per_second'] / base:.2f}"
            )


if __name__ == "__main__":
    main()
