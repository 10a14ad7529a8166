"""Service benchmark: POST /api/v1/assessments throughput and p50/p99 latency.

``hccbm serve``'s app runs under uvicorn (``--workers`` processes) on 127.0.0.1 against a fresh
SQLite file, and against PostgreSQL when ``HCCBM_TEST_POSTGRES_URL`` is set (start one with
``scripts/with-postgres.sh``). The load comes from a second process, ``wrk`` (C, so the load
generator takes little of the two cores): ``--connections`` concurrent clients, each sending its
next request when the previous answer arrives (a bounded load), rotating over the example
patients as inline Patient JSON. Each request opens its own connection (``Connection: close``):
the uvicorn workers share one listening socket, and 8 long-lived connections were split between
the two workers by luck (8:0 happened), which measured the split rather than the service.
Baselines in the same run: in-process ``assess()`` on the same patients, and the service with
request batching off (``HCCBM_ASSESS_BATCHING=false``).
After each run the stored assessments are counted: every 201 must have its row.

    python -m benchmarks.bench_service [--duration 15] [--connections 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "hccbm" / "examples").glob("*.json"))


def patients_json() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in EXAMPLES]


def baseline(seconds: float = 3.0) -> float:
    """In-process ``assess()`` calls per second (one thread), rotating over the examples."""
    from hccbm import Patient, assess

    patients = [Patient.model_validate(p) for p in patients_json()]
    for p in patients:
        assess(p)
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        assess(patients[n % len(patients)]).model_dump(mode="json")
        n += 1
    return n / (time.perf_counter() - started)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lua(token: str) -> str:
    bodies = [json.dumps({"patient": p}, ensure_ascii=False) for p in patients_json()]
    items = ",\n".join(f"[==[{b}]==]" for b in bodies)
    return f"""
local bodies = {{
{items}
}}
local headers = {{
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer {token}",
  ["Connection"] = "close",
}}
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/api/v1/assessments", headers, bodies[(i % #bodies) + 1])
end
"""


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert m, text
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out: str) -> dict[str, Any]:
    """Requests/s, p50/p99 (ms), total and non-2xx counts from ``wrk --latency`` output."""
    pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, re.M))
    if "99" not in pct:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)$", out, re.M)
    return {
        "requests": total,
        "per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(pct["50"]),
        "p99_ms": _ms(pct["99"]),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


def _cpu_seconds(pids: list[int], field: slice = slice(11, 13)) -> float:
    """User + system CPU seconds of ``pids`` (``field`` picks utime, stime or both)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[field]) / tick
    return total


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _postgres_pids() -> list[int]:
    """Local PostgreSQL server processes (postmaster and backends), for their CPU time."""
    out = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                out.append(int(comm.parent.name))
        except OSError:
            continue
    return out


def _prepare(url: str) -> str:
    from hccbm.service.auth import create_user, issue
    from hccbm.service.db import Database
    from hccbm.service.migrations import upgrade

    database = Database(url)
    upgrade(database.engine)
    with database.sessions() as db:
        user = create_user(db, f"bench{time.time_ns()}", "benchmark password", "clinician")
        token, _ = issue(db, user, "api", 1.0)
        db.commit()
    database.dispose()
    return token


def _stored(url: str) -> int:
    from sqlalchemy import func, select

    from hccbm.service.db import Database
    from hccbm.service.models import AssessmentRecord

    database = Database(url)
    with database.sessions() as db:
        n = int(db.scalar(select(func.count()).select_from(AssessmentRecord)) or 0)
    database.dispose()
    return n


def run_backend(
    url: str, *, batching: bool, duration: int, connections: int, workers: int
) -> dict[str, Any]:
    token = _prepare(url)
    before = _stored(url)
    port = _free_port()
    env = {
        **os.environ,
        "HCCBM_DATABASE_URL": url,
        "HCCBM_MIGRATE_ON_START": "false",
        "HCCBM_LOG_LEVEL": "WARNING",
        "HCCBM_SECRET_KEY": "bench",
        "HCCBM_ASSESS_BATCHING": "true" if batching else "false",
    }
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "--factory", "hccbm.service.app:create_app"),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
            *("--no-access-log", "--log-level", "warning"),
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
        time.sleep(1.0)  # every worker up
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(_lua(token))
            script = f.name
        target = f"http://127.0.0.1:{port}/api/v1/assessments"
        base = ["wrk", "-t1", f"-c{connections}", "-s", script, "--latency", target]
        subprocess.run([*base[:3], "-d3s", *base[3:]], check=True, capture_output=True)  # warm
        pids = _children(server.pid) if workers > 1 else [server.pid]
        db_pids = _postgres_pids() if url.startswith("postgresql") else []
        cpu0, db0 = _cpu_seconds(pids), _cpu_seconds(db_pids)
        sys0 = _cpu_seconds(pids, slice(12, 13))
        out = subprocess.run(
            [*base[:3], f"-d{duration}s", *base[3:]], check=True, capture_output=True, text=True
        ).stdout
        cpu1, db1 = _cpu_seconds(pids), _cpu_seconds(db_pids)
        sys1 = _cpu_seconds(pids, slice(12, 13))
        os.unlink(script)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = parse_wrk(out)
    result["server_cpu_ms_per_request"] = round((cpu1 - cpu0) * 1000 / result["requests"], 2)
    result["server_sys_ms_per_request"] = round((sys1 - sys0) * 1000 / result["requests"], 2)
    # backends that ended during the run are not counted: a lower bound
    result["database_cpu_ms_per_request"] = round((db1 - db0) * 1000 / result["requests"], 2)
    created = _stored(url) - before
    result["stored"] = created
    # warm-up requests are stored too; a lost write would show as fewer rows than 201s
    result["lost_writes"] = max(0, result["requests"] - result["non_2xx"] - created)
    return result


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batching", choices=("both", "on", "off"), default="both")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `make bench-deps` (Debian package wrk)")
    from benchmarks.machine import describe

    print(f"machine: {describe()}")
    base = baseline()
    print(f"baseline in-process assess(): {base:.0f}/s ({1000 / base:.2f} ms each)")
    with tempfile.TemporaryDirectory() as tmp:
        backends = {"sqlite": f"sqlite:///{tmp}/bench.db"}
        if os.environ.get("HCCBM_TEST_POSTGRES_URL"):
            backends["postgresql"] = os.environ["HCCBM_TEST_POSTGRES_URL"]
        for name, url in backends.items():
            modes = {"both": (False, True), "on": (True,), "off": (False,)}[args.batching]
            for batching in modes:
                r = run_backend(
                    url,
                    batching=batching,
                    duration=args.duration,
                    connections=args.connections,
                    workers=args.workers,
                )
                print(
                    f"{name}, batching {'on ' if batching else 'off'}: {r['requests']} POSTs in "
                    f"{args.duration} s over {args.connections} connections, {args.workers} "
                    f"workers: {r['per_second']:.1f}/s (ratio to in-process assess() "
                    f"{r['per_second'] / base:.2f}), p50 {r['p50_ms']:.1f} ms, p99 "
                    f"{r['p99_ms']:.1f} ms, server CPU {r['server_cpu_ms_per_request']} ms per "
                    f"request (kernel {r['server_sys_ms_per_request']})"
                    + (
                        f" (+ database {r['database_cpu_ms_per_request']} ms)"
                        if name == "postgresql"
                        else ""
                    )
                    + f", non-2xx {r['non_2xx']}, lost writes {r['lost_writes']}"
                    + (f", socket errors {r['socket_errors']}" if r["socket_errors"] else ""),
                    flush=True,
                )


if __name__ == "__main__":
    main()
