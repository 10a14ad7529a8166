"""The patient form of the web pages: an input for every field of Patient JSON v1, the lesion
editor, field messages beside their fields, and saving a record unchanged keeps it unchanged.

The form is read back the way a browser submits it (no JavaScript): controls inside a disabled
fieldset or a ``<template>`` are not sent, a select sends its selected (else first) option.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from hccbm.patient.model import BoneLesion, Measurement, Patient
from hccbm.patient.sites import LIMB_SITES, SPINE_SITES, VERTEBRAE, Site
from hccbm.service import web
from hccbm.service.auth import issue
from hccbm.service.models import PatientVersion, User
from hccbm.units import ANALYTES, LAB_ANALYTES
from tests.service.conftest import EXAMPLES, example, store


class Control:
    def __init__(self, tag: str, attrs: dict[str, str | None], disabled: bool) -> None:
        self.tag = tag
        self.attrs = attrs
        self.disabled = disabled or "disabled" in attrs
        self.options: list[tuple[str, bool]] = []  # (value, selected) of a select
        self.text = ""  # of a textarea

    @property
    def name(self) -> str:
        return self.attrs.get("name") or ""

    def value(self) -> str | None:
        """What a browser submits for this control (None: nothing)."""
        if self.disabled or not self.name:
            return None
        kind = self.attrs.get("type") or "text"
        if self.tag == "select":
            chosen = [v for v, selected in self.options if selected]
            chosen = chosen or [v for v, _ in self.options[:1]]
            return chosen[0] if chosen else None
        if self.tag == "textarea":
            return self.text
        if kind in ("submit", "button", "reset"):
            return None
        if kind in ("checkbox", "radio"):
            return (self.attrs.get("value") or "on") if "checked" in self.attrs else None
        return self.attrs.get("value") or ""


class FormReader(HTMLParser):
    """The controls of ``form#patient-form``, with the fieldsets that enclose them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.controls: list[Control] = []
        self.fieldsets: list[dict[str, str | None]] = []  # open ones, outermost first
        self.in_form = False
        self.template_depth = 0
        self.select: Control | None = None
        self.option: tuple[str, bool] | None = None
        self.textarea: Control | None = None

    def _disabled(self) -> bool:
        return any("disabled" in f for f in self.fieldsets)

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attrs_list)
        if tag == "form" and attrs.get("id") == "patient-form":
            self.in_form = True
        if not self.in_form:
            return
        if tag == "template":
            self.template_depth += 1
        if self.template_depth:
            return
        if tag == "fieldset":
            self.fieldsets.append(attrs)
        elif tag in ("input", "select", "textarea", "button"):
            control = Control(tag, attrs, self._disabled())
            control.attrs["_fieldsets"] = " ".join(
                str(f.get("id") or f.get("data-applies") or "") for f in self.fieldsets
            )
            self.controls.append(control)
            if tag == "select":
                self.select = control
            elif tag == "textarea":
                self.textarea = control
        elif tag == "option" and self.select is not None:
            self.select.options.append((attrs.get("value") or "", "selected" in attrs))

    def handle_endtag(self, tag: str) -> None:
        if not self.in_form:
            return
        if tag == "template":
            self.template_depth -= 1
        elif self.template_depth:
            return
        elif tag == "fieldset":
            self.fieldsets.pop()
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.in_form = False

    def handle_data(self, data: str) -> None:
        if self.textarea is not None and not self.template_depth:
            self.textarea.text += data


def read_form(html: str) -> FormReader:
    reader = FormReader()
    reader.feed(html)
    return reader


def submitted(html: str) -> list[tuple[str, str]]:
    """The (name, value) pairs a browser would post for the patient form."""
    pairs = [(c.name, c.value()) for c in read_form(html).controls]
    return [(name, value) for name, value in pairs if value is not None]


def control(html: str, name: str, *, enabled_only: bool = False) -> list[Control]:
    found = [c for c in read_form(html).controls if c.name == name]
    return [c for c in found if not c.disabled] if enabled_only else found


