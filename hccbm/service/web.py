"""Server-rendered pages (Jinja2 + htmx): sign in/out, patients, assessments, evidence.

Thin like the API: pages call the same validation, engine and audit functions. Every page is
behind a browser session (cookie, HttpOnly, SameSite=Strict); every form carries a CSRF token;
Jinja2 autoescaping escapes all output.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from hccbm.i18n import t
from hccbm.patient.model import (
    Alignment,
    BilskyGrade,
    Collapse,
    CorticalInvolvement,
    LimbPain,
    Matrix,
    Measurement,
    Modality,
    Patient,
    Posterolateral,
    SpinePain,
)
from hccbm.patient.sites import LIMB_SITES, MIRELS_SITE, SPINE_SITES, VERTEBRAE, Site
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
from hccbm.service.web_text import TEXT, text
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

#: The patient form's sections, in order: the key of the legend, the fields shown (Patient JSON
#: v1 paths) and the rarely used ones folded into a ``<details>`` (open when one of them holds a
#: value or a message). Every field of the model is in exactly one section (a test walks the model);
#: the kind of control and its choices come from the model's annotations (:func:`field_spec`).
SECTIONS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("patient", ("id", "as_of", "age", "sex", "weight", "ecog", "karnofsky"), ()),
    (
        "liver",
        ("etiology", "cirrhosis", "ascites", "encephalopathy", "liver_transplant_on"),
        (),
    ),
    ("history", ("comorbidities", "dialysis", "prior_systemic_therapy"), ()),
    (
        "labs",
        tuple(
            f"labs.{a}"
            for a in (
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
        ),
        ("labs.bone_alp", "labs.ntx", "labs.galectin_3"),
    ),
    (
        "hcc",
        (
            "hcc.diagnosed_on",
            "hcc.nodules",
            "hcc.largest_diameter",
            "hcc.macrovascular_invasion",
            "hcc.visceral_metastases",
            "hcc.extrahepatic_sites",
            "hcc.intrahepatic_controlled",
            "hcc.curative_intent_planned",
        ),
        (),
    ),
    (
        "symptoms",
        ("symptoms.bone_pain", "symptoms.night_pain", "symptoms.back_pain", "symptoms.frankel"),
        (),
    ),
)
#: Lists whose "none" box is shown only to keep a stored empty list (an empty aetiology list is
#: no clinical statement: the model has ``unknown`` and ``other`` for that).
NONE_BOX_ONLY_WHEN_SET = frozenset({"etiology"})


@dataclass(frozen=True)
class FieldSpec:
    """One control of the patient form, read off the model's annotation.

    ``kind``: ``text``, ``integer``, ``date``, ``flag`` (yes/no/not known), ``choice`` (one code),
    ``codes`` (a list of codes: a checkbox group) or ``quantity`` (value and UCUM unit).
    ``options``: the codes of a choice or list, the accepted units of a quantity.
    """

    path: str
    kind: str
    options: tuple[str, ...] = ()
    required: bool = False


def _not_none(tp: Any) -> list[Any]:
    if get_origin(tp) in (Union, UnionType):
        return [a for a in get_args(tp) if a is not type(None)]
    return [tp]


def field_spec(path: str) -> FieldSpec:
    """The control for a Patient JSON path (``labs.bone_alp``), from :mod:`hccbm.patient.model`."""
    model: type[BaseModel] = Patient
    *parents, last = path.split(".")
    for part in parents:
        (model,) = _not_none(model.model_fields[part].annotation)
    info = model.model_fields[last]
    args = _not_none(info.annotation)
    required = info.is_required()
    if all(get_origin(a) is Literal for a in args):
        return FieldSpec(path, "choice", tuple(v for a in args for v in get_args(a)), required)
    (tp,) = args
    if get_origin(tp) is list and get_origin(get_args(tp)[0]) is Literal:
        return FieldSpec(path, "codes", get_args(get_args(tp)[0]), required)
    if tp is Measurement:
        return FieldSpec(path, "quantity", ANALYTES[last].accepted, required)
    kinds = {bool: "flag", int: "integer", dt.date: "date", str: "text"}
    if tp in kinds:
        return FieldSpec(path, kinds[tp], (), required)
    raise TypeError(f"the patient form has no control for {path} ({info.annotation})")


FORM_FIELDS: dict[str, FieldSpec] = {
    path: field_spec(path) for _, shown, more in SECTIONS for path in (*shown, *more)
}
CODE_LISTS = tuple(path for path, spec in FORM_FIELDS.items() if spec.kind == "codes")


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


# -- the patient form: field names, the lesion editor, errors beside their fields -------------

#: Bone lesion fields of Patient JSON v1, as form fields ``bone_lesions.<i>.<field>``.
LESION_FIELDS = (
    "site",
    "detected_on",
    "modality",
    "confirmed",
    "matrix",
    "pain",
    "alignment",
    "collapse",
    "posterolateral",
    "bilsky",
    "cortical_involvement",
    "pathological_fracture",
)
LESION_FLAGS = ("confirmed", "pathological_fracture")
LESION_KEY = re.compile(r"bone_lesions\.(\d{1,4})\.([a-z_]+)")
#: Which lesion fields each kind of site takes, per the model's rules
#: (:class:`hccbm.patient.model.BoneLesion`): SINS and Bilsky on the spine, Mirels on long bones,
#: only the pain (none or the limb scale) elsewhere. Fields in no kind are common to all sites.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "spine": ("pain", "alignment", "collapse", "posterolateral", "bilsky"),
    "limb": ("pain", "cortical_involvement"),
    "other": ("pain",),
}
LESION_CHOICES: dict[str, tuple[str, ...]] = {
    "modality": get_args(Modality),
    "matrix": get_args(Matrix),
    "pain.spine": get_args(SpinePain),
    "pain.limb": tuple(reversed(get_args(LimbPain))),  # mild, moderate, functional
    "pain.other": ("none", *reversed(get_args(LimbPain))),
    "alignment": get_args(Alignment),
    "collapse": get_args(Collapse),
    "posterolateral": get_args(Posterolateral),
    "bilsky": get_args(BilskyGrade),
    "cortical_involvement": get_args(CorticalInvolvement),
}


def _site_regions() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The site vocabulary of :mod:`hccbm.patient.sites`, grouped by region for the picker."""
    every: tuple[str, ...] = get_args(Site)
    regions = (
        ("cervical", tuple(v for v in VERTEBRAE if v.startswith("C"))),
        ("thoracic", tuple(v for v in VERTEBRAE if v.startswith("T"))),
        ("lumbar", tuple(v for v in VERTEBRAE if v.startswith("L"))),
        ("sacral", (*(v for v in VERTEBRAE if v.startswith("S")), "sacrum")),
        (
            "axial",
            tuple(s for s in every if s not in SPINE_SITES | LIMB_SITES and s != "other"),
        ),
        ("upper_limb", tuple(s for s in every if MIRELS_SITE.get(s) == "upper_limb")),
        (
            "lower_limb",
            tuple(s for s in every if MIRELS_SITE.get(s) in ("lower_limb", "peritrochanteric")),
        ),
        ("other_site", ("other",)),
    )
    listed = [s for _, sites in regions for s in sites]
    assert sorted(listed) == sorted(every), "every site once, no invented ones"
    return regions


