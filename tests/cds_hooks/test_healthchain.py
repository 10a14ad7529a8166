"""External client: HealthChain's SandboxClient (PyPI ``healthchain[sandbox]==0.16.1``, in a venv
of its own because of its pins) calls the running service and gets valid cards.

Runs only with ``HCCBM_TEST_HEALTHCHAIN=1`` (creating the venv takes about 30 s with a local
package index; it is reused from ``HCCBM_HEALTHCHAIN_VENV``, default
``/tmp/hccbm-healthchain-venv``). HealthChain sends no JWT, so the service runs with
``cds_auth=off`` (loopback only); see healthchain_client.py for its other quirks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hccbm.fhir_server import FhirStore
from hccbm.fhir_server.load import fill
from hccbm.service.app import create_app
from tests.cds_hooks.conftest import PV, Keys, LiveServer, make_settings, no_empty, prefetch_from

pytestmark = pytest.mark.skipif(
    os.environ.get("HCCBM_TEST_HEALTHCHAIN") != "1", reason="set HCCBM_TEST_HEALTHCHAIN=1"
)
PACKAGE = "healthchain[sandbox]==0.16.1"


def _venv() -> Path:
    venv = Path(os.environ.get("HCCBM_HEALTHCHAIN_VENV", "/tmp/hccbm-healthchain-venv"))
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = subprocess.run(
        [str(python), "-c", "import healthchain.sandbox.generators"], capture_output=True
    )
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", PACKAGE], check=True)
    return python


def test_healthchain_sandbox_client_gets_valid_cards(tmp_path: Path, keys: Keys) -> None:
    python = _venv()
    store = FhirStore()
    fill(store, examples=True)
    data = tmp_path / "prefetch"
    data.mkdir()
    patients = ["demo-001", "demo-002", "demo-006", "demo-007"]
    for pid in patients:
        (data / f"{pid}.json").write_text(json.dumps(prefetch_from(store, pid)))
    app = create_app(make_settings(tmp_path, keys, cds_auth="off"))
    script = Path(__file__).with_name("healthchain_client.py")
    with LiveServer(app) as server:
        out = subprocess.run(
            [str(python), str(script), server.url + PV, str(data)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    app.state.db.dispose()
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(result["ours"]) == len(patients)
    for response in result["ours"]:
        assert response["cards"], response
        for card in response["cards"]:
            assert not no_empty(card)
            assert len(card["summary"]) < 140
            assert card["indicator"] in {"info", "warning", "critical"}
            assert card["source"]["label"]
    # HealthChain's own synthetic requests lack our prefetch keys and a fhirServer: 412,
    # which SandboxClient records as {}
    assert result["synthetic"] == [{}, {}, {}]
