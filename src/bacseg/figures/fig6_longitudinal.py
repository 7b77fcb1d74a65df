"""Figure 6: the longitudinal cohort. Left, the area-normalised metric (the paper's final method: per view divided
by the breast area, then summed over the views) against the exam date for a few subjects; right, one subject's
mammograms of one view over the years, cropped to the breast, the predicted BAC (probability > cutoff) in green
and the exam date under each.

Only pseudonymous subject ids and exam dates are drawn. Images are reduced for drawing only (block mean for the
image, block maximum for the BAC mask so one-pixel calcifications stay visible).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bacseg.figures.panels import reduce_for_display, save_figure  # noqa: E402
from bacseg.io.png import read_mask_png, read_png  # noqa: E402
from bacseg.longitudinal import method_column  # noqa: E402
from bacseg.metrics.maps import read_probability_map  # noqa: E402

BAC_GREEN = (0.0, 1.0, 0.0)
EXAM_COLUMNS = ("image_id", "subject_id", "exam_date", "laterality", "view")


@dataclass(frozen=True)
class ExamPanel:
    """One exam's view ready to draw: the cropped, reduced 8-bit image, its BAC mask and the exam date."""

    exam_date: str
    image: np.ndarray
    bac: np.ndarray


def exam_dates(frame: pd.DataFrame, where: str) -> pd.Series:
    """``exam_date`` (ISO or YYYYMMDD) as datetimes; a missing or unreadable date is an error naming ``where``."""
    dates = pd.to_datetime(frame["exam_date"].astype(str), format="ISO8601", errors="coerce")
    if dates.isna().any():
        raise ValueError(f"{where}: exams without a readable date for {sorted(frame.loc[dates.isna(), 'subject_id'])}")
    return dates


def pick_subjects(longitudinal: pd.DataFrame, k: int) -> list[str]:
    """The ``k`` subjects with the most exams (ties by subject id)."""
    counts = longitudinal.groupby("subject_id")["exam_date"].nunique()
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [subject for subject, _ in ranked[:k]]


def subject_exams(images: pd.DataFrame, subject: str, view: str) -> pd.DataFrame:
    """The image of ``view`` (e.g. "LCC") in each of ``subject``'s exams, oldest first (exams without it skipped)."""
    missing = sorted(set(EXAM_COLUMNS) - set(images.columns))
    if missing:
        raise ValueError(f"image table lacks the columns {missing}")
    laterality, projection = view[:1], view[1:]
    chosen = images.loc[
        (images["subject_id"] == subject) & (images["laterality"] == laterality) & (images["view"] == projection),
        list(EXAM_COLUMNS),
    ].drop_duplicates("image_id")
    if chosen.empty:
        raise ValueError(f"subject {subject} has no {view} image")
    dates = exam_dates(chosen, "image table")
    chosen = chosen.assign(date=dates, exam_date=dates.dt.strftime("%Y-%m-%d")).sort_values(["date", "image_id"])
    return chosen.drop_duplicates("date")


def exam_panel(
    exam_date: str, image: np.ndarray, breast: np.ndarray, probability: np.ndarray, *, cutoff: float,
    max_side: int = 300,
) -> ExamPanel:
    """The image and its BAC (probability > cutoff) cropped to the breast mask's bounding box and reduced so the
    longer side is at most ``max_side`` px."""
    if not image.shape == breast.shape == probability.shape:
        raise ValueError(f"exam {exam_date}: image {image.shape}, breast mask {breast.shape} and probability map "
                         f"{probability.shape} differ in shape")
    rows, cols = np.flatnonzero(breast.any(axis=1)), np.flatnonzero(breast.any(axis=0))
    if rows.size == 0:
        raise ValueError(f"exam {exam_date}: the breast mask is empty")
    window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    factor = max(1, math.ceil(max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) / max_side))
    bac = reduce_for_display(probability[window] > cutoff, factor, "max") > 0
    return ExamPanel(exam_date, reduce_for_display(image[window], factor, "mean"), bac)


def overlay(panel: ExamPanel) -> np.ndarray:
    """RGB in [0, 1]: the grey image with the BAC pixels green."""
    rgb = np.repeat((panel.image / 255.0)[..., None], 3, axis=2)
    rgb[panel.bac] = BAC_GREEN
    return rgb


