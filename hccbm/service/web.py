"""Server-rendered pages (Jinja2 + htmx): sign in/out, patients, assessments, evidence.

Thin like the API: pages call the same validation, engine and audit functions. Every page is
behind a browser session (cookie, HttpOnly, SameSite=Strict); every form carries a CSRF token;
Jinja2 autoescaping escapes all output.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import select
from sqlalchemy.orm import Session

from hccbm.i18n import t
from hccbm.service import audit
from hccbm.service.api.assessments import AssessmentIn, create, load_assessment
from hccbm.service.api.auth import sign_in
from hccbm.service.api.patients import current, load_record, search_statement
from hccbm.service.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    PRE_COOKIE,
    SESSION_COOKIE,
    Principal,
    csrf_matches,
    issue,
    pre_session_ok,
    pre_session_token,
)
from hccbm.service.deps import get_db, optional_principal
from hccbm.service.models import (
    AssessmentRecord,
    Credential,
    PatientRecord,
    PatientVersion,
    utcnow,
)
from hccbm.service.validation import InvalidInput, validate_patient
from hccbm.service.web_text import text
from hccbm.units import ANALYTES

router = APIRouter(include_in_schema=False)
#: Autoescaping on for every template, whatever its file name (``*.html.j2``).
templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)
LANG_COOKIE = "hccbm_lang"

LAB_FIELDS = (
    "bilirubin",
    "albumin",
    "inr",
    "creatinine",
    "sodium",
    "afp",
    "pivka_ii",
    "alp",
    "calcium",
    "hemoglobin",
    "platelets",
    "wbc",
)
CHOICES: dict[str, tuple[str, ...]] = {
    "sex": ("male", "female"),
    "ascites": ("none", "mild", "moderate_severe"),
    "encephalopathy": ("none", "grade_1_2", "grade_3_4"),
    "hcc.visceral_metastases": ("none", "treatable", "untreatable"),
    "symptoms.frankel": ("a", "b", "c", "d", "e"),
}
ETIOLOGIES = ("hbv", "hcv", "alcohol", "masld", "other", "unknown")
FLAGS = (
    "cirrhosis",
    "dialysis",
    "hcc.macrovascular_invasion",
    "symptoms.bone_pain",
    "symptoms.night_pain",
)
INTEGERS = ("age", "ecog", "karnofsky", "hcc.nodules")
DATES = ("as_of", "hcc.diagnosed_on", "liver_transplant_on")


class LoginRequired(Exception):  # noqa: N818
    pass


def lang_of(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE)
    return lang if lang in ("en", "zh") else request.app.state.settings.default_lang


def render(
    request: Request, name: str, who: Principal | None, status: int = 200, **context: Any
) -> HTMLResponse:
    lang = lang_of(request)
    context.update(
        who=who,
        lang=lang,
        T=lambda key: text(key, lang),
        disclaimer=t("disclaimer", lang),
        csrf=who.csrf_token if who else None,
        L=lambda key: t(f"label.{key}", lang),
    )
    return templates.TemplateResponse(request, name, context, status_code=status)


def web_user(request: Request, who: Principal | None = Depends(optional_principal)) -> Principal:
    """The signed-in browser user (cookie sessions only), else a redirect to the sign-in page."""
    if who is None or who.via != "cookie":
        audit.record_alone(
            request,
            None,
            action="E",
            subtype="authenticate",
            outcome=audit.MINOR_FAILURE,
            desc="401 web page without session",
        )
        raise LoginRequired
    return who


async def form_csrf(request: Request, who: Principal = Depends(web_user)) -> Principal:
    """``web_user`` plus a CSRF token check (form field or header) for this form post."""
    form = await request.form()
    given = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not csrf_matches(who.csrf_token, given if isinstance(given, str) else None):
        audit.record_alone(
            request,
            who,
            action="E",
            subtype="csrf",
            outcome=audit.MINOR_FAILURE,
            desc="403 CSRF token missing or wrong",
        )
        return _forbidden()
    return who


def _forbidden() -> Any:
    from fastapi import HTTPException

    raise HTTPException(403, "CSRF token missing or wrong")


def safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/patients"


# -- sign in / out, language -----------------------------------------------------------------


@router.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/patients", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, error: str | None = None) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    token = pre_session_token(request.app.state.settings.secret_key, nonce)
    response = render(
        request,
        "login.html.j2",
        None,
        login_token=token,
        error=text(error, lang_of(request)) if error else None,
    )
    response.set_cookie(
        PRE_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        max_age=3600,
        secure=request.app.state.settings.cookie_secure,
    )
    return response


@router.post("/login")
async def login(request: Request, db: Session = Depends(get_db)) -> Response:
    form = await request.form()
    settings = request.app.state.settings
    login_token, username, password = (
        str(form.get(k) or "") for k in ("login_token", "username", "password")
    )
    if not pre_session_ok(settings.secret_key, request.cookies.get(PRE_COOKIE), login_token):
        audit.record_alone(
            request,
            None,
            action="E",
            subtype="csrf",
            outcome=audit.MINOR_FAILURE,
            desc="403 sign-in form token missing or wrong",
        )
        return RedirectResponse("/login?error=expired_form", status_code=303)
    from fastapi import HTTPException

    try:
        user = sign_in(request, db, username[:64], password[:256])
    except HTTPException:
        return RedirectResponse("/login?error=too_many", status_code=303)
    if user is None:
        return RedirectResponse("/login?error=bad_login", status_code=303)
    secret, cred = issue(db, user, "session", settings.session_ttl_hours)
    who = Principal(user.id, user.username, user.role, "cookie", cred.id, cred.csrf_token)
    audit.record(
        db,
        request,
        who,
        action="E",
        subtype="login",
        entity_type="User",
        entity_id=str(user.id),
        desc="web session",
    )
    db.commit()
    response = RedirectResponse("/patients", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        max_age=int(settings.session_ttl_hours * 3600),
    )
    response.delete_cookie(PRE_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request, db: Session = Depends(get_db), who: Principal = Depends(form_csrf)
) -> RedirectResponse:
    cred = db.get(Credential, who.credential_id)
    if cred is not None:
        cred.revoked = True
    audit.record(
        db,
        request,
        who,
        action="E",
        subtype="logout",
        entity_type="User",
        entity_id=str(who.user_id),
    )
    db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{code}")
def set_lang(code: str, request: Request, next: str | None = None) -> RedirectResponse:
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in ("en", "zh"):
        response.set_cookie(
            LANG_COOKIE,
            code,
            samesite="lax",
            max_age=365 * 86400,
            secure=request.app.state.settings.cookie_secure,
        )
    return response


# -- patients --------------------------------------------------------------------------------


def _search(db: Session, who: Principal, q: str | None) -> list[PatientRecord]:
    stmt = search_statement(who, q)
    return list(db.scalars(stmt.order_by(PatientRecord.updated_at.desc()).limit(200)).all())


@router.get("/patients", response_class=HTMLResponse)
def patients_page(
    request: Request,
    q: str | None = None,
    db: Session = Depends(get_db),
    who: Principal = Depends(web_user),
) -> HTMLResponse:
    q = (q or "")[:200]
    rows = _search(db, who, q)
    audit.record(
        db,
        request,
        who,
        action="E",
        subtype="search-type",
        entity_type="Patient",
        desc=f"web list, {len(rows)} rows",
    )
    db.commit()
    partial = request.headers.get("hx-request") == "true"
    return render(
        request, "_patient_rows.html.j2" if partial else "patients.html.j2", who, rows=rows, q=q
    )


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Patient JSON as form values: ``labs.bilirubin.value`` → "1.8"; lesions stay JSON."""
    out: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if key == "bone_lesions" and not prefix:
            out[name] = json.dumps(value, ensure_ascii=False, indent=1) if value else ""
        elif isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif value is not None:
            out[name] = str(value)
    return out


