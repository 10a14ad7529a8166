"""The few card labels that are interface text, not clinical content (en, zh).

Clinical text on cards comes only from the assessment (recommendation text, rationale, dose,
bone-metastasis status, missing data) and from ``hccbm.i18n`` labels (status, urgency, plan).
"""

from __future__ import annotations

from typing import Final

from hccbm.i18n import t

UI: Final[dict[str, dict[str, str]]] = {
    "en": {
        "report": "Full hccbm report",
        "propose": "Add as a draft proposal: {text}",
        "remove": "Remove the draft order {what}",
        "set_dose": "Set the dose of the draft order to {dose}",
        "service.patient-view": "HCC bone metastasis: status, urgent problems and missing work-up",
        "service.order-select": "HCC bone metastasis: advice on selected systemic therapy and "
        "bone-modifying agents",
        "service.order-sign": "HCC bone metastasis: check of systemic therapy and bone-modifying "
        "agent orders before signing",
    },
    "zh": {
        "report": "hccbm 完整报告",
        "propose": "添加为草稿建议：{text}",
        "remove": "删除草稿医嘱 {what}",
        "set_dose": "将草稿医嘱剂量改为 {dose}",
        "service.patient-view": "肝细胞癌骨转移：状态、紧急问题与待完成检查",
        "service.order-select": "肝细胞癌骨转移：所选全身治疗与骨改良药物的建议",
        "service.order-sign": "肝细胞癌骨转移：签署前核查全身治疗与骨改良药物医嘱",
    },
}

#: Between a label and the text it introduces.
COLON: Final = {"en": ": ", "zh": "："}


def ui(key: str, lang: str, **params: str) -> str:
    return UI[lang][key].format(**params)


def label(key: str, lang: str) -> str:
    """A label from the hccbm catalogue (``status.*``, ``label.*``)."""
    return t(key, lang)
