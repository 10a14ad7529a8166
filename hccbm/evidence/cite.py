"""Vancouver-style citations in English or Chinese."""

from __future__ import annotations

from typing import Literal

from hccbm.evidence.models import Reference

Lang = Literal["en", "zh"]

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "et_al": "et al.",
        "in": "In:",
        "editors": "editors",
        "editor": "editor",
        "available": "Available from:",
        "unverified": "[citation not verified]",
    },
    "zh": {
        "et_al": "等",
        "in": "见：",
        "editors": "主编",
        "editor": "主编",
        "available": "网址：",
        "unverified": "[文献信息未核实]",
    },
}
MAX_AUTHORS = 6  # Vancouver: list six, then "et al."


def _authors(ref: Reference, lang: Lang) -> str:
    """Up to six authors, then "et al." (GB/T 7714 keeps "et al." for non-Chinese works)."""
    names = ref.authors[:MAX_AUTHORS]
    more = ref.et_al or len(ref.authors) > MAX_AUTHORS
    if not names:
        return ""
    et_al = _WORDS["zh" if lang == "zh" and ref.language == "zh" else "en"]["et_al"]
    text = ", ".join(names)
    return f"{text}, {et_al}" if more else text + "."


def _title(ref: Reference, lang: Lang) -> str:
    if ref.title:
        return ref.title.rstrip(".")
    text = ref.description_zh if lang == "zh" and ref.description_zh else ref.description
    return f"[{(text or '').rstrip('.')}]"


def _source(ref: Reference) -> str:
    """Journal. Year;Volume(Issue):Pages — or the pieces present."""
    head = f"{ref.journal}. " if ref.journal else ""
    when = ref.date or (str(ref.year) if ref.year else "")
    vol = ref.volume or ""
    if ref.issue:
        vol += f"({ref.issue})"
    if ref.pages:
        vol += f":{ref.pages}"
    body = when + (f";{vol}" if vol else "")
    return (head + body).strip()


def format_reference(
    ref: Reference, lang: Lang = "en", section: str | None = None, *, flag_unverified: bool = True
) -> str:
    """One reference as a Vancouver citation; ``section`` cites a section of it (e.g. ``"2.4"``)."""
    if lang not in _WORDS:
        raise ValueError(f"unknown language {lang!r}; use 'en' or 'zh'")
    words = _WORDS[lang]
    parts: list[str] = []
    authors = _authors(ref, lang)
    if authors:
        parts.append(authors)
    parts.append(_title(ref, lang) + ".")
    if ref.kind == "book_chapter" and ref.book:
        eds = ", ".join(ref.editors)
        ed_word = words["editors"] if len(ref.editors) > 1 else words["editor"]
        sep = "" if lang == "zh" else " "
        book = (
            f"{words['in']}{sep}{eds}, {ed_word}. {ref.book}."
            if eds
            else f"{words['in']}{sep}{ref.book}."
        )
        parts.append(book)
        pub = "; ".join(x for x in (ref.publisher or "", str(ref.year or "")) if x)
        if pub:
            parts.append(pub + ".")
        if ref.pages:
            parts.append(f"p. {ref.pages}.")
    else:
        source = _source(ref)
        if source:
            parts.append(source + ".")
    if ref.doi:
        parts.append(f"doi:{ref.doi}.")
    if ref.pmid:
        parts.append(f"PMID: {ref.pmid}.")
    if ref.pmcid:
        parts.append(f"{ref.pmcid}.")
    if ref.url and not (ref.doi or ref.pmid):
        parts.append(f"{words['available']} {ref.url}")
    if section:
        parts.append(f"§{section}." if lang == "en" else f"第{section}节。")
    if flag_unverified and not ref.verified:
        parts.append(words["unverified"])
    return " ".join(parts)
