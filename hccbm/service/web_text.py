"""Words of the web pages' chrome (navigation, buttons, form labels) in English and Chinese.

Clinical content never comes from here: the disclaimer, recommendations and report text come
from the assessment layer and :mod:`hccbm.i18n`.
"""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "app": {
        "en": "hccbm — HCC bone metastasis decision support",
        "zh": "hccbm — 肝细胞癌骨转移决策支持",
    },
    "patients": {"en": "Patients", "zh": "患者"},
    "evidence": {"en": "Evidence", "zh": "证据"},
    "sign_in": {"en": "Sign in", "zh": "登录"},
    "sign_out": {"en": "Sign out", "zh": "退出"},
    "username": {"en": "User name", "zh": "用户名"},
    "password": {"en": "Password", "zh": "密码"},
    "bad_login": {"en": "Wrong user name or password.", "zh": "用户名或密码错误。"},
    "too_many": {
        "en": "Too many failed sign-ins; wait a few minutes.",
        "zh": "登录失败次数过多，请稍后再试。",
    },
    "expired_form": {"en": "The form expired; please try again.", "zh": "表单已过期，请重试。"},
    "search": {"en": "Search", "zh": "搜索"},
    "search_patients": {"en": "Search by name, MRN or id", "zh": "按姓名、病历号或编号搜索"},
    "new_patient": {"en": "New patient", "zh": "新建患者"},
    "edit": {"en": "Edit", "zh": "编辑"},
    "delete": {"en": "Delete", "zh": "删除"},
    "save": {"en": "Save", "zh": "保存"},
    "check": {"en": "Check", "zh": "检查"},
    "name": {"en": "Name", "zh": "姓名"},
    "mrn": {"en": "MRN", "zh": "病历号"},
    "notes": {"en": "Notes", "zh": "备注"},
    "patient_id": {"en": "Patient id", "zh": "患者编号"},
    "version": {"en": "Version", "zh": "版本"},
    "updated": {"en": "Updated", "zh": "更新时间"},
    "none_found": {"en": "No patients found.", "zh": "未找到患者。"},
    "identifiers": {
        "en": "Identifiers (kept outside Patient JSON)",
        "zh": "身份信息（不写入患者 JSON）",
    },
    "clinical": {"en": "Clinical data (Patient JSON v1)", "zh": "临床数据（患者 JSON v1）"},
    "labs": {"en": "Laboratory", "zh": "实验室检查"},
    "hcc": {"en": "Liver tumour", "zh": "肝脏肿瘤"},
    "symptoms": {"en": "Symptoms", "zh": "症状"},
    "lesions": {
        "en": "Bone lesions (JSON list, Patient JSON v1)",
        "zh": "骨病灶（JSON 列表，患者 JSON v1）",
    },
    "unknown": {"en": "not known", "zh": "未知"},
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    "problems": {"en": "Please correct these fields", "zh": "请修正以下字段"},
    "all_valid": {"en": "All fields are valid.", "zh": "所有字段有效。"},
    "versions": {"en": "Versions", "zh": "版本历史"},
    "assessments": {"en": "Assessments", "zh": "评估记录"},
    "assess_now": {"en": "Assess now", "zh": "立即评估"},
    "language": {"en": "Report language", "zh": "报告语言"},
    "as_of": {"en": "As of", "zh": "评估日期"},
    "urgent": {"en": "Urgent and soon", "zh": "紧急与尽快处理事项"},
    "no_urgent": {"en": "No emergency or soon items.", "zh": "无紧急或尽快处理事项。"},
    "full_report": {"en": "Full report", "zh": "完整报告"},
    "print_view": {"en": "Print view", "zh": "打印视图"},
    "back_to_patient": {"en": "Back to patient", "zh": "返回患者"},
    "graph": {"en": "Mechanism graph", "zh": "机制图"},
    "path": {"en": "Path between entities", "zh": "实体间路径"},
    "from": {"en": "From", "zh": "从"},
    "to": {"en": "To", "zh": "到"},
    "find": {"en": "Find", "zh": "查找"},
    "no_path": {"en": "No path found.", "zh": "未找到路径。"},
    "results": {"en": "Results", "zh": "结果"},
    "kind": {"en": "Kind", "zh": "类型"},
    "forbidden": {"en": "You may not see this record.", "zh": "您无权查看此记录。"},
    "not_found": {"en": "Not found.", "zh": "未找到。"},
    "confirm_delete": {
        "en": "Delete this patient? (kept in history)",
        "zh": "删除此患者？（历史记录保留）",
    },
    "sex": {"en": "Sex", "zh": "性别"},
    "age": {"en": "Age", "zh": "年龄"},
    "weight": {"en": "Weight", "zh": "体重"},
    "value": {"en": "value", "zh": "数值"},
    "unit": {"en": "unit", "zh": "单位"},
}


def text(key: str, lang: str) -> str:
    entry = TEXT.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["en"]