SITE_REGIONS = _site_regions()


def site_kind(site: str | None) -> str:
    """``spine``, ``limb`` or ``other`` for a Patient JSON site; ``""`` when none or unknown."""
    if site in SPINE_SITES:
        return "spine"
    if site in LIMB_SITES:
        return "limb"
    return "other" if site in get_args(Site) else ""


def shown_fields(kind: str) -> frozenset[str]:
    """The lesion fields the editor shows (and submits) for a site of this kind."""
    kind_specific = {f for fields in KIND_FIELDS.values() for f in fields}
    common = {f for f in LESION_FIELDS if f not in kind_specific}
    return frozenset(common | set(KIND_FIELDS.get(kind, ())))


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Patient JSON as form values: ``labs.bilirubin.value`` → "1.8",
    ``bone_lesions.0.site`` → "T12", ``comorbidities`` → the list of its codes (an empty list,
    a known "none", also sets ``comorbidities.none``)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list) and name in CODE_LISTS:
            out[name] = [str(v) for v in value]
            if not value:
                out[f"{name}.none"] = "true"
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):
                out.update(flatten(item, f"{name}.{i}."))
        elif isinstance(value, list):  # not a field of the form: shown, then rejected on save
            out[name] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, float) and value.is_integer():
            out[name] = str(int(value))  # 68, not 68.0 (the same number when read back)
        elif value is not None:
            out[name] = str(value)
    return out


