"""The web pages in a real browser (Playwright driving Debian's Chromium), with screenshots.

Skips when Playwright or /usr/bin/chromium is missing. Runs on SQLite only (the database layer is
covered on PostgreSQL by the API tests).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from hccbm.service.auth import create_user
from hccbm.service.seed import seed
from tests.conftest import skip_or_fail
from tests.service.conftest import PASSWORD, LiveServer

CHROMIUM = os.environ.get("HCCBM_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page(database_url: str) -> Iterator[Any]:
    if not database_url.startswith("sqlite"):
        pytest.skip("browser test runs on SQLite only")
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (make test-deps installs it)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        yield page
        browser.close()


def test_pages_end_to_end(
    app: FastAPI, live_server: LiveServer, browser_page: Any, artifacts_dir: Path
) -> None:
    page = browser_page
    sync_api = pytest.importorskip("playwright.sync_api")
    with app.state.db.sessions() as db:
        create_user(db, "dr.web", PASSWORD, "clinician")
        db.commit()
        seed(db)
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    base = live_server.url
    shots = artifacts_dir / "service"
    shots.mkdir(exist_ok=True)

    page.goto(f"{base}/patients")
    assert page.url.endswith("/login")
    page.fill("input[name=username]", "dr.web")
    page.fill("input[name=password]", "wrong password!")
    page.click("button[type=submit]")
    assert page.locator(".error").is_visible()
    page.fill("input[name=username]", "dr.web")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/patients")
    assert page.locator("p.disclaimer").is_visible()
    assert page.locator("table.list tbody tr").count() == 9
    page.fill("input[type=search]", "demo-006")
    sync_api.expect(page.locator("table.list tbody tr")).to_have_count(1)  # CSP forbids eval
    page.screenshot(path=str(shots / "patients-search.png"), full_page=True)

    # new patient: inline validation from the same rules, then hostile text stored inert
    page.goto(f"{base}/patients/new")
    page.fill("input[name=id]", "web-001")
    page.fill("input[name=age]", "5")
    page.select_option("select[name=sex]", "female")
    page.fill("input[name='labs.bilirubin.value']", "2.1")
    page.select_option("select[name='labs.bilirubin.unit']", "umol/L")
    page.locator("input[name=age]").dispatch_event("change")
    page.wait_for_selector("#errors .errors")
    assert "age" in page.inner_text("#errors")
    page.screenshot(path=str(shots / "patient-form-validation.png"), full_page=True)
    page.fill("input[name=age]", "61")
    page.fill("input[name=display_name]", "<script>alert('xss')</script>")
    page.fill("textarea[name=notes]", "Robert'); DROP TABLE patients;--")
    page.fill(
        "textarea[name=bone_lesions]",
        '[{"site": "T12", "confirmed": true, "modality": "mri", "bilsky": "2"}]',
    )
    page.click("div.actions button[type=submit]")
    page.wait_for_url(f"{base}/patients/*")
    assert page.locator("h1").inner_text().endswith("<script>alert('xss')</script>")
    assert "DROP TABLE" in page.inner_text("table.kv")

    page.click("text=Assess now")
    page.wait_for_url(f"{base}/assessments/*")
    assert page.locator("section.urgent").is_visible()
    frame = page.frame_locator("iframe.report")
    assert frame.locator("p.disclaimer").first.is_visible()
    page.screenshot(path=str(shots / "assessment-en.png"), full_page=True)

    page.click("text=中文")
    assert "决策" in page.inner_text("p.disclaimer") or "临床" in page.inner_text("p.disclaimer")
    page.screenshot(path=str(shots / "assessment-page-zh.png"), full_page=True)
    page.click("text=EN")

    page.goto(f"{base}/evidence?q=osteoprotegerin")
    page.wait_for_selector("#graph[data-ready]")
    assert int(page.get_attribute("#graph", "data-ready") or 0) > 5
    page.screenshot(path=str(shots / "evidence.png"))

    page.goto(f"{base}/patients")
    page.click("header button:has-text('Sign out')")
    page.wait_for_url(f"{base}/login")
    page.goto(f"{base}/patients")
    assert page.url.endswith("/login")

    assert dialogs == []  # no script from stored text ever ran
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
