"""Classifiers on the feature table with patient-level cross-validation (issue 8, item 4).

Replicates of one patient always fall in the same fold (``StratifiedGroupKFold`` with
groups = patient_id). Reported: out-of-fold ROC AUC with a patient-level bootstrap 95% CI,
calibration (Brier score, reliability bins), confusion matrix at a probability threshold.
"""

from __future__ import annotations

import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, confusion_matrix, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVC

from hccbm.spectra.io import SpectraInputError

MODELS = ("logistic", "random_forest", "svm")
MODEL_FORMAT = "hccbm-spectra-model/1"


def make_model(name: str = "logistic", seed: int = 0) -> Pipeline:
    """log1p-scaled, standardised features into logistic regression (L2), random forest or
    an RBF SVM with Platt probabilities."""
    if name == "logistic":
        clf: ClassifierMixin = LogisticRegression(C=1.0, max_iter=5000)
    elif name == "random_forest":
        clf = RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1)
    elif name == "svm":
        clf = SVC(kernel="rbf", probability=True, random_state=seed)
    else:
        raise ValueError(f"model {name!r} is not allowed; choose one of {', '.join(MODELS)}")
    # intensities are TIC-normalised (≈1e-4); scale up before log1p so it is not ~linear
    return make_pipeline(
        FunctionTransformer(_log_scale, feature_names_out="one-to-one"), StandardScaler(), clf
    )


