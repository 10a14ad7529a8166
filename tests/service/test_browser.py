"""The web pages in a real browser (Playwright driving Debian's Chromium), with screenshots.

Skips when Playwright or /usr/bin/chromium is missing. Runs on SQLite only (the database layer is
covered on PostgreSQL by the API tests).
"""

from __future__ import annotations

import json
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
    expect = sync_api.expect
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

    # the edit form of demo-001: every field of Patient JSON v1, grouped, in English and Chinese
    page.fill("input[type=search]", "demo-001")
    sync_api.expect(page.locator("table.list tbody tr")).to_have_count(1)
    page.click("table.list a:has-text('demo-001')")
    page.wait_for_url(f"{base}/patients/*")
    demo_url = page.url
    page.goto(f"{demo_url}/edit")
    autoimmune = page.locator("input[name=comorbidities][value=autoimmune_disease]")
    no_comorbidity = page.locator("input[name='comorbidities.none']")
    expect(autoimmune).to_be_checked()
    expect(page.locator("input[name='hcc.extrahepatic_sites'][value=lung]")).to_be_checked()
    expect(page.locator("fieldset#s-hcc")).to_contain_text("Extrahepatic spread other than bone")
    expect(page.locator("input[name='labs.ntx.value']")).to_be_hidden()  # folded away
    page.screenshot(path=str(shots / "patient-form-full-en.png"), full_page=True)
    page.click("details.more > summary")
    expect(page.locator("input[name='labs.ntx.value']")).to_be_visible()
    page.locator("fieldset#s-labs").screenshot(path=str(shots / "patient-form-labs-en.png"))
    no_comorbidity.check()  # "none" and the codes exclude each other
    expect(autoimmune).not_to_be_checked()
    autoimmune.check()
    expect(no_comorbidity).not_to_be_checked()
    page.goto(f"{base}/lang/zh?next=/patients")
    page.goto(f"{demo_url}/edit")
    expect(page.locator("fieldset#s-liver")).to_contain_text("肝硬化")
    expect(page.locator("fieldset#s-labs")).to_contain_text("国际标准化比值 INR")
    page.screenshot(path=str(shots / "patient-form-full-zh.png"), full_page=True)
    page.goto(f"{base}/lang/en?next=/patients")

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

    # the lesion editor: a vertebra brings up SINS and Bilsky, never Mirels
    first = page.locator("fieldset.lesion").nth(0)
    sins = first.locator("fieldset[data-applies=spine]").first
    mirels = first.locator("fieldset[data-applies=limb]")
    assert not sins.is_visible() and not mirels.is_visible()  # no site yet
    assert not first.locator("button:has-text('Show the fields')").is_visible()  # no-JS only
    first.locator("select[name='bone_lesions.0.site']").select_option("T12")
    expect(sins).to_be_visible()
    expect(first.locator("select[name='bone_lesions.0.bilsky']")).to_be_visible()
    expect(mirels).to_be_hidden()
    assert first.locator("select[name='bone_lesions.0.cortical_involvement']").is_disabled()
    first.locator("select[name='bone_lesions.0.modality']").select_option("mri")
    first.locator("select[name='bone_lesions.0.confirmed']").select_option("true")
    sins.locator("select[name='bone_lesions.0.pain']").select_option("mechanical")
    first.locator("select[name='bone_lesions.0.collapse']").select_option("under_50")
    first.locator("select[name='bone_lesions.0.bilsky']").select_option("2")

    # a second lesion, on a long bone: Mirels, no SINS; a third one added and removed again
    page.click("button[data-lesion-add]")
    page.click("button[data-lesion-add]")
    expect(page.locator("fieldset.lesion")).to_have_count(3)
    page.locator("fieldset.lesion").nth(1).locator("button[data-lesion-remove]").click()
    expect(page.locator("fieldset.lesion")).to_have_count(2)
    assert page.locator("fieldset.lesion .lesion-n").all_inner_texts() == ["1", "2"]
    second = page.locator("fieldset.lesion").nth(1)
    second.locator("select[name='bone_lesions.1.site']").select_option("femur_shaft")
    expect(second.locator("fieldset[data-applies=limb]")).to_be_visible()
    expect(second.locator("fieldset[data-applies=spine]").first).to_be_hidden()
    second.locator("fieldset[data-applies=limb] select[name='bone_lesions.1.pain']").select_option(
        "functional"
    )
    second.locator("select[name='bone_lesions.1.cortical_involvement']").select_option(
        "over_two_thirds"
    )
    # a date in the future: the live check puts the validator's message beside the field
    detected = second.locator("input[name='bone_lesions.1.detected_on']")
    detected.fill("2099-01-01")
    detected.dispatch_event("change")
    message = second.locator("p[data-error-for='bone_lesions.1.detected_on']")
    expect(message).to_be_visible()
    expect(message).to_contain_text("2099-01-01")
    expect(detected).to_have_attribute("aria-invalid", "true")
    expect(detected).to_have_attribute("aria-describedby", "e-bone_lesions.1.detected_on")
    assert page.locator("#errors a[href='#f-bone_lesions.1.detected_on']").is_visible()
    page.screenshot(path=str(shots / "patient-form-lesions.png"), full_page=True)
    detected.fill("2020-01-01")
    detected.dispatch_event("change")
    expect(message).to_be_hidden()
    expect(detected).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#errors p.ok")).to_be_visible()

    page.click("div.actions button[type=submit]")
    page.wait_for_url(f"{base}/patients/*")
    assert page.locator("h1").inner_text().endswith("<script>alert('xss')</script>")
    assert "DROP TABLE" in page.inner_text("table.kv")
    stored = json.loads(page.locator("pre.code").text_content() or "{}")
    assert stored["bone_lesions"] == [
        {"site": "T12", "modality": "mri", "confirmed": True, "pain": "mechanical",
         "collapse": "under_50", "bilsky": "2"},
        {"site": "femur_shaft", "detected_on": "2020-01-01", "pain": "functional",
         "cortical_involvement": "over_two_thirds"},
    ]  # fmt: skip
    patient_url = page.url

    # the edit page in Chinese at a tablet width: both lesions, each with its own score inputs
    page.set_viewport_size({"width": 800, "height": 1100})
    page.goto(f"{base}/lang/zh?next=/patients")
    page.goto(f"{patient_url}/edit")
    expect(page.locator("fieldset.lesion")).to_have_count(2)
    expect(page.locator("fieldset.lesion").nth(0).locator("legend").first).to_contain_text("病灶")
    lesions = page.locator("fieldset.lesion")
    expect(lesions.nth(0).get_by_text("脊柱不稳定肿瘤评分（SINS）")).to_be_visible()
    expect(lesions.nth(0).get_by_text("Mirels 病理性骨折评分")).to_be_hidden()
    expect(lesions.nth(1).get_by_text("Mirels 病理性骨折评分")).to_be_visible()
    expect(lesions.nth(1).get_by_text("脊柱不稳定肿瘤评分（SINS）")).to_be_hidden()
    page.screenshot(path=str(shots / "patient-form-lesions-zh-tablet.png"), full_page=True)
    page.goto(f"{base}/lang/en?next=/patients")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(patient_url)

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