def as_form(patient: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Patient JSON as the form's field names, written out independently of the web module."""
    out: list[tuple[str, str]] = []
    for key, value in patient.items():
        name = f"{prefix}{key}"
        if key == "schema_version":
            continue
        if isinstance(value, dict) and set(value) == {"value", "unit"}:
            out += [(f"{name}.value", str(value["value"])), (f"{name}.unit", value["unit"])]
        elif isinstance(value, dict):
            out += as_form(value, f"{name}.")
        elif key == "bone_lesions":
            for i, lesion in enumerate(value):
                out += as_form(lesion, f"{name}.{i}.")
        elif isinstance(value, list) and not value:
            out.append((f"{name}.none", "true"))  # the group's "none" box: known to be none
        elif isinstance(value, list):
            out += [(name, str(v)) for v in value]
        elif isinstance(value, bool):
            out.append((name, "true" if value else "false"))
        elif value is not None:
            out.append((name, str(value)))
    return out


def two_lesion_patient(patient_id: str) -> dict[str, Any]:
    """demo-001 (a T12 and a proximal femur lesion; comorbidities, a lung metastasis)."""
    patient = copy.deepcopy(example())
    patient["id"] = patient_id
    assert patient["comorbidities"] == ["autoimmune_disease", "untreated_varices"]
    assert [lesion["site"] for lesion in patient["bone_lesions"]] == ["T12", "femur_proximal"]
    return patient


@pytest.fixture
def web_client(app: FastAPI, users: dict[str, dict[str, str]]) -> Iterator[tuple[TestClient, str]]:
    """A browser session of clinician1 and its CSRF token."""
    with app.state.db.sessions() as db:
        user = db.scalar(select(User).where(User.username == "clinician1"))
        assert user is not None
        token, cred = issue(db, user, "session", 1.0)
        db.commit()
        csrf = cred.csrf_token or ""
    with TestClient(app) as c:
        c.cookies.set("hccbm_session", token)
        yield c, csrf


def post(browser: TestClient, url: str, pairs: list[tuple[str, str]]) -> Any:
    """Post (name, value) pairs as a browser would (repeated names allowed), no redirects."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return browser.post(url, data=grouped, follow_redirects=False)


def stored(client: TestClient, headers: dict[str, str], record_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/patients/{record_id}", headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["patient"]
    return data


def record_id_of(response: Any) -> str:
    assert response.status_code == 303, response.text[:2000]
    match = re.fullmatch(r"/patients/([^/]+)", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


# -- the editor offers what the model accepts --------------------------------------------------


def test_site_picker_lists_every_site_once_by_region() -> None:
    listed = [s for _, sites in web.SITE_REGIONS for s in sites]
    assert sorted(listed) == sorted(get_args(Site))
    regions = dict(web.SITE_REGIONS)
    assert regions["thoracic"] == tuple(f"T{i}" for i in range(1, 13))
    assert "sacrum" in regions["sacral"]
    assert set(regions["upper_limb"]) | set(regions["lower_limb"]) == LIMB_SITES


@pytest.mark.parametrize("site", get_args(Site))
def test_offered_lesion_fields_are_the_ones_the_model_accepts(site: str) -> None:
    kind = web.site_kind(site)
    assert kind == ("spine" if site in SPINE_SITES else "limb" if site in LIMB_SITES else "other")
    shown = web.shown_fields(kind)
    for field in web.LESION_FIELDS:
        key = f"pain.{kind}" if field == "pain" else field
        options = web.LESION_CHOICES.get(key, ())
        if field in shown:
            for option in options:  # every offered choice is valid at this site
                BoneLesion.model_validate({"site": site, field: option})
        else:  # a field not offered here: the model rejects it at this site
            kind_specific = {f for fs in web.KIND_FIELDS.values() for f in fs}
            assert field in kind_specific
            other_kind = next(k for k, fs in web.KIND_FIELDS.items() if field in fs)
            value = web.LESION_CHOICES[f"pain.{other_kind}" if field == "pain" else field][0]
            with pytest.raises(ValidationError):
                BoneLesion.model_validate({"site": site, field: value})
    if kind == "spine":
        assert {"alignment", "collapse", "posterolateral", "bilsky"} <= shown
        assert "cortical_involvement" not in shown
    if kind == "limb":
        assert "cortical_involvement" in shown and "bilsky" not in shown


def _not_none(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, UnionType):
        return [a for a in get_args(annotation) if a is not type(None)]
    return [annotation]


def model_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str, Any]]:
    """(form name, kind, detail) of every field of ``model``, nested models (labs, hcc, symptoms)
    and bone lesions (as lesion 0) included; read off the model, not the web module."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        args = _not_none(info.annotation)
        if all(get_origin(a) is Literal for a in args):
            yield path, "choice", {v for a in args for v in get_args(a)}
            continue
        assert len(args) == 1, f"{path}: {info.annotation} (teach this test the new kind)"
        tp = args[0]
        item = get_args(tp)[0] if get_origin(tp) is list else None
        if tp is Measurement:
            yield path, "quantity", set(ANALYTES[name].accepted)
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            yield from model_fields(tp, f"{path}.")
        elif isinstance(item, type) and issubclass(item, BaseModel):
            yield from model_fields(item, f"{path}.0.")
        elif get_origin(item) is Literal:
            yield path, "codes", get_args(item)
        elif tp in (bool, int, str, dt.date):
            yield path, tp.__name__, None
        else:
            pytest.fail(f"{path}: {info.annotation} (teach this test the new kind)")


MODEL_FIELDS = list(model_fields(Patient))


def test_the_walk_covers_the_model() -> None:
    paths = {path for path, _, _ in MODEL_FIELDS}
    assert {"comorbidities", "hcc.extrahepatic_sites", "symptoms.back_pain"} <= paths
    assert {"hcc.intrahepatic_controlled", "hcc.curative_intent_planned"} <= paths
    assert {"prior_systemic_therapy", "bone_lesions.0.bilsky"} <= paths
    assert {f"labs.{a}" for a in LAB_ANALYTES} <= paths  # every analyte of hccbm.units
    assert len(paths) == len(MODEL_FIELDS)


def _has_input(controls: list[Control], path: str, kind: str, detail: Any) -> None:
    named = [c for c in controls if c.name == path]
    if path == "schema_version":  # a constant the form writes itself
        assert detail == {"1"} and not named
    elif kind == "quantity":
        (value,) = [c for c in controls if c.name == f"{path}.value"]
        (unit,) = [c for c in controls if c.name == f"{path}.unit"]
        assert value.tag == "input" and unit.tag == "select"
        assert {v for v, _ in unit.options} == detail, "the units the model accepts"
    elif kind == "choice":
        assert named and all(c.tag == "select" for c in named)
        offered = {v for c in named for v, _ in c.options}
        assert offered - {""} == detail, "the model's codes, no others"
    elif kind == "codes":
        assert named and all(c.attrs.get("type") == "checkbox" for c in named)
        assert [c.attrs["value"] for c in named] == list(detail), "the model's codes, in order"
    elif kind == "bool":
        (select_,) = named
        assert select_.tag == "select" and [v for v, _ in select_.options] == ["", "true", "false"]
    elif kind == "date":
        (date,) = named
        assert date.tag == "input" and date.attrs.get("type") == "date"
    else:  # int, str
        (box,) = named
        assert box.tag == "input" and box.attrs.get("type") in (None, "text")


def test_every_model_field_has_a_form_input(web_client: tuple[TestClient, str]) -> None:
    """A field added to Patient JSON v1 (or its extensions) without a form input fails here:
    saving the edit form of a record would otherwise drop it. Checkbox groups, selects and unit
    selectors offer exactly the model's codes and units."""
    browser, _ = web_client
    html = browser.get("/patients/new").text  # with one blank lesion: every lesion control
    controls = read_form(html).controls
    problems = []
    for path, kind, detail in MODEL_FIELDS:
        try:
            _has_input(controls, path, kind, detail)
        except (AssertionError, ValueError) as exc:  # ValueError: not exactly one control
            problems.append(f"{path} ({kind}): {exc or 'no input'}")
    assert problems == []


class VisibleText(HTMLParser):
    """The text nodes of ``form#patient-form`` (outside the lesion template)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.in_form = self.in_template = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_form = self.in_form or (tag == "form" and ("id", "patient-form") in attrs)
        self.in_template = self.in_template or tag == "template"

    def handle_endtag(self, tag: str) -> None:
        self.in_template = self.in_template and tag != "template"
        self.in_form = self.in_form and tag != "form"

    def handle_data(self, data: str) -> None:
        if self.in_form and not self.in_template and data.strip():
            self.texts.append(data.strip())


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_raw_code_is_shown_as_a_label(
    client: TestClient,
    clinician: dict[str, str],
    web_client: tuple[TestClient, str],
    lang: str,
) -> None:
    browser, _ = web_client
    browser.cookies.set("hccbm_lang", lang)
    record = store(client, clinician)  # demo-001: lists, spine and limb lesions filled in
    reader = VisibleText()
    reader.feed(browser.get(f"/patients/{record['id']}/edit").text)
    shown = set(reader.texts)
    names = {path.rpartition(".")[2] for path, _, _ in MODEL_FIELDS}
    codes = {str(c) for _, kind, d in MODEL_FIELDS if kind in ("choice", "codes") for c in d}
    codes -= set(VERTEBRAE)  # vertebral levels are shown as they are written (T12)
    codes = {c for c in codes if not c.isdigit()}  # "1", "2": also the lesions' numbers
    if lang == "en":  # an English label may be its code ("lytic"), never a snake_case one
        codes = {c for c in codes if "_" in c}
    raw = sorted((names | codes) & shown)
    assert raw == [], f"raw codes shown as labels: {raw}"
    if lang == "zh":
        for words in ("肝硬化", "总胆红素", "白蛋白", "国际标准化比值 INR", "甲胎蛋白 AFP"):
            assert words in shown, words


EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


def test_the_examples_are_all_there() -> None:
    assert len(EXAMPLE_FILES) == 9
    assert "autoimmune_disease" in example()["comorbidities"]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_example_saved_unchanged_from_the_edit_form_stores_the_same_json(
    app: FastAPI,
    client: TestClient,
    clinician: dict[str, str],
    web_client: tuple[TestClient, str],
    path: Path,
) -> None:
    """Open the edit form of a stored example and save it as it is: nothing dropped or changed
    (demo-001's autoimmune disease changes the systemic therapy advice), "none" ([]) kept apart
    from "not known" (absent)."""
    browser, _ = web_client
    record = store(client, clinician, patient=json.loads(path.read_text(encoding="utf-8")))
    page = browser.get(f"/patients/{record['id']}/edit")
    assert page.status_code == 200
    saved = post(browser, f"/patients/{record['id']}/edit", submitted(page.text))
    assert record_id_of(saved) == record["id"]
    with app.state.db.sessions() as db:
        versions = db.scalars(
            select(PatientVersion)
            .where(PatientVersion.patient_id == record["id"])
            .order_by(PatientVersion.version)
        ).all()
        assert [v.version for v in versions] == [1, 2]
        assert versions[1].data == versions[0].data
        data = versions[1].data
    if path.stem == "demo-001":
        assert data["comorbidities"] == ["autoimmune_disease", "untreated_varices"]
        assert data["hcc"]["extrahepatic_sites"] == ["lung"]


def test_none_and_not_known_are_kept_apart(
    client: TestClient, clinician: dict[str, str], web_client: tuple[TestClient, str]
) -> None:
    browser, csrf = web_client
    base = [("csrf_token", csrf), ("id", "lists-1"), ("age", "60"), ("sex", "male")]
    lists = [
        ("comorbidities.none", "true"),  # known: none
        ("hcc.extrahepatic_sites", "lung"),
        ("hcc.extrahepatic_sites", "adrenal"),
        ("hcc.visceral_metastases", "treatable"),
        ("prior_systemic_therapy", "sorafenib"),
        ("symptoms.back_pain", "true"),
        ("hcc.intrahepatic_controlled", "false"),
        ("hcc.curative_intent_planned", "false"),
        ("labs.ntx.value", "80"),
        ("labs.ntx.unit", "nmol/mmol{creat}"),
        ("labs.afp.value", "300"),
        ("labs.afp.unit", "[IU]/mL"),
    ]
    data = stored(client, clinician, record_id_of(post(browser, "/patients/new", base + lists)))
    assert data["comorbidities"] == []
    assert "etiology" not in data  # nothing ticked: not known
    assert data["hcc"]["extrahepatic_sites"] == ["lung", "adrenal"]
    assert data["prior_systemic_therapy"] == ["sorafenib"]
    assert data["symptoms"]["back_pain"] is True
    assert data["hcc"]["intrahepatic_controlled"] is False
    assert data["labs"]["ntx"] == {"value": 80.0, "unit": "nmol/mmol{creat}"}
    assert data["labs"]["afp"] == {"value": 300.0, "unit": "[IU]/mL"}

    # "none" and a code ticked together: refused beside the group, nothing stored
    both = [("comorbidities.none", "true"), ("comorbidities", "heart_failure")]
    response = post(browser, "/patients/new", [*base[:1], ("id", "lists-2"), *base[2:], *both])
    assert response.status_code == 422
    assert "tick &#39;none&#39; or the items" in _error_box(response.text, "comorbidities")
    assert 'href="#f-comorbidities"' in response.text
    assert client.get("/api/v1/patients", headers=clinician).json()["total"] == 1


def test_folded_markers_open_when_filled(
    client: TestClient, clinician: dict[str, str], web_client: tuple[TestClient, str]
) -> None:
    browser, _ = web_client
    html = browser.get("/patients/new").text
    assert '<details class="more">' in html  # bone ALP, NTx, galectin-3 folded away
    patient = {**example(), "id": "markers-1"}
    patient["labs"] = {**patient["labs"], "galectin_3": {"value": 12, "unit": "ng/mL"}}
    record = store(client, clinician, patient=patient)
    html = browser.get(f"/patients/{record['id']}/edit").text
    assert '<details class="more" open>' in html
    assert dict(submitted(html))["labs.galectin_3.value"] == "12"


# -- round trip -------------------------------------------------------------------------------


def test_form_round_trip_stores_the_same_json_as_the_api(
    client: TestClient, clinician: dict[str, str], web_client: tuple[TestClient, str]
) -> None:
    browser, csrf = web_client
    via_api = store(client, clinician, patient=two_lesion_patient("rt-api"))
    api_json = stored(client, clinician, via_api["id"])

    posted = post(
        browser, "/patients/new", [("csrf_token", csrf), *as_form(two_lesion_patient("rt-web"))]
    )
    web_json = stored(client, clinician, record_id_of(posted))
    assert web_json == {**api_json, "id": "rt-web"}
    assert [lesion["site"] for lesion in web_json["bone_lesions"]] == ["T12", "femur_proximal"]

    # the edit page shows the stored lesions; saving it unchanged stores the same JSON again
    page = browser.get(f"/patients/{via_api['id']}/edit")
    assert page.status_code == 200
    again = post(browser, f"/patients/{via_api['id']}/edit", submitted(page.text))
    assert record_id_of(again) == via_api["id"]
    assert stored(client, clinician, via_api["id"]) == api_json
    versions = client.get(f"/api/v1/patients/{via_api['id']}/versions", headers=clinician).json()
    assert versions["current_version"] == 2


def test_edit_page_offers_sins_and_bilsky_for_the_spine_and_mirels_for_the_femur(
    client: TestClient, clinician: dict[str, str], web_client: tuple[TestClient, str]
) -> None:
    browser, _ = web_client
    patient = two_lesion_patient("groups-1")
    patient["bone_lesions"].append({"site": "rib", "pain": "moderate"})
    record = store(client, clinician, patient=patient)
    html = browser.get(f"/patients/{record['id']}/edit").text
    sent = dict(submitted(html))

    # T12: SINS and Bilsky inputs live; no Mirels input offered or sent
    for field in ("pain", "alignment", "collapse", "posterolateral", "bilsky"):
        assert len(control(html, f"bone_lesions.0.{field}", enabled_only=True)) == 1, field
    assert control(html, "bone_lesions.0.cortical_involvement", enabled_only=True) == []
    assert "bone_lesions.0.cortical_involvement" not in sent
    spine_pain = control(html, "bone_lesions.0.pain", enabled_only=True)[0]
    assert [v for v, _ in spine_pain.options] == ["", "mechanical", "occasional", "none"]
    assert sent["bone_lesions.0.pain"] == "mechanical" and sent["bone_lesions.0.bilsky"] == "1b"

    # proximal femur: Mirels inputs live, no SINS or Bilsky input
    for field in ("alignment", "collapse", "posterolateral", "bilsky"):
        assert control(html, f"bone_lesions.1.{field}", enabled_only=True) == [], field
    limb_pain = control(html, "bone_lesions.1.pain", enabled_only=True)[0]
    assert [v for v, _ in limb_pain.options] == ["", "mild", "moderate", "functional"]
    assert sent["bone_lesions.1.cortical_involvement"] == "one_to_two_thirds"

    # rib: neither score; only the pain question, on the scale the model accepts there
    assert [c.name for c in control(html, "bone_lesions.2.cortical_involvement")]
    assert control(html, "bone_lesions.2.cortical_involvement", enabled_only=True) == []
    assert control(html, "bone_lesions.2.bilsky", enabled_only=True) == []
    assert sent["bone_lesions.2.pain"] == "moderate"

    # the hidden groups are hidden as well as disabled
    assert re.search(r'<fieldset class="score" data-applies="limb" hidden disabled>', html)
    # the site picker: regions as option groups, vertebra levels as options
    assert '<optgroup label="Thoracic spine (T1–T12)">' in html
    assert re.search(r'<option value="T12" data-kind="spine" selected>T12</option>', html)
    assert 'data-kind="limb" selected>proximal femur</option>' in html


def test_chinese_labels(web_client: tuple[TestClient, str]) -> None:
    browser, _ = web_client
    browser.cookies.set("hccbm_lang", "zh")
    html = browser.get("/patients/new").text
    for words in (
        "脊柱不稳定肿瘤评分（SINS）",
        "硬膜外脊髓压迫 Bilsky 分级",
        "Mirels 病理性骨折评分",
        "添加病灶",
        "胸椎（T1–T12）",
        "股骨近端",
        "肝硬化",
        "总胆红素",
        "白蛋白",
        "国际标准化比值 INR",
        "甲胎蛋白 AFP",
        "碱性磷酸酶",
        "骨特异性碱性磷酸酶",
        "半乳糖凝集素-3",
        "I 型胶原交联 N 端肽 NTx",
        "东部肿瘤协作组体能状态 ECOG",
        "确诊日期",
        "合并症",
        "自身免疫性疾病",
        "骨以外的肝外转移部位",
        "既往系统治疗",
    ):
        assert words in html, words


# -- field messages beside their fields ---------------------------------------------------------


def _error_box(html: str, slot: str, suffix: str = "") -> str:
    match = re.search(
        rf'<p class="field-error" id="e-{re.escape(slot + suffix)}" '
        rf'data-error-for="{re.escape(slot)}"( hidden)?>(.*?)</p>',
        html,
        re.S,
    )
    assert match, slot
    assert match.group(1) is None, f"{slot}: message box hidden"
    return match.group(2)


def _lesion_fieldset(html: str, i: int) -> str:
    start = html.index(f'<fieldset class="lesion" id="f-bone_lesions.{i}"')
    depth, pos = 0, start
    for match in re.finditer(r"<fieldset\b|</fieldset>", html[start:]):
        depth += 1 if match.group(0) == "<fieldset" else -1
        if depth == 0:
            pos = start + match.end()
            break
    return html[start:pos]


def test_invalid_lesion_value_is_shown_beside_its_field_and_nothing_is_stored(
    client: TestClient, clinician: dict[str, str], web_client: tuple[TestClient, str]
) -> None:
    browser, csrf = web_client
    patient = two_lesion_patient("bad-lesion")
    patient["bone_lesions"][0]["bilsky"] = "<b>4</b>"  # not a Bilsky grade (and hostile)
    response = post(browser, "/patients/new", [("csrf_token", csrf), *as_form(patient)])
    assert response.status_code == 422
    html = response.text
    assert client.get("/api/v1/patients", headers=clinician).json()["total"] == 0

    # the message of the same validator as the API, escaped, in lesion 1's fieldset
    api = client.post("/api/v1/patients", json={"patient": patient}, headers=clinician)
    assert api.status_code == 422
    api_messages = {e["field"]: e["message"] for e in api.json()["errors"]}
    bilsky_message = api_messages["patient.bone_lesions[0].bilsky"]
    first = _lesion_fieldset(html, 0)
    box = _error_box(first, "bone_lesions.0.bilsky")
    assert "&lt;b&gt;4&lt;/b&gt;" in box and "<b>" not in html
    assert box.replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">") == bilsky_message
    assert re.search(
        r'<select name="bone_lesions\.0\.bilsky" id="f-bone_lesions\.0\.bilsky" '
        r'data-slot="bone_lesions\.0\.bilsky" data-err="e-bone_lesions\.0\.bilsky" '
        r'aria-invalid="true" aria-describedby="e-bone_lesions\.0\.bilsky">',
        first,
    )
    # fields without a problem are not marked
    assert html.count('aria-invalid="true"') == 1
    assert 'aria-describedby="e-bone_lesions.0.site"' not in html

    # the summary at the top links to the field
    summary = html[html.index('<div id="errors"') : html.index("</ul>")]
    assert '<a href="#f-bone_lesions.0.bilsky"><code>bone_lesions[0].bilsky</code></a>' in summary

    # what was entered is kept
    sent = submitted(html)
    assert ("bone_lesions.0.bilsky", "<b>4</b>") not in sent  # not a choice of the select
    kept = dict(sent)
    assert kept["bone_lesions.0.site"] == "T12" and kept["bone_lesions.1.site"] == "femur_proximal"
    assert kept["labs.bilirubin.value"] == "1.8" and kept["id"] == "bad-lesion"
    assert kept["bone_lesions.0.alignment"] == "normal"
    assert kept["bone_lesions.1.cortical_involvement"] == "one_to_two_thirds"

    # fixed, but lesion 2 found in the future: a patient-level message naming a lesion's field
    # goes beside that field
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    fixed = [(k, "2" if k == "bone_lesions.0.bilsky" else v) for k, v in sent]
    fixed = [(k, "" if k == "as_of" else v) for k, v in fixed]
    fixed = [(k, future if k == "bone_lesions.1.detected_on" else v) for k, v in fixed]
    html = post(browser, "/patients/new", fixed).text
    second = _lesion_fieldset(html, 1)
    assert future in _error_box(second, "bone_lesions.1.detected_on")
    assert 'aria-describedby="e-bone_lesions.1.detected_on"' in second
    assert 'href="#f-bone_lesions.1.detected_on"' in html
    assert client.get("/api/v1/patients", headers=clinician).json()["total"] == 0


def test_model_level_lesion_message_goes_beside_the_field_it_names(
    web_client: tuple[TestClient, str],
) -> None:
    browser, csrf = web_client
    form = [("csrf_token", csrf), ("id", "p1"), ("age", "60"), ("sex", "male")]
    form += [("bone_lesions.0.site", "L2"), ("bone_lesions.0.pain", "functional")]
    html = post(browser, "/patients/new", form).text
    assert "is a limb (Mirels) value" in _error_box(html, "bone_lesions.0.pain", "-spine")
    assert 'aria-describedby="e-bone_lesions.0.pain-spine"' in html
    assert 'href="#f-bone_lesions.0.pain-spine"' in html
    # a patient-level one beside the field it starts with
    form = [("csrf_token", csrf), ("id", "p1"), ("age", "60"), ("sex", "male")]
    html = post(browser, "/patients/new", [*form, ("karnofsky", "50"), ("ecog", "0")]).text
    assert "contradicts ecog" in _error_box(html, "karnofsky")
    # a message about a field the site does not show goes to the lesion as a whole
    form = [("csrf_token", csrf), ("id", "p1"), ("age", "60"), ("sex", "male")]
    form += [("bone_lesions.0.site", "femur_shaft"), ("bone_lesions.0.alignment", "normal")]
    html = post(browser, "/patients/new", form).text
    assert "alignment applies to spinal lesions" in _error_box(html, "bone_lesions.0")


def test_live_check_places_messages_by_form_index(web_client: tuple[TestClient, str]) -> None:
    browser, csrf = web_client
    form = [("csrf_token", csrf), ("id", "p1"), ("age", "60"), ("sex", "male")]
    form += [("bone_lesions.0.site", ""), ("bone_lesions.0.bilsky", "")]  # a blank row: no lesion
    form += [("bone_lesions.1.site", "T4"), ("bone_lesions.1.bilsky", "9")]
    response = post(browser, "/patients/validate", form)
    assert response.status_code == 200
    assert '<li data-for-slot="bone_lesions.1.bilsky">' in response.text
    assert "<code>bone_lesions[1].bilsky</code>" in response.text
    ok = post(browser, "/patients/validate", form[:4])
    assert "All fields are valid." in ok.text


def test_lesions_added_and_removed_without_javascript(
    client: TestClient, clinician: dict[str, str], web_client: tuple[TestClient, str]
) -> None:
    browser, csrf = web_client
    new = browser.get("/patients/new").text
    assert len(control(new, "bone_lesions.0.site")) == 1  # one blank lesion to start with
    assert control(new, "bone_lesions.0.bilsky", enabled_only=True) == []  # no site, no scores
    assert 'name="form_action" value="add_lesion"' in new

    form = [("csrf_token", csrf), ("id", "nojs-1"), ("age", "60"), ("sex", "female")]
    form += [("bone_lesions.0.site", "C5"), ("bone_lesions.0.confirmed", "true")]
    added = post(browser, "/patients/new", [*form, ("form_action", "add_lesion")])
    assert added.status_code == 200
    html = added.text
    assert client.get("/api/v1/patients", headers=clinician).json()["total"] == 0
    sent = dict(submitted(html))
    assert sent["bone_lesions.0.site"] == "C5" and sent["bone_lesions.1.site"] == ""
    assert sent["id"] == "nojs-1"
    # the spinal lesion now shows its SINS inputs; the new row none yet
    assert len(control(html, "bone_lesions.0.collapse", enabled_only=True)) == 1
    assert control(html, "bone_lesions.1.collapse", enabled_only=True) == []

    # pick a site for the new row and ask for its fields
    rows = [*submitted(html)]
    rows = [(k, "tibia_fibula" if k == "bone_lesions.1.site" else v) for k, v in rows]
    shown = post(browser, "/patients/new", [*rows, ("form_action", "refresh")]).text
    assert len(control(shown, "bone_lesions.1.cortical_involvement", enabled_only=True)) == 1

    removed = post(browser, "/patients/new", [*rows, ("remove_lesion", "0")]).text
    assert dict(submitted(removed))["bone_lesions.0.site"] == "tibia_fibula"
    assert control(removed, "bone_lesions.1.site") == []

    saved = post(browser, "/patients/new", submitted(removed))
    record = record_id_of(saved)
    assert stored(client, clinician, record)["bone_lesions"] == [{"site": "tibia_fibula"}]