def lesion_rows(
    values: dict[str, Any], keep_blank: bool = False
) -> list[tuple[int, dict[str, str]]]:
    """The lesion rows of a form as (form index, raw values), in index order. A row left wholly
    blank is no lesion: it is left out unless ``keep_blank`` (to show it again)."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in values.items():
        match = LESION_KEY.fullmatch(key)
        if match and match.group(2) in LESION_FIELDS:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = str(value or "").strip()
    return [(i, rows[i]) for i in sorted(rows) if keep_blank or any(rows[i].values())]


def form_values(form: Any) -> dict[str, Any]:
    """A posted form as values: one string per name, a list of codes per checkbox group."""
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if k not in CODE_LISTS}
    for path in CODE_LISTS:
        values[path] = [str(v) for v in form.getlist(path)]
    return values


def with_lesions(values: dict[str, Any], rows: list[dict[str, str]]) -> dict[str, Any]:
    """``values`` with its lesion fields replaced by ``rows``, numbered from 0."""
    out = {k: v for k, v in values.items() if not LESION_KEY.fullmatch(k)}
    for i, row in enumerate(rows):
        row = {"site": "", **row}  # a blank row stays a row
        out.update({f"bone_lesions.{i}.{f}": v for f, v in row.items() if f in LESION_FIELDS})
    return out


def _set(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def build_patient(form: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Patient JSON from form values (blank means not known, so omitted) and form-level errors.

    A checkbox group gives its ticked codes; its "none" box alone gives an empty list (known to
    be none); neither gives nothing (not known).
    """
    data: dict[str, Any] = {"schema_version": "1"}
    errors: list[dict[str, str]] = []

    def get(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    for path, spec in FORM_FIELDS.items():
        if spec.kind == "quantity":
            value, unit = get(f"{path}.value"), get(f"{path}.unit")
            if value:
                try:
                    _set(data, path, {"value": float(value), "unit": unit})
                except ValueError:
                    errors.append({"field": path, "message": f"{value!r} is not a number"})
        elif spec.kind == "codes":
            picked = form.get(path) or []
            picked = [str(v) for v in ([picked] if isinstance(picked, str) else picked) if v]
            if get(f"{path}.none") == "true" and picked:
                errors.append(
                    {
                        "field": path,
                        "message": f"{path}: tick 'none' or the items ({', '.join(picked)}), "
                        "not both",
                    }
                )
            elif get(f"{path}.none") == "true":
                _set(data, path, [])
            elif picked:
                _set(data, path, picked)
        elif raw := get(path):
            if spec.kind == "flag" and raw not in ("true", "false"):
                errors.append({"field": path, "message": f"{raw!r} is not yes or no"})
            elif spec.kind == "flag":
                _set(data, path, raw == "true")
            elif spec.kind == "integer" and raw.lstrip("-").isdigit():
                _set(data, path, int(raw))
            else:  # text, date, a code, or a malformed integer: the validator has its say
                _set(data, path, raw)
    lesions = []
    for _, row in lesion_rows(form):
        lesion: dict[str, Any] = {}
        for name in LESION_FIELDS:
            raw = row.get(name, "")
            if raw and name in LESION_FLAGS and raw in ("true", "false"):
                lesion[name] = raw == "true"
            elif raw:
                lesion[name] = raw
        lesions.append(lesion)
    if lesions:
        data["bone_lesions"] = lesions
    return data, errors


def check_form(form: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    data, errors = build_patient(form)
    if not errors:
        try:
            validate_patient(data, prefix="")
        except InvalidInput as exc:
            errors = exc.errors
    return data, errors


TOP_SLOTS = (*FORM_FIELDS, "bone_lesions")
_INDEX = re.compile(r"\[(\d+)\]")


def place_errors(
    errors: list[dict[str, str]], values: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Each validator error with the form field it belongs beside (its *slot*).

    Returns the errors for the summary (field, message, slot, target id of the control) and the
    messages by slot. A lesion's model-level message that names a field (``pain 'mild' is a
    limb value…``) goes beside that field; a patient-level one (``karnofsky 50 contradicts
    ecog 0``) beside the field it starts with; a message on a field the lesion's site does not
    show goes to the lesion as a whole; the rest stay in the summary only.
    """
    rows = lesion_rows(values)
    index_of = {str(k): str(i) for k, (i, _) in enumerate(rows)}  # validator → form index
    kinds = {str(i): site_kind(row.get("site")) for i, row in rows}
    slots = set(TOP_SLOTS)
    for i, _ in rows:
        slots |= {f"bone_lesions.{i}", *(f"bone_lesions.{i}.{f}" for f in LESION_FIELDS)}

    def form_path(path: str) -> str:
        dotted = _INDEX.sub(r".\1", path)
        if dotted.startswith("bone_lesions."):
            head, _, rest = dotted[len("bone_lesions.") :].partition(".")
            dotted = ".".join(p for p in ("bone_lesions", index_of.get(head, head), rest) if p)
        return dotted

    def visible(slot: str) -> str | None:
        match = LESION_KEY.fullmatch(slot)
        if match and match.group(2) not in shown_fields(kinds.get(match.group(1), "")):
            return f"bone_lesions.{match.group(1)}"
        return slot if slot in slots else None

    def slot_of(field: str, message: str) -> str | None:
        path = form_path(field)
        word = form_path(message.split(" ", 1)[0].rstrip(":,"))
        candidates = [f"{path}.{word}", path, path.removesuffix(".value").removesuffix(".unit")]
        candidates += [word, path.rpartition(".")[0]]
        return next((visible(c) for c in candidates if c in slots), None)

    placed: list[dict[str, Any]] = []
    by_slot: dict[str, list[str]] = {}
    for error in errors:
        slot = slot_of(error["field"], error["message"])
        target = None
        if slot is not None:
            by_slot.setdefault(slot, []).append(error["message"])
            match = LESION_KEY.fullmatch(slot)
            target = f"f-{slot}"
            if match and match.group(2) == "pain":
                target = f"f-{slot}-{kinds.get(match.group(1), '')}"
        field = error["field"]
        if field.startswith("bone_lesions["):  # the validator's path, numbered as in the form
            field = _INDEX.sub(lambda m: f"[{index_of.get(m.group(1), m.group(1))}]", field, 1)
        named = re.sub(r"^bone_lesions\.(\d+)", r"bone_lesions[\1]", slot or "")
        if named and (field == "(patient)" or named.startswith(field)):
            field = named  # a patient- or lesion-level message shown by the field it names
        placed.append({"field": field, "message": error["message"], "slot": slot, "target": target})
    return placed, by_slot


def field_label(path: str, lang: str) -> str:
    """The label of a Patient JSON field on the form (``labs.bilirubin`` → "Total bilirubin")."""
    return text("patient_id" if path == "id" else path, lang)


def site_label(site: str, lang: str) -> str:
    if site in VERTEBRAE:
        return site
    if site == "sacrum":
        return text("sacrum_unlevelled", lang)
    return t(f"code.site.{site}", lang)


def form_context(
    request: Request,
    values: dict[str, Any],
    errors: list[dict[str, str]] | None = None,
    *,
    blank_row: bool = True,
) -> dict[str, Any]:
    """What the patient form template needs: values, lesion rows, errors by field, choices."""
    lang = lang_of(request)
    rows = [row for _, row in lesion_rows(values, keep_blank=True)]
    if not rows and blank_row:
        rows = [{}]
    values = with_lesions(dict(values), rows)
    placed, by_slot = place_errors(errors or [], values)

    def filled(path: str) -> bool:
        given = values.get(f"{path}.value" if FORM_FIELDS[path].kind == "quantity" else path)
        return bool(given) or bool(values.get(f"{path}.none")) or path in by_slot

    return {
        "values": values,
        "lesions": rows,
        "errors": placed,
        "field_errors": by_slot,
        "sections": SECTIONS,
        "fields": FORM_FIELDS,
        "open_more": {key: any(map(filled, more)) for key, _, more in SECTIONS},
        "none_box_only_when_set": NONE_BOX_ONLY_WHEN_SET,
        "field_label": lambda path: field_label(path, lang),
        "unit_label": lambda unit: text(f"unit.{unit}", lang) if f"unit.{unit}" in TEXT else unit,
        "site_regions": SITE_REGIONS,
        "site_kind": site_kind,
        "site_label": lambda site: site_label(site, lang),
        "lesion_choices": LESION_CHOICES,
        "modality_label": lambda m: t(f"code.modality.{m}", lang),
        "option_label": lambda field: lambda code: text(f"choice.{field}.{code}", lang),
    }


def form_edit(form: Any, values: dict[str, Any]) -> dict[str, Any] | None:
    """The form after one of its own buttons (add or remove a lesion, show the fields of the
    chosen sites) was pressed without JavaScript; None for a plain save."""
    rows = lesion_rows(values, keep_blank=True)
    action = str(form.get("form_action") or "")
    remove = str(form.get("remove_lesion") or "")
    if action == "add_lesion":
        return with_lesions(values, [row for _, row in rows] + [{}])
    if remove.isdigit():
        return with_lesions(values, [row for i, row in rows if str(i) != remove])
    if action == "refresh":
        return with_lesions(values, [row for _, row in rows])
    return None


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
        record=None,
        **form_context(request, {"schema_version": "1"}),
    )


@router.post("/patients/validate", response_class=HTMLResponse)
async def validate_form(request: Request, who: Principal = Depends(form_csrf)) -> HTMLResponse:
    """htmx: the same validation as saving, returned as a list of field messages."""
    form = await request.form()
    values = form_values(form)
    _, errors = check_form(values)
    placed, _ = place_errors(errors, values)
    return render(request, "_form_errors.html.j2", who, errors=placed, checked=True)


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
    values = form_values(form)
    record: PatientRecord | None = None
    if patient_id is not None:
        found = _web_record(request, db, who, patient_id, action="U", subtype="update")
        if isinstance(found, HTMLResponse):
            return found
        record = found
    edited = form_edit(form, values)
    if edited is not None:  # a lesion added or removed without JavaScript: nothing saved yet
        return render(
            request,
            "patient_form.html.j2",
            who,
            record=record,
            **form_context(request, edited, blank_row=False),
        )
    data, errors = check_form(values)
    if errors:
        db.rollback()  # end the record's read transaction: SQLite would lock the audit write
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
            record=record,
            **form_context(request, values, errors),
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
        record=record,
        **form_context(request, values),
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