def test_lesion_editor_without_javascript(
    app: FastAPI, live_server: LiveServer, browser_page: Any, artifacts_dir: Path
) -> None:
    """The lesion editor's buttons post the form back when JavaScript is off; Enter saves."""
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    with app.state.db.sessions() as db:
        create_user(db, "dr.nojs", PASSWORD, "clinician")
        db.commit()
    context = browser_page.context.browser.new_context(
        java_script_enabled=False, viewport={"width": 1024, "height": 900}
    )
    page = context.new_page()
    base = live_server.url
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "dr.nojs")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/patients")

    page.goto(f"{base}/patients/new")
    page.fill("input[name=id]", "nojs-001")
    page.fill("input[name=age]", "70")
    page.select_option("select[name=sex]", "male")
    lesion = page.locator("fieldset.lesion").nth(0)
    expect(lesion.locator("fieldset[data-applies=spine]").first).to_be_hidden()
    lesion.locator("select[name='bone_lesions.0.site']").select_option("L3")
    lesion.locator("button:has-text('Show the fields for this site')").click()
    lesion = page.locator("fieldset.lesion").nth(0)
    expect(lesion.locator("select[name='bone_lesions.0.bilsky']")).to_be_visible()
    expect(lesion.locator("fieldset[data-applies=limb]")).to_be_hidden()
    lesion.locator("select[name='bone_lesions.0.bilsky']").select_option("1c")
    page.click("button:has-text('Add lesion')")
    expect(page.locator("fieldset.lesion")).to_have_count(2)
    assert page.input_value("select[name='bone_lesions.0.bilsky']") == "1c"  # kept
    assert page.input_value("input[name=id]") == "nojs-001"
    page.locator("select[name='bone_lesions.1.site']").select_option("humerus")
    page.locator("fieldset.lesion").nth(1).locator("button:has-text('Show the fields')").click()
    expect(page.locator("select[name='bone_lesions.1.cortical_involvement']")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "service" / "patient-form-nojs.png"), full_page=True)
    page.fill("input[name=karnofsky]", "45")  # not a Karnofsky level
    page.press("input[name=karnofsky]", "Enter")  # the default button saves, adds nothing
    expect(page.locator("p[data-error-for=karnofsky]")).to_contain_text("steps of 10")
    expect(page.locator("fieldset.lesion")).to_have_count(2)
    page.fill("input[name=karnofsky]", "50")
    page.click("div.actions button[type=submit]")
    page.wait_for_url(f"{base}/patients/*")
    stored = json.loads(page.locator("pre.code").text_content() or "{}")
    assert stored["bone_lesions"] == [{"site": "L3", "bilsky": "1c"}, {"site": "humerus"}]
    context.close()