def _set(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def build_patient(
    form: dict[str, Any], etiology: list[str]
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Patient JSON from form fields (blank means not known, so omitted) and form-level errors."""
    data: dict[str, Any] = {"schema_version": "1"}
    errors: list[dict[str, str]] = []

    def get(name: str) -> str:
        return str(form.get(name) or "").strip()

    if get("id"):
        data["id"] = get("id")
    for name in (*INTEGERS, *CHOICES):
        raw = get(name)
        if raw:
            _set(data, name, int(raw) if name in INTEGERS and raw.lstrip("-").isdigit() else raw)
    for name in DATES:
        if get(name):
            _set(data, name, get(name))
    for name in FLAGS:
        if get(name) in ("true", "false"):
            _set(data, name, get(name) == "true")
    if etiology:
        data["etiology"] = etiology
    for name in ("weight", "hcc.largest_diameter", *(f"labs.{a}" for a in LAB_FIELDS)):
        value, unit = get(f"{name}.value"), get(f"{name}.unit")
        if value:
            try:
                _set(data, name, {"value": float(value), "unit": unit})
            except ValueError:
                errors.append({"field": name, "message": f"{value!r} is not a number"})
    lesions = get("bone_lesions")
    if lesions:
        try:
            parsed = json.loads(lesions)
            data["bone_lesions"] = parsed
        except json.JSONDecodeError as exc:
            errors.append({"field": "bone_lesions", "message": f"not valid JSON ({exc.msg})"})
    return data, errors


def check_form(
    form: dict[str, Any], etiology: list[str]
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    data, errors = build_patient(form, etiology)
    if not errors:
        try:
            validate_patient(data, prefix="")
        except InvalidInput as exc:
            errors = exc.errors
    return data, errors


def form_context() -> dict[str, Any]:
    units = {f"labs.{a}": list(ANALYTES[a].factors) for a in LAB_FIELDS}
    units["weight"] = list(ANALYTES["weight"].factors) if "weight" in ANALYTES else ["kg"]
    diameter = ANALYTES.get("largest_diameter")
    units["hcc.largest_diameter"] = list(diameter.factors) if diameter else ["cm"]
    return {
        "lab_fields": LAB_FIELDS,
        "units": units,
        "choices": CHOICES,
        "etiologies": ETIOLOGIES,
        "flags": FLAGS,
    }


@router.get("/patients/new", response_class=HTMLResponse)
def new_patient_page(request: Request, who: Principal = Depends(web_user)) -> HTMLResponse:
    if not who.can_see_identified():
        return render(
            request, "message.html.j2", who, status=403, message=text("forbidden", lang_of(request))
        )
    return render(
        request,
        "patient_form.html.j2",
        who,
        values={"schema_version": "1"},
        errors=[],
        record=None,
        **form_context(),
    )


@router.post("/patients/validate", response_class=HTMLResponse)
async def validate_form(request: Request, who: Principal = Depends(form_csrf)) -> HTMLResponse:
    """htmx: the same validation as saving, returned as a list of field messages."""
    form = await request.form()
    _, errors = check_form(dict(form), [str(v) for v in form.getlist("etiology")])
    return render(request, "_errors.html.j2", who, errors=errors, checked=True)


@router.post("/patients/new")
@router.post("/patients/{patient_id}/edit")
async def save_patient(
    request: Request,
    patient_id: str | None = None,
    db: Session = Depends(get_db),
    who: Principal = Depends(form_csrf),
) -> Response:
    if not who.can_see_identified():
        return render(
            request, "message.html.j2", who, status=403, message=text("forbidden", lang_of(request))
        )
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    etiology = [str(v) for v in form.getlist("etiology")]
    data, errors = check_form(values, etiology)
    record: PatientRecord | None = None
    if patient_id is not None:
        found = _web_record(request, db, who, patient_id, action="U", subtype="update")
        if isinstance(found, HTMLResponse):
            return found
        record = found
    if errors:
        audit.record_alone(
            request,
            who,
            action="U" if record else "C",
            subtype="validate",
            outcome=audit.MINOR_FAILURE,
            desc="422 invalid Patient JSON v1",
        )
        return render(
            request,
            "patient_form.html.j2",
            who,
            status=422,
            values=values,
            etiology=etiology,
            errors=errors,
            record=record,
            **form_context(),
        )
    patient = validate_patient(data)
    name = values.get("display_name", "").strip()[:200] or None
    mrn = values.get("mrn", "").strip()[:64] or None
    notes = values.get("notes", "")[:10_000] or None
    stored = patient.model_dump(mode="json", exclude_none=True)
    now = utcnow()
    if record is None:
        record = PatientRecord(
            external_id=patient.id,
            display_name=name,
            mrn=mrn,
            notes=notes,
            identified=bool(name or mrn),
            current_version=1,
            created_by=who.user_id,
        )
        db.add(record)
        db.flush()
        action, subtype = "C", "create"
    else:
        record.current_version += 1
        record.external_id, record.display_name, record.mrn, record.notes = (
            patient.id,
            name,
            mrn,
            notes,
        )
        record.identified = bool(name or mrn)
        record.updated_at = now
        action, subtype = "U", "update"
    db.add(
        PatientVersion(
            patient_id=record.id,
            version=record.current_version,
            data=stored,
            display_name=name,
            mrn=mrn,
            notes=notes,
            created_at=now,
            created_by=who.user_id,
        )
    )
    audit.record(
        db,
        request,
        who,
        action=action,
        subtype=subtype,
        entity_type="Patient",
        entity_id=record.id,
        desc="web form",
    )
    db.commit()
    return RedirectResponse(f"/patients/{record.id}", status_code=303)


def _web_record(
    request: Request, db: Session, who: Principal, patient_id: str, **kwargs: Any
) -> PatientRecord | HTMLResponse:
    from fastapi import HTTPException

    try:
        return load_record(request, db, who, patient_id, **kwargs)
    except HTTPException as exc:
        key = "forbidden" if exc.status_code == 403 else "not_found"
        return render(
            request,
            "message.html.j2",
            who,
            status=exc.status_code,
            message=text(key, lang_of(request)),
        )


@router.get("/patients/{patient_id}/edit", response_class=HTMLResponse)
def edit_patient_page(
    patient_id: str,
    request: Request,
    db: Session = Depends(get_db),
    who: Principal = Depends(web_user),
) -> HTMLResponse:
    record = _web_record(request, db, who, patient_id)
    if isinstance(record, HTMLResponse):
        return record
    version = current(db, record)
    audit.record(
        db,
        request,
        who,
        action="R",
        subtype="read",
        entity_type="Patient",
        entity_id=record.id,
        desc="web edit form",
    )
    db.commit()
    values = flatten(version.data)
    values.update(
        display_name=record.display_name or "", mrn=record.mrn or "", notes=record.notes or ""
    )
    return render(
        request,
        "patient_form.html.j2",
        who,
        values=values,
        errors=[],
        record=record,
        etiology=version.data.get("etiology") or [],
        **form_context(),
    )


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    patient_id: str,
    request: Request,
    db: Session = Depends(get_db),
    who: Principal = Depends(web_user),
) -> HTMLResponse:
    record = _web_record(request, db, who, patient_id)
    if isinstance(record, HTMLResponse):
        return record
    version = current(db, record)
    versions = db.scalars(
        select(PatientVersion)
        .where(PatientVersion.patient_id == record.id)
        .order_by(PatientVersion.version.desc())
    ).all()
    assessments = db.scalars(
        select(AssessmentRecord)
        .where(AssessmentRecord.patient_id == record.id)
        .order_by(AssessmentRecord.created_at.desc())
    ).all()
    audit.record(
        db,
        request,
        who,
        action="R",
        subtype="read",
        entity_type="Patient",
        entity_id=record.id,
        desc="web page",
    )
    db.commit()
    return render(
        request,
        "patient.html.j2",
        who,
        record=record,
        data=version.data,
        pretty=json.dumps(version.data, ensure_ascii=False, indent=2),
        versions=versions,
        assessments=assessments,
    )


@router.post("/patients/{patient_id}/delete")
def delete_patient(
    patient_id: str,
    request: Request,
    db: Session = Depends(get_db),
    who: Principal = Depends(form_csrf),
) -> Response:
    if not who.can_see_identified():
        return render(
            request, "message.html.j2", who, status=403, message=text("forbidden", lang_of(request))
        )
    record = _web_record(
        request, db, who, patient_id, action="D", subtype="delete", for_update=True
    )
    if isinstance(record, HTMLResponse):
        return record
    record.deleted_at = utcnow()
    audit.record(
        db,
        request,
        who,
        action="D",
        subtype="delete",
        entity_type="Patient",
        entity_id=record.id,
        desc="web form",
    )
    db.commit()
    return RedirectResponse("/patients", status_code=303)


@router.post("/patients/{patient_id}/assess")
async def assess_patient(
    patient_id: str,
    request: Request,
    db: Session = Depends(get_db),
    who: Principal = Depends(form_csrf),
) -> Response:
    if not who.can_see_identified():
        return render(
            request, "message.html.j2", who, status=403, message=text("forbidden", lang_of(request))
        )
    form = await request.form()
    lang = "zh" if form.get("lang") == "zh" else "en"
    as_of_raw = str(form.get("as_of") or "")
    try:
        as_of = dt.date.fromisoformat(as_of_raw) if as_of_raw else None
    except ValueError:
        as_of = None
    from fastapi import HTTPException

    try:
        row = create(db, request, who, AssessmentIn(patient_id=patient_id, lang=lang, as_of=as_of))
    except HTTPException as exc:
        return render(
            request,
            "message.html.j2",
            who,
            status=exc.status_code,
            message=text("not_found" if exc.status_code == 404 else "forbidden", lang_of(request)),
        )
    return RedirectResponse(f"/assessments/{row.id}", status_code=303)


@router.get("/assessments/{assessment_id}", response_class=HTMLResponse)
def assessment_page(
    assessment_id: str,
    request: Request,
    db: Session = Depends(get_db),
    who: Principal = Depends(web_user),
) -> HTMLResponse:
    from fastapi import HTTPException

    try:
        row = load_assessment(request, db, who, assessment_id)
    except HTTPException as exc:
        return render(
            request,
            "message.html.j2",
            who,
            status=exc.status_code,
            message=text("not_found" if exc.status_code == 404 else "forbidden", lang_of(request)),
        )
    audit.record(
        db,
        request,
        who,
        action="R",
        subtype="read",
        entity_type="Assessment",
        entity_id=row.id,
        desc="web page",
    )
    db.commit()
    result = row.result
    order = {"emergency": 0, "soon": 1}
    # The box on top holds the urgent problems (category urgent, or any emergency) that are
    # to be done; options weighed and excluded stay in the full report below.
    urgent = sorted(
        (
            r
            for r in result.get("recommendations", [])
            if r.get("urgency") in order
            and (r.get("category") == "urgent" or r.get("urgency") == "emergency")
            and r.get("status") != "not_recommended"
        ),
        key=lambda r: order[r["urgency"]],
    )
    return render(request, "assessment.html.j2", who, row=row, a=result, urgent=urgent)


# -- evidence --------------------------------------------------------------------------------


@router.get("/evidence", response_class=HTMLResponse)
def evidence_page(
    request: Request,
    q: str | None = None,
    source: str | None = None,
    target: str | None = None,
    item: str | None = None,
    db: Session = Depends(get_db),
    who: Principal = Depends(web_user),
) -> HTMLResponse:
    from hccbm.evidence import graph as eg
    from hccbm.service.api.evidence import find, item_out

    lang = lang_of(request)
    q, source, target, item = ((v or "")[:200] for v in (q, source, target, item))
    hits = eg.search(q, lang=None) if q.strip() else []
    found_paths: list[Any] | None = None
    path_error = None
    if source and target:
        try:
            found_paths = eg.paths(source, target, max_hops=5, limit=5)
        except KeyError as exc:
            path_error = str(exc.args[0]) if exc.args else "unknown entity"
    shown = None
    if item:
        match = find(item)
        shown = item_out(*match, lang) if match else None
    audit.record(
        db,
        request,
        who,
        action="E",
        subtype="search-type",
        entity_type="Evidence",
        entity_id=item or None,
        desc="web page",
    )
    db.commit()
    return render(
        request,
        "evidence.html.j2",
        who,
        q=q,
        hits=hits[:40],
        source=source,
        target=target,
        paths=found_paths,
        path_error=path_error,
        item=item,
        shown=shown,
    )
