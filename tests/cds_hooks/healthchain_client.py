"""Run by HealthChain's own venv (``HCCBM_TEST_HEALTHCHAIN=1``): HealthChain's SandboxClient
calls a running hccbm service and prints one JSON line with what came back.

    python healthchain_client.py SERVICE_URL PREFETCH_DIR

* ``load_from_path``: our prefetch files (one per example patient). HealthChain generates a random
  ``context.patientId``, so it is set to the file's Patient.id before sending;
* ``load_synthetic``: HealthChain's own synthetic data (fixed keys ``patient``, ``condition``,
  ``encounter``; our template keys are absent and there is no fhirServer) -> hccbm answers 412,
  which SandboxClient records as ``{}``.
"""

import json
import sys
from pathlib import Path

from healthchain.sandbox import SandboxClient


def main() -> None:
    url, folder = sys.argv[1], Path(sys.argv[2])
    client = SandboxClient(url=url, workflow="patient-view")
    client.load_from_path(folder, pattern="*.json")
    for request in client.requests:
        request.context.patientId = request.prefetch["patient"]["id"]
    ours = client.send_requests()
    synthetic = SandboxClient(url=url, workflow="patient-view")
    theirs = synthetic.load_synthetic(n=3, random_seed=42).send_requests()
    print(json.dumps({"ours": ours, "synthetic": theirs}))


if __name__ == "__main__":
    main()