def figure6(
    longitudinal: pd.DataFrame,
    panels: Sequence[ExamPanel],
    *,
    subjects: Sequence[str],
    shown_subject: str,
    metric: str = "TAM_100",
    columns: int = 6,
) -> plt.Figure:
    """Left: ``metric`` per breast area summed over the views, from bacseg.longitudinal.per_exam's table, over
    time for ``subjects``; right: the ``panels`` of ``shown_subject``, ``columns`` to a row."""
    value = method_column(metric, "per_area_sum")
    if not panels:
        raise ValueError("no exam to draw")
    missing = sorted({"subject_id", "exam_date", value} - set(longitudinal.columns))
    if missing:
        raise ValueError(f"longitudinal table lacks the columns {missing}")
    columns = min(columns, len(panels))
    grid_rows = -(-len(panels) // columns)
    fig = plt.figure(figsize=(5.0 + 1.6 * columns, max(3.6, 2.8 * grid_rows)))
    left, right = fig.subfigures(1, 2, width_ratios=[5.0, 1.6 * columns])

    ax = left.subplots()
    for subject in subjects:
        rows = longitudinal[longitudinal["subject_id"] == subject]
        if rows.empty:
            raise ValueError(f"subject {subject} is not in the longitudinal table")
        rows = rows.assign(date=exam_dates(rows, "longitudinal table")).sort_values("date")
        ax.plot(rows["date"], rows[value], marker="o", markersize=3.5, linewidth=1.2, label=subject,
                zorder=3 if subject == shown_subject else 2)
    ax.set_xlabel("exam date", fontsize=9)
    ax.set_ylabel(f"{metric} / breast area, summed over views", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.legend(title="subject", fontsize=7, title_fontsize=8)
    left.autofmt_xdate()

    axes = right.subplots(grid_rows, columns, squeeze=False)
    for cell, grid_ax in enumerate(axes.flat):
        if cell >= len(panels):
            grid_ax.remove()
            continue
        grid_ax.imshow(overlay(panels[cell]), interpolation="antialiased")
        grid_ax.set_xticks([])
        grid_ax.set_yticks([])
        grid_ax.set_xlabel(panels[cell].exam_date, fontsize=8)
    right.suptitle(f"subject {shown_subject}: BAC (green) over the years", fontsize=9)
    return fig


def load_panels(
    exams: pd.DataFrame, preprocessed_table: Path | str, predictions_table: Path | str, *, cutoff: float,
    max_side: int = 300,
) -> list[ExamPanel]:
    """The panels of ``exams`` (image_id, exam_date) from the preprocess stage's table (image and breast mask PNGs)
    and the predict stage's table (probability maps), both with paths relative to their own folder."""
    preprocessed_table, predictions_table = Path(preprocessed_table), Path(predictions_table)
    pngs = _table(preprocessed_table, ("image_png", "breast_mask_png"))
    maps = _table(predictions_table, ("path",))
    panels = []
    for image_id, exam_date in zip(exams["image_id"], exams["exam_date"]):
        for table, path in ((pngs, preprocessed_table), (maps, predictions_table)):
            if image_id not in table.index:
                raise ValueError(f"{path}: no row for image {image_id}")
        image = read_png(preprocessed_table.parent / pngs.at[image_id, "image_png"])
        breast = read_mask_png(preprocessed_table.parent / pngs.at[image_id, "breast_mask_png"])
        probability = read_probability_map(predictions_table.parent / maps.at[image_id, "path"])
        panels.append(exam_panel(str(exam_date), image, breast, probability, cutoff=cutoff, max_side=max_side))
    return panels


def _table(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = sorted({"image_id", *columns} - set(table.columns))
    if missing:
        raise ValueError(f"{path}: lacks the columns {missing}")
    return table.drop_duplicates("image_id").set_index("image_id")


def write_figure6(
    longitudinal: pd.DataFrame,
    images: pd.DataFrame,
    preprocessed_table: Path | str,
    predictions_table: Path | str,
    *,
    pdf: Path | str,
    png: Path | str,
    metric: str = "TAM_100",
    subjects: int = 5,
    view: str = "LCC",
    cutoff: float = 0.5,
) -> None:
    """Figure 6 from ``longitudinal`` (bacseg.longitudinal.per_exam's table): the ``subjects`` subjects with the
    most exams on the left, the first of them on the right (``view`` of each exam). ``images`` gives each image_id
    its subject_id, exam_date, laterality and view (the cohort's manifest or metrics table)."""
    chosen = pick_subjects(longitudinal, subjects)
    if not chosen:
        raise ValueError("the longitudinal table has no subject")
    panels = load_panels(subject_exams(images, chosen[0], view), preprocessed_table, predictions_table, cutoff=cutoff)
    fig = figure6(longitudinal, panels, subjects=chosen, shown_subject=chosen[0], metric=metric)
    save_figure(fig, pdf=pdf, png=png)
