"""``hccbm spectra``: serum peptide MALDI-TOF pipeline (process, features, train, predict, plot).

Thin layer: parse options, call :mod:`hccbm.spectra`, format. Bad input exits with code 2 and a
message naming the file/field/value and what is allowed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from hccbm.spectra.features import FeatureParams, build_features, read_feature_csv
from hccbm.spectra.io import (
    SpectraBatch,
    SpectraInputError,
    apply_manifest,
    expand_inputs,
    read_file,
    read_manifest,
    to_batch,
)
from hccbm.spectra.markers import (
    HE2014_MARKERS,
    coverage,
    markers_with_directions,
    overlapping_markers,
)
from hccbm.spectra.pipeline import (
    PipelineParams,
    ProcessedSpectra,
    load_processed,
    process,
    save_processed,
)

app = typer.Typer(
    help="Serum peptide MALDI-TOF spectra: process, features, train, predict, plot.",
    no_args_is_help=True,
)
err = Console(stderr=True)
out = Console()


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except (SpectraInputError, ValueError) as exc:
        raise _fail(str(exc)) from exc


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def _read_inputs(
    inputs: list[Path],
    manifest: Path | None,
    patient_column: str,
    group_column: str,
    replicate_column: str,
    progress: Progress,
) -> SpectraBatch:
    files = expand_inputs(inputs, [manifest] if manifest is not None else [])
    task: TaskID = progress.add_task("reading", total=len(files))
    spectra = []
    for f in files:
        spectra.extend(read_file(f))
        progress.advance(task)
    if manifest is not None:
        rows = read_manifest(
            manifest,
            patient_column=patient_column,
            group_column=group_column,
            replicate_column=replicate_column,
        )
        spectra = apply_manifest(spectra, rows, str(manifest))
    return to_batch(spectra)


def _run_pipeline(
    batch: SpectraBatch, params: PipelineParams, progress: Progress
) -> ProcessedSpectra:
    tasks: dict[str, TaskID] = {}

    def cb(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done)

    return process(batch, params, progress=cb)


def _check_suffix(path: Path, allowed: tuple[str, ...], option: str) -> None:
    if path.suffix.lower() not in allowed:
        raise _fail(
            f"{option} {path}: file type '{path.suffix}' not allowed; use {', '.join(allowed)}"
        )


ManifestOpt = Annotated[
    Path | None, typer.Option(help="CSV with key_index and/or file, patient_id, replicate, group.")
]
PatientCol = Annotated[str, typer.Option(help="Manifest column holding the patient id.")]
GroupCol = Annotated[str, typer.Option(help="Manifest column holding the group label.")]
ReplicateCol = Annotated[str, typer.Option(help="Manifest column holding the replicate id.")]


@app.command("process")
def process_cmd(
    inputs: Annotated[
        list[Path], typer.Argument(help="Spectra files (mzML, mzXML, CSV/TXT, npz) or folders.")
    ],
    out_file: Annotated[
        Path, typer.Option("--out", help="Output .npz (processed spectra, peaks, parameters).")
    ],
    manifest: ManifestOpt = None,
    patient_column: PatientCol = "patient_id",
    group_column: GroupCol = "group",
    replicate_column: ReplicateCol = "replicate",
    mass_min: Annotated[float | None, typer.Option(help="trim: lower m/z (default keep).")] = None,
    mass_max: Annotated[float | None, typer.Option(help="trim: upper m/z (default keep).")] = None,
    transform: Annotated[
        str, typer.Option(help="sqrt|log|log2|log10|none (MALDIquant: sqrt).")
    ] = "sqrt",
    smoothing: Annotated[
        str, typer.Option(help="SavitzkyGolay|MovingAverage|none.")
    ] = "SavitzkyGolay",
    smoothing_half_window: Annotated[
        int, typer.Option(help="halfWindowSize (MALDIquant: 10).")
    ] = 10,
    polynomial_order: Annotated[int, typer.Option(help="SG polynomialOrder (3).")] = 3,
    baseline: Annotated[str, typer.Option(help="SNIP|TopHat|median|none.")] = "SNIP",
    snip_iterations: Annotated[
        int, typer.Option(help="SNIP iterations (100; vignette 150).")
    ] = 100,
    snip_decreasing: Annotated[bool, typer.Option(help="SNIP decreasing window (TRUE).")] = True,
    baseline_half_window: Annotated[
        int, typer.Option(help="TopHat/median halfWindowSize (100).")
    ] = 100,
    normalisation: Annotated[str, typer.Option(help="TIC|PQN|median|none.")] = "TIC",
    align: Annotated[bool, typer.Option(help="alignSpectra on/off.")] = True,
    align_half_window: Annotated[int, typer.Option(help="alignSpectra halfWindowSize (20).")] = 20,
    align_snr: Annotated[float, typer.Option(help="alignSpectra SNR (2).")] = 2.0,
    align_tolerance: Annotated[
        float, typer.Option(help="alignSpectra relative tolerance (0.002).")
    ] = 0.002,
    warping: Annotated[str, typer.Option(help="lowess|linear|quadratic|cubic.")] = "lowess",
    reference_min_frequency: Annotated[
        float, typer.Option(help="referencePeaks minFrequency (0.9).")
    ] = 0.9,
    allow_no_matches: Annotated[
        bool, typer.Option(help="Leave spectra without matches unwarped.")
    ] = False,
    average_replicates: Annotated[
        bool, typer.Option(help="averageMassSpectra by patient_id.")
    ] = False,
    peak_half_window: Annotated[int, typer.Option(help="detectPeaks halfWindowSize (20).")] = 20,
    snr: Annotated[float, typer.Option(help="detectPeaks SNR (2).")] = 2.0,
    dtype: Annotated[str, typer.Option(help="float64|float32 working precision.")] = "float64",
) -> None:
    """Read spectra, run the MALDIquant-style pipeline, detect peaks, save an .npz."""
    _check_suffix(out_file, (".npz",), "--out")
    params = PipelineParams(
        mass_min=mass_min,
        mass_max=mass_max,
        transform=transform,
        smoothing=smoothing,
        smoothing_half_window=smoothing_half_window,
        polynomial_order=polynomial_order,
        baseline=baseline,
        snip_iterations=snip_iterations,
        snip_decreasing=snip_decreasing,
        baseline_half_window=baseline_half_window,
        normalisation=normalisation,
        align=align,
        align_half_window=align_half_window,
        align_snr=align_snr,
        align_tolerance=align_tolerance,
        warping=warping,
        reference_min_frequency=reference_min_frequency,
        allow_no_matches=allow_no_matches,
        average_replicates=average_replicates,
        peak_half_window=peak_half_window,
        snr=snr,
        dtype=dtype,
    )
    with _errors():
        params.validate()
        with _progress() as progress:
            batch = _read_inputs(
                inputs, manifest, patient_column, group_column, replicate_column, progress
            )
            proc = _run_pipeline(batch, params, progress)
        save_processed(str(out_file), proc)
    counts = proc.peaks.counts()
    out.print(
        f"{len(batch)} spectra → {len(proc.batch)} processed; {proc.batch.mass.size} points, "
        f"m/z {proc.batch.mass[0]:.1f}–{proc.batch.mass[-1]:.1f}"
        f"{' (resampled to a common grid)' if batch.resampled else ''}"
    )
    out.print(
        f"peaks per spectrum: {int(counts.min())}–{int(counts.max())} "
        f"(median {float(np.median(counts)):g}); reference peaks for alignment: "
        f"{proc.reference_peaks.size}"
    )
    if not coverage(proc.batch.mass):
        out.print("[yellow]warning:[/yellow] the m/z range does not cover all He 2014 markers")
    out.print(f"wrote {out_file}")


@app.command("features")
def features_cmd(
    processed: Annotated[Path, typer.Argument(help="Output of 'spectra process' (.npz).")],
    out_file: Annotated[
        Path, typer.Option("--out", help="Feature table (.csv); parameters in <out>.json.")
    ],
    bin_method: Annotated[str, typer.Option(help="binPeaks method: strict|relaxed.")] = "strict",
    bin_tolerance: Annotated[
        float, typer.Option(help="binPeaks relative tolerance (0.002).")
    ] = 0.002,
    min_frequency: Annotated[
        float, typer.Option(help="filterPeaks minFrequency per group (0.5).")
    ] = 0.5,
    marker_tolerance: Annotated[
        float, typer.Option(help="He 2014 marker window, relative (0.002).")
    ] = 0.002,
    markers_only: Annotated[bool, typer.Option(help="Only the He 2014 marker features.")] = False,
    direction: Annotated[
        list[str] | None,
        typer.Option(help="Override a marker direction: NAME=up|down|unverified (repeatable)."),
    ] = None,
) -> None:
    """Bin/filter peaks, build the intensity matrix and He 2014 marker features."""
    _check_suffix(out_file, (".csv",), "--out")
    with _errors():
        directions = {}
        for item in direction or []:
            if "=" not in item:
                raise ValueError(f"--direction {item!r}: expected NAME=up|down|unverified")
            k, v = item.split("=", 1)
            directions[k.strip()] = v.strip()
        markers = markers_with_directions(directions)
        proc = load_processed(str(processed))
        fp = FeatureParams(
            bin_method=bin_method,
            bin_tolerance=bin_tolerance,
            min_frequency=min_frequency,
            marker_tolerance=marker_tolerance,
            include_bins=not markers_only,
        )
        table = build_features(proc, fp, markers)
        side = table.write_csv(out_file)
    n_bins = sum(c.startswith("bin_") for c in table.columns)
    out.print(
        f"{table.X.shape[0]} rows × {table.X.shape[1]} features ({n_bins} peak bins, "
        f"{len(markers)} He 2014 markers); wrote {out_file} and {side}"
    )
    for a, b in overlapping_markers(marker_tolerance, markers):
        out.print(
            f"[yellow]note:[/yellow] marker windows of {a} and {b} overlap at tolerance "
            f"{marker_tolerance:g}; their features are confounded"
        )


@app.command("train")
def train_cmd(
    features: Annotated[Path, typer.Argument(help="Feature table from 'spectra features' (.csv).")],
    out_file: Annotated[Path, typer.Option("--out", help="Model file (.pkl).")],
    positive: Annotated[
        str, typer.Option(help="Group label treated as positive (e.g. bone_metastasis).")
    ],
    model: Annotated[str, typer.Option(help="logistic|random_forest|svm.")] = "logistic",
    folds: Annotated[int, typer.Option(help="Patient-grouped stratified folds.")] = 5,
    repeats: Annotated[int, typer.Option(help="CV repeats.")] = 10,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    threshold: Annotated[
        float, typer.Option(help="Probability threshold for the confusion matrix.")
    ] = 0.5,
    markers_only: Annotated[bool, typer.Option(help="Use only marker_* columns.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write the CV report as JSON here.")] = None,
) -> None:
    """Cross-validate (replicates never straddle folds), fit on all data, save the model."""
    _check_suffix(out_file, (".pkl",), "--out")
    from hccbm.spectra.classify import MODELS, train  # scikit-learn loads only when needed

    if model not in MODELS:
        raise _fail(f"--model {model!r} not allowed; choose one of {', '.join(MODELS)}")
    with _errors():
        table = read_feature_csv(features)
        cols = list(range(len(table.columns)))
        if markers_only:
            cols = [i for i, c in enumerate(table.columns) if c.startswith("marker_")]
            if not cols:
                raise ValueError(f"{features}: no marker_* columns")
        X = table.X[:, cols]
        if any(not g for g in table.group):
            raise ValueError(
                f"{features}: some rows have an empty 'group'; a manifest with groups is needed"
            )
        with _progress() as progress:
            t = progress.add_task("cross-validating", total=None)
            trained = train(
                X,
                table.group,
                table.patient_id,
                positive,
                [table.columns[i] for i in cols],
                [table.column_mz[i] for i in cols],
                model=model,
                params=table.params,
                folds=folds,
                repeats=repeats,
                seed=seed,
                threshold=threshold,
            )
            progress.update(t, total=1, completed=1)
        trained.save(out_file)
    r = trained.report
    out.print(
        f"{r['model']}: {r['n_samples']} spectra from {r['n_patients']} patients, "
        f"{r['folds']}-fold × {r['repeats']} patient-grouped CV"
    )
    out.print(
        f"AUC {r['auc']:.3f} (95% CI {r['auc_ci'][0]:.3f}–{r['auc_ci'][1]:.3f}, "
        "patient bootstrap); "
        f"Brier {r['brier']:.3f}"
    )
    c = r["confusion"]
    out.print(
        f"confusion at {r['threshold']:g}: TP {c['tp']} FN {c['fn']} / FP {c['fp']} TN {c['tn']}"
    )
    for cal in r["calibration"]:
        out.print(
            f"  calibration {cal['bin_low']:.1f}–{cal['bin_high']:.1f}: predicted "
            f"{cal['mean_predicted']:.2f}, observed {cal['observed_fraction']:.2f} (n={cal['n']})"
        )
    for note in r["notes"]:
        out.print(f"[yellow]note:[/yellow] {note}")
    if report is not None:
        report.write_text(json.dumps(r, indent=2), encoding="utf-8")
    out.print(f"wrote {out_file}")


@app.command("predict")
def predict_cmd(
    model_file: Annotated[Path, typer.Argument(help="Model from 'spectra train' (.pkl).")],
    inputs: Annotated[
        list[Path], typer.Argument(help="Raw spectra files/folders, or one processed .npz.")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="Predictions (.csv).")],
    manifest: ManifestOpt = None,
    patient_column: PatientCol = "patient_id",
    group_column: GroupCol = "group",
    replicate_column: ReplicateCol = "replicate",
) -> None:
    """Process new spectra with the model's parameters; predict the positive-class probability."""
    _check_suffix(out_file, (".csv",), "--out")
    with _errors():
        from hccbm.spectra.classify import TrainedModel

        trained = TrainedModel.load(model_file)
        proc = _processed_or_raw(
            inputs,
            manifest,
            patient_column,
            group_column,
            replicate_column,
            PipelineParams.from_dict(trained.params.get("pipeline_params", {})),
        )
        fp = FeatureParams(**trained.params.get("feature_params", {}))
        bins = np.array(
            [
                mz
                for c, mz in zip(trained.columns, trained.column_mz, strict=True)
                if c.startswith("bin_")
            ]
        )
        markers = HE2014_MARKERS
        fp.include_bins = bins.size > 0
        fp.include_markers = any(c.startswith("marker_") for c in trained.columns)
        table = build_features(proc, fp, markers, bin_masses=bins)
        idx = [table.columns.index(c) if c in table.columns else -1 for c in trained.columns]
        if min(idx) < 0:
            missing = [c for c, i in zip(trained.columns, idx, strict=True) if i < 0]
            raise ValueError(f"features {missing[:3]} expected by the model could not be built")
        prob = trained.predict_proba(table.X[:, idx])
    with out_file.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["sample_id", "patient_id", "group", f"p_{trained.positive_label}", "predicted"])
        thr = float(trained.report.get("threshold", 0.5))
        for i, p in enumerate(prob):
            w.writerow(
                [
                    table.sample_id[i],
                    table.patient_id[i],
                    table.group[i],
                    f"{p:.4f}",
                    trained.positive_label if p >= thr else trained.negative_label,
                ]
            )
    out.print(f"predicted {prob.size} spectra; wrote {out_file}")