def _log_scale(X: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.log1p(np.clip(X, 0, None) * 1e4)


@dataclass
class CVReport:
    """Cross-validation summary (out-of-fold, pooled over repeats)."""

    model: str
    n_samples: int
    n_patients: int
    positive_label: str
    folds: int
    repeats: int
    auc: float
    auc_ci: tuple[float, float]
    fold_aucs: list[float]
    brier: float
    calibration: list[dict[str, float]]
    threshold: float
    confusion: dict[str, int]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return asdict(self)


def _check_xy(X: NDArray[np.float64], y: list[str], patients: list[str], positive: str) -> None:
    if X.ndim != 2 or X.shape[0] != len(y) or len(y) != len(patients):
        raise SpectraInputError(
            f"feature matrix {X.shape} does not match {len(y)} labels / {len(patients)} patients"
        )
    if not np.all(np.isfinite(X)):
        raise SpectraInputError("feature matrix holds NaN or infinite values")
    labels = sorted(set(y))
    if len(labels) != 2:
        raise SpectraInputError(f"need exactly two groups to train, found {labels}")
    if positive not in labels:
        raise SpectraInputError(f"positive label {positive!r} not among groups {labels}")
    for pid in set(patients):
        gs = {y[i] for i in range(len(y)) if patients[i] == pid}
        if len(gs) > 1:
            raise SpectraInputError(f"patient {pid!r} has spectra in both groups {sorted(gs)}")


def cross_validate(
    X: NDArray[np.float64],
    y: list[str],
    patients: list[str],
    positive: str,
    model: str = "logistic",
    folds: int = 5,
    repeats: int = 10,
    seed: int = 0,
    threshold: float = 0.5,
    n_bootstrap: int = 2000,
    n_calibration_bins: int = 5,
) -> tuple[CVReport, NDArray[np.float64]]:
    """Repeated patient-grouped stratified k-fold CV. Returns the report and the mean
    out-of-fold probability per sample."""
    _check_xy(X, y, patients, positive)
    yb = np.array([lab == positive for lab in y], dtype=int)
    pats = np.asarray(patients)
    upats, pidx = np.unique(pats, return_inverse=True)
    pat_label = np.zeros(upats.size, dtype=int)
    pat_label[pidx] = yb
    min_class = int(min(pat_label.sum(), (1 - pat_label).sum()))
    notes = []
    k = min(folds, min_class)
    if k < 2:
        raise SpectraInputError(
            "need at least 2 patients per group for cross-validation, smallest group has "
            f"{min_class}"
        )
    if k < folds:
        notes.append(f"folds reduced from {folds} to {k} (patients in smallest group)")
    rng = np.random.default_rng(seed)
    oof = np.zeros((repeats, yb.size))
    fold_aucs: list[float] = []
    for r in range(repeats):
        cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=int(rng.integers(2**31)))
        for tr, te in cv.split(X, yb, groups=pats):
            assert not set(pats[tr]) & set(pats[te])  # replicates never straddle folds
            if np.unique(yb[tr]).size < 2:
                oof[r, te] = yb[tr].mean()
                continue
            est = make_model(model, seed + r).fit(X[tr], yb[tr])
            oof[r, te] = est.predict_proba(X[te])[:, 1]
            if np.unique(yb[te]).size == 2:
                fold_aucs.append(float(roc_auc_score(yb[te], oof[r, te])))
    prob = oof.mean(axis=0)
    auc = float(roc_auc_score(yb, prob))
    # patient-level bootstrap of the pooled out-of-fold AUC
    boots = []
    for _ in range(n_bootstrap):
        pick = rng.integers(0, upats.size, upats.size)
        rows = np.concatenate([np.flatnonzero(pidx == p) for p in pick])
        if np.unique(yb[rows]).size == 2:
            boots.append(roc_auc_score(yb[rows], prob[rows]))
    ci = (
        (float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5)))
        if boots
        else (float("nan"), float("nan"))
    )
    edges = np.linspace(0, 1, n_calibration_bins + 1)
    cal = []
    which = np.clip(np.digitize(prob, edges[1:-1]), 0, n_calibration_bins - 1)
    for b in range(n_calibration_bins):
        sel = which == b
        if sel.any():
            cal.append(
                {
                    "bin_low": float(edges[b]),
                    "bin_high": float(edges[b + 1]),
                    "mean_predicted": float(prob[sel].mean()),
                    "observed_fraction": float(yb[sel].mean()),
                    "n": int(sel.sum()),
                }
            )
    pred = (prob >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(yb, pred, labels=[0, 1]).ravel()
    report = CVReport(
        model=model,
        n_samples=int(yb.size),
        n_patients=int(upats.size),
        positive_label=positive,
        folds=k,
        repeats=repeats,
        auc=auc,
        auc_ci=ci,
        fold_aucs=fold_aucs,
        brier=float(brier_score_loss(yb, prob)),
        calibration=cal,
        threshold=threshold,
        confusion={"tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn)},
        notes=notes,
    )
    return report, prob


@dataclass
class TrainedModel:
    """A fitted classifier with what is needed to featurise new spectra the same way."""

    estimator: Pipeline
    columns: list[str]
    column_mz: list[float]
    positive_label: str
    negative_label: str
    model: str
    params: dict[str, Any]
    report: dict[str, Any]
    format: str = MODEL_FORMAT

    def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Probability of the positive label."""
        if X.shape[1] != len(self.columns):
            raise SpectraInputError(
                f"feature matrix has {X.shape[1]} columns, model expects {len(self.columns)}"
            )
        return np.asarray(self.estimator.predict_proba(X)[:, 1], dtype=np.float64)

    def save(self, path: str | Path) -> None:
        """Pickle to ``path`` (load only files you trust)."""
        with Path(path).open("wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def load(path: str | Path) -> TrainedModel:
        """Inverse of :meth:`save`, with a format check."""
        try:
            with Path(path).open("rb") as fh:
                obj = pickle.load(fh)
        except Exception as exc:
            raise SpectraInputError(f"{path}: cannot read model ({exc})") from exc
        if not isinstance(obj, TrainedModel) or obj.format != MODEL_FORMAT:
            raise SpectraInputError(f"{path}: not an hccbm spectra model ({MODEL_FORMAT})")
        return obj


def train(
    X: NDArray[np.float64],
    y: list[str],
    patients: list[str],
    positive: str,
    columns: list[str],
    column_mz: list[float],
    model: str = "logistic",
    params: dict[str, Any] | None = None,
    **cv_kwargs: Any,
) -> TrainedModel:
    """Cross-validate, then fit on all samples."""
    report, _ = cross_validate(X, y, patients, positive, model=model, **cv_kwargs)
    yb = np.array([lab == positive for lab in y], dtype=int)
    est = make_model(model, int(cv_kwargs.get("seed", 0))).fit(X, yb)
    negative = next(lab for lab in sorted(set(y)) if lab != positive)
    return TrainedModel(
        est,
        list(columns),
        list(column_mz),
        positive,
        negative,
        model,
        params or {},
        report.to_dict(),
    )
