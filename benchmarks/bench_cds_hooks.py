"""CDS Hooks benchmark: ``patient-view`` latency p50/p99 at fixed request rates.

Two servers run on 127.0.0.1 as subprocesses: the hccbm service (uvicorn, ``--workers``, fresh
SQLite file, ES384 JWT authentication on) and the in-memory FHIR test server (the example
patients, re-dated to today). This process is the EHR: an **open-loop** load generator that
starts request *i* at ``t0 + i / rate`` whatever happened before (latency is measured from the
scheduled start, so queueing is not hidden), each request with a fresh signed JWT, rotating
over the example patients. Two modes:

* ``supplied``: the prefetch is in the request (built from the same FHIR data);
* ``fetched``: no prefetch; the service fetches the 6 template queries from the FHIR server.

    python -m benchmarks.bench_cds_hooks [--rates 20 50] [--duration 15] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parents[1]
PV = "/cds-services/hccbm-patient-view"
ISS = "https://bench-ehr.example.org"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    import httpx

    for _ in range(400):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode})")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


_STORE: list[Any] = []


def _prefetch(pid: str) -> dict[str, Any]:
    """The prefetch a conforming EHR would send (same data as the FHIR server holds)."""
    from hccbm.fhir_server.load import fill
    from hccbm.fhir_server.store import FhirStore
    from hccbm.service.cds_hooks.prefetch import PREFETCH, tokens
    from hccbm.service.cds_hooks.prefetch import fill as fill_template

    if not _STORE:
        store = FhirStore()
        fill(store, examples=True, rebase_to=dt.datetime.now(dt.UTC).date())
        _STORE.append(store)
    store = _STORE[0]
    out: dict[str, Any] = {}
    for key, template in PREFETCH.items():
        query = fill_template(template, tokens({"patientId": pid}))
        assert query is not None
        path, _, qs = query.partition("?")
        if qs:
            out[key] = store.search(path, parse_qsl(qs))
        else:
            rtype, rid = path.split("/")
            out[key] = store.read(rtype, rid)
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def _run(
    base: str, bodies: list[bytes], key: Any, rate: float, duration: float
) -> dict[str, Any]:
    import httpx
    import jwt

    n = int(rate * duration)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base, timeout=30.0, limits=limits) as client:

        async def one(i: int, scheduled: float) -> None:
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            now = int(time.time())
            token = jwt.encode(
                {
                    "iss": ISS,
                    "aud": base + PV,
                    "exp": now + 120,
                    "iat": now,
                    "jti": uuid.uuid4().hex,
                },
                key,
                algorithm="ES384",
                headers={"kid": "bench-1", "typ": "JWT"},
            )
            try:
                r = await client.post(
                    PV,
                    content=bodies[i % len(bodies)],
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                    },
                )
                code = r.status_code
            except httpx.HTTPError:
                code = 0
            latencies.append((time.perf_counter() - scheduled) * 1000)
            statuses[code] = statuses.get(code, 0) + 1

        t0 = time.perf_counter() + 0.2
        await asyncio.gather(*(one(i, t0 + i / rate) for i in range(n)))
        elapsed = time.perf_counter() - t0
    return {
        "rate": rate,
        "requests": n,
        "achieved_rps": round(n / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(_percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
        "statuses": statuses,
    }


def _bodies(mode: str, patients: list[str], fhir_url: str) -> list[bytes]:
    out = []
    for pid in patients:
        body: dict[str, Any] = {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/bench", "patientId": pid},
        }
        if mode == "supplied":
            body["prefetch"] = _prefetch(pid)
        else:
            body["fhirServer"] = fhir_url
        out.append(json.dumps(body).encode())
    return out


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    from benchmarks.machine import describe

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[20.0, 50.0])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--modes", nargs="+", default=["supplied", "fetched"])
    args = parser.parse_args(argv if argv is not None else [])

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**json.loads(ECAlgorithm.to_jwk(key.public_key())), "kid": "bench-1", "alg": "ES384"}
    patients = [f"demo-00{i}" for i in range(1, 10)]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        fhir_port, port = _free_port(), _free_port()
        fhir_url = f"http://127.0.0.1:{fhir_port}"
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "HCCBM_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
            "HCCBM_LOG_LEVEL": "WARNING",
            "HCCBM_SECRET_KEY": "bench",
            "HCCBM_CDS_TRUSTED_ISSUERS": json.dumps({ISS: {"keys": [jwk]}}),
        }
        fhir = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hccbm.fhir_server",
                "serve",
                "--port",
                str(fhir_port),
                "--synthetic",
                "0",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        service = subprocess.Popen(
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
                str(args.workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            _wait(fhir_url + "/metadata", fhir)
            _wait(base + "/healthz", service)
            print(f"machine: {describe()}; service workers: {args.workers}", flush=True)
            for mode in args.modes:
                bodies = _bodies(mode, patients, fhir_url)
                asyncio.run(_run(base, bodies, key, 10.0, 2.0))  # warm-up
                for rate in args.rates:
                    result = {
                        "mode": mode,
                        **asyncio.run(_run(base, bodies, key, rate, args.duration)),
                    }
                    results.append(result)
                    print(json.dumps(result), flush=True)
        finally:
            for proc in (service, fhir):
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    print("\n| prefetch | rate (req/s) | achieved | p50 ms | p99 ms | max ms | statuses |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['mode']} | {r['rate']:g} | {r['achieved_rps']} | {r['p50_ms']} | "
            f"{r['p99_ms']} | {r['max_ms']} | {r['statuses']} |"
        )
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