def _processed_or_raw(
    inputs: list[Path],
    manifest: Path | None,
    patient_column: str,
    group_column: str,
    replicate_column: str,
    params: PipelineParams,
) -> ProcessedSpectra:
    if len(inputs) == 1 and inputs[0].suffix.lower() == ".npz" and inputs[0].is_file():
        with np.load(inputs[0], allow_pickle=False) as d:
            is_processed = "params_json" in d.files
        if is_processed:
            return load_processed(str(inputs[0]))
    with _progress() as progress:
        batch = _read_inputs(
            inputs, manifest, patient_column, group_column, replicate_column, progress
        )
        return _run_pipeline(batch, params, progress)


@app.command("plot")
def plot_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="Raw spectra files or folders.")],
    out_file: Annotated[Path, typer.Option("--out", help="Figure (.png, .pdf or .svg).")],
    manifest: ManifestOpt = None,
    patient_column: PatientCol = "patient_id",
    group_column: GroupCol = "group",
    replicate_column: ReplicateCol = "replicate",
    sample: Annotated[
        int, typer.Option(help="Row (0-based, after the manifest) shown raw vs processed.")
    ] = 0,
    zoom_min: Annotated[float, typer.Option(help="Zoom window lower m/z.")] = 1400.0,
    zoom_max: Annotated[float, typer.Option(help="Zoom window upper m/z.")] = 3000.0,
    params_from: Annotated[
        Path | None, typer.Option(help="Reuse the parameters of a processed .npz.")
    ] = None,
) -> None:
    """Raw vs processed spectrum with He 2014 marker windows, and mean spectra by group."""
    _check_suffix(out_file, (".png", ".pdf", ".svg"), "--out")
    from hccbm.spectra.plot import plot_spectra

    with _errors():
        params = load_processed(str(params_from)).params if params_from else PipelineParams()
        with _progress() as progress:
            batch = _read_inputs(
                inputs, manifest, patient_column, group_column, replicate_column, progress
            )
            if params.average_replicates:
                params.average_replicates = False
            proc = _run_pipeline(batch, params, progress)
        if not 0 <= sample < len(batch):
            raise ValueError(f"--sample {sample} out of range; allowed 0–{len(batch) - 1}")
        if zoom_min >= zoom_max:
            raise ValueError(f"--zoom-min {zoom_min} must be < --zoom-max {zoom_max}")
        plot_spectra(
            out_file,
            batch.mass,
            batch.intensity[sample],
            proc.batch.mass,
            proc.batch.intensity,
            proc.batch.group,
            proc.peaks,
            sample,
            batch.sample_id[sample],
            (zoom_min, zoom_max),
        )
    out.print(f"wrote {out_file}")
