"""Cohort B: each subject's metrics, summed over the views of its one exam, against breast CT (calcified voxels and
calcium mass), R^2 beside the paper's (paper_results()["ct_comparison_r2"]).

The CT table is keyed by the pseudonymous ``subject_id`` (``ingest.linked.pseudonymise_subject_table`` re-keys a
table keyed by PatientID). On synthetic data the truth is known, so the metrics are also compared with the true
calcium mass of both breasts (what the CT measures, without its noise) and with the calcium inside each view's
field summed over the views (what the mammograms show, aggregated as the metrics are); the CT measures
themselves against the true mass bound what any mammographic metric can reach against the CT.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from bacseg.clinical import predicted_rows, regression, truth_by_exam
from bacseg.tables import markdown_table, paper_results

CT_MEASURES = {"ct_calcified_voxels": "calcified_voxels", "ct_calcium_mass_mg": "calcium_mass"}  # -> paper's keys
TRUE_MASS, VISIBLE_MASS = "true_breast_calcium_mass_mg", "true_calcium_mass_mg"
TRUTH_LABELS = {TRUE_MASS: "R² true breast calcium mass", VISIBLE_MASS: "R² true calcium in view, summed"}


def per_subject(metrics: pd.DataFrame, breast_ct: pd.DataFrame, truth: pd.DataFrame | None = None, *,
                names: Sequence[str]) -> pd.DataFrame:  # fmt: skip
    """One row per subject with a CT: ``n_images``, each metric summed over its predicted images, the CT measures,
    and with ``truth`` (per image_id) the true calcium mass of both breasts and the sum over views of the calcium
    within each view."""
    predicted = predicted_rows(metrics, names)
    exams = predicted.groupby("subject_id")["exam_date"].nunique()
    if (exams > 1).any():
        raise ValueError(f"cohort B compares one exam per subject with its CT; subjects with several exams: "
                         f"{', '.join(sorted(exams[exams > 1].index)[:10])}")
    missing = sorted({"subject_id", *CT_MEASURES} - set(breast_ct.columns))
    if missing:
        raise ValueError(f"breast-CT table lacks the columns {missing}")
    if breast_ct["subject_id"].duplicated().any():
        raise ValueError("breast-CT table has more than one row for a subject")
    sums = predicted.groupby("subject_id").agg(n_images=("image_id", "size"), **{n: (n, "sum") for n in names})
    table = sums.join(breast_ct.set_index("subject_id")[list(CT_MEASURES)], how="inner")
    if truth is not None:
        by_exam = truth_by_exam(predicted, truth, ["breast_calcium_mass_mg"]).droplevel("exam_date")
        table[TRUE_MASS] = by_exam["true_breast_calcium_mass_mg"]
        visible = predicted[["image_id", "subject_id"]].merge(truth[["image_id", "calcium_mass_mg"]], on="image_id")
        table[VISIBLE_MASS] = visible.groupby("subject_id")["calcium_mass_mg"].sum()
    return table.reset_index()


def ct_comparison(subjects: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """One row per metric: R^2 against each CT measure beside the paper's (``paper_r2_<measure>``), and against the
    true masses when ``subjects`` (``per_subject``) has them; then, with the truth, one row per CT measure
    against the true breast calcium mass."""
    paper = paper_results()["ct_comparison_r2"]
    truths = [column for column in (TRUE_MASS, VISIBLE_MASS) if column in subjects.columns]
    rows = []
    for name in names:
        row = {"measure": name, "kind": "mammogram", "n_subjects": int(subjects[name].notna().sum())}
        for ct, key in CT_MEASURES.items():
            row[f"r2_{ct}"] = regression(subjects[name], subjects[ct]).r2
            row[f"paper_r2_{ct}"] = paper[key].get(name, math.nan)
        rows.append(row | {f"r2_{column}": regression(subjects[name], subjects[column]).r2 for column in truths})
    if TRUE_MASS in subjects.columns:
        for ct in CT_MEASURES:
            rows.append({"measure": ct, "kind": "breast CT", "n_subjects": int(subjects[ct].notna().sum()),
                         f"r2_{TRUE_MASS}": regression(subjects[ct], subjects[TRUE_MASS]).r2})
    return pd.DataFrame(rows)


def _r2(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.3f}"


def ct_comparison_markdown(table: pd.DataFrame) -> str:
    """R^2 per metric against each CT measure (paper -> ours), and against the true masses when known."""
    truths = [column for column in (TRUE_MASS, VISIBLE_MASS) if f"r2_{column}" in table.columns]
    header = ["Measure", "n", "R² CT voxels (paper → ours)", "R² CT calcium mass (paper → ours)"]
    header += [TRUTH_LABELS[column] for column in truths]
    body = []
    for row in table.to_dict("records"):
        cells = [row["measure"], str(row["n_subjects"])]
        cells += [f"{_r2(row.get(f'paper_r2_{ct}'))} → {_r2(row.get(f'r2_{ct}'))}" if row["kind"] == "mammogram"
                  else "-" for ct in CT_MEASURES]  # fmt: skip
        body.append(cells + [_r2(row.get(f"r2_{column}")) for column in truths])
    return markdown_table(header, body)
