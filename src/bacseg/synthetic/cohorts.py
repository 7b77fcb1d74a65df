"""Synthetic cohorts A, B and C: a PACS-like DICOM export, an MD.ai export and the truth tables.

A cohort is planned first (subjects, exams, views, acquisition settings and calcium burden, all drawn
from streams keyed by subject and exam), then each image is synthesized and written on its own, so the
result is the same whatever the number of worker processes.

- A: training/validation cohort, one exam per subject and 2-4 of its views, most images annotated.
- B: one four-view exam per subject plus breast-CT calcified voxels and calcium mass (the breast_ct table).
- C: 5-12 yearly four-view exams per subject; the burden grows every year while magnification and
  positioning change from exam to exam, so raw per-view calcified area oscillates and only the area
  normalised by breast area follows the burden.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from bacseg.io.dicom import MammogramHeader, write_mammogram
from bacseg.io.mdai import AnnotatedImage, write_export
from bacseg.synthetic.anatomy import Breast, draw_breast
from bacseg.synthetic.config import CohortConfig
from bacseg.synthetic.geometry import PAPER_SPACING_MM, ViewGeometry, draw_view_geometry, image_shape
from bacseg.synthetic.identifiers import (
    COHORT_INDEX, other_patient_id, patient_id, patient_name, rng_for, uid_for,
)  # fmt: skip
from bacseg.synthetic.mammogram import synthesize_mammogram
from bacseg.synthetic.outputs import BREAST_CT_COLUMNS, CohortOutputs
from bacseg.synthetic.texture import draw_density_class
from bacseg.synthetic.vessels import CALCIUM_MG_PER_MM3

VIEWS = (("L", "CC"), ("L", "MLO"), ("R", "CC"), ("R", "MLO"))
_SUBJECT, _BREAST, _EXAM, _IMAGE, _CT = range(5)  # random stream kinds
_LAST_EXAM_YEAR = 2020
TRUTH_MASK_BAC, TRUTH_MASK_LOOKALIKE = 255, 128  # values in the truth mask PNGs (0 elsewhere)
TRUTH_COLUMNS = [
    "cohort", "patient_id", "study_date", "exam_index", "years_since_first_exam", "laterality", "view",
    "study_instance_uid", "series_instance_uid", "sop_instance_uid", "dicom_path", "truth_mask_path", "annotated",
    "rows", "columns", "pixel_spacing_mm", "bits_stored", "photometric", "detector",
    "has_bac", "bac_area_px", "bac_area_mm2", "calcified_length_mm", "calcium_mass_mg",
    "breast_calcium_mass_mg", "burden", "n_polylines", "n_lookalikes", "breast_area_px", "breast_area_mm2",
    "density_class", "dense_fraction", "magnification", "chest_wall_offset", "label_present",
]  # fmt: skip


@dataclass(frozen=True)
class ImagePlan:
    """Everything decided about one image before it is synthesized."""

    cohort: str
    subject: int
    exam: int
    view_index: int  # into VIEWS
    patient_birth_date: str
    study_date: str
    years_since_first_exam: float
    study_uid: str
    series_uid: str
    sop_uid: str
    detector: str
    scale: float
    bits_stored: int
    photometric: str
    magnification: float
    chest_wall_offset: float
    burden: float  # calcified fraction of this breast's arterial length at this exam
    density_class: str
    lookalike_probability: float
    annotated: bool

    @property
    def laterality(self) -> str:
        return VIEWS[self.view_index][0]

    @property
    def view(self) -> str:
        return VIEWS[self.view_index][1]

    @property
    def patient_id(self) -> str:
        return patient_id(self.cohort, self.subject)

    @property
    def stem(self) -> str:
        """<NAME>_<BIRTHDATE>/<PatientID>_exam<NN>/<laterality><view>, the same in the DICOM and the truth-mask
        trees: laid out as hospital archives are, after the patient, so that every run of the workflow checks
        that no folder or file name reaches an output (ingest keeps paths in its private tables only)."""
        folder = f"{patient_name(self.cohort, self.subject).replace('^', '_')}_{self.patient_birth_date}"
        return f"{folder}/{self.patient_id}_exam{self.exam + 1:02d}/{self.laterality}{self.view}"


def generate_cohort(cohort: str, outputs: CohortOutputs, config: dict, seed: int, workers: int = 1) -> None:
    """Write synthetic cohort ``cohort`` ("A" | "B" | "C") to ``outputs``.

    ``config`` is the cohort's section of the workflow config; its keys, meanings and per-cohort defaults
    are in the config schema (section ``synthetic.<cohort>``).
    Writes ``<dicom_dir>/<stem>.dcm`` (``ImagePlan.stem``), the ``annotations`` MD.ai export of the annotated
    images (BAC centre-lines, or the global "No BAC" label), ``<truth_masks>/<stem>.png`` (the exact calcified
    pixels: TRUTH_MASK_BAC, benign look-alikes: TRUTH_MASK_LOOKALIKE, else 0), the ``truth`` table (one row
    per image, TRUTH_COLUMNS) and the ``breast_ct`` table (BREAST_CT_COLUMNS; rows for cohort B only). The
    same ``seed`` gives the same bytes, for any number of ``workers`` (processes).
    """
    settings = CohortConfig.from_dict(cohort, config)
    for folder in (outputs.dicom_dir, outputs.truth_masks, outputs.truth.parent, outputs.annotations.parent,
                   outputs.breast_ct.parent):  # fmt: skip
        folder.mkdir(parents=True, exist_ok=True)
    plans = plan_cohort(cohort, settings, seed)
    job = partial(_synthesize_and_write, outputs=outputs, seed=seed)
    if workers > 1:
        # forkserver, not fork: the caller may hold threads (JAX, BLAS) that a forked child would inherit.
        # The server imports this module once, so each worker starts ready.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            results = list(pool.map(job, plans, chunksize=1))
    else:
        results = [job(plan) for plan in plans]
    rows = [row for row, _ in results]
    truth = pd.DataFrame(rows, columns=TRUTH_COLUMNS)
    truth.to_csv(outputs.truth, index=False)
    write_export(
        outputs.annotations,
        [annotation for _, annotation in results if annotation is not None],
        name=f"Synthetic cohort {cohort} BAC centre-lines",
    )
    breast_ct = breast_ct_table(truth, settings, seed) if cohort == "B" else pd.DataFrame(columns=BREAST_CT_COLUMNS)
    breast_ct.to_csv(outputs.breast_ct, index=False)


def plan_cohort(cohort: str, settings: CohortConfig, seed: int) -> list[ImagePlan]:
    """Every image of the cohort, in subject, exam, view order."""
    key = COHORT_INDEX[cohort]
    plans = []
    for subject in range(settings.n_subjects):
        rng = rng_for(seed, key, subject, _SUBJECT)
        density_class = draw_density_class(rng)
        has_bac = rng.random() < settings.bac_fraction
        first_burden = rng.uniform(*settings.burden_range) if has_bac else 0.0
        growth = rng.uniform(*settings.burden_growth_per_year) if has_bac else 0.0
        breast_factor = rng.uniform(0.6, 1.4, size=2)  # left/right asymmetry of the burden
        n_exams = int(rng.integers(settings.exams_per_subject[0], settings.exams_per_subject[1] + 1))
        n_views = int(rng.integers(settings.images_per_subject[0], settings.images_per_subject[1] + 1))
        views = sorted(int(v) for v in rng.choice(len(VIEWS), size=n_views, replace=False))
        first_year = int(rng.integers(2005, _LAST_EXAM_YEAR - n_exams + 2))
        first_exam = dt.date(first_year, 1, 1) + dt.timedelta(days=int(rng.integers(0, 300)))
        birth_date = first_exam - dt.timedelta(days=int(rng.uniform(45, 75) * 365.25))
        for exam in range(n_exams):
            exam_rng = rng_for(seed, key, subject, _EXAM, exam)
            jitter = int(exam_rng.integers(-40, 41)) if exam else 0
            study_date = first_exam + dt.timedelta(days=round(exam * 365.25) + jitter)
            years = (study_date - first_exam).days / 365.25
            study_uid = uid_for(seed, cohort, subject, exam, "study")
            detector = "large" if exam_rng.random() < settings.large_detector_fraction else "small"
            bits_stored = int(exam_rng.choice(settings.bits_stored))
            photometric = "MONOCHROME1" if exam_rng.random() < settings.monochrome1_fraction else "MONOCHROME2"
            for view_index in views:
                side = "LR".index(VIEWS[view_index][0])
                plans.append(
                    ImagePlan(
                        cohort=cohort,
                        subject=subject,
                        exam=exam,
                        view_index=view_index,
                        patient_birth_date=birth_date.strftime("%Y%m%d"),
                        study_date=study_date.strftime("%Y%m%d"),
                        years_since_first_exam=round(years, 4),
                        study_uid=study_uid,
                        series_uid=uid_for(seed, cohort, subject, exam, "series"),
                        sop_uid=uid_for(seed, cohort, subject, exam, view_index, "image"),
                        detector=detector,
                        scale=settings.scale,
                        bits_stored=bits_stored,
                        photometric=photometric,
                        magnification=float(exam_rng.uniform(*settings.magnification_range)),
                        chest_wall_offset=float(exam_rng.uniform(*settings.chest_wall_offset_range)),
                        burden=float(min(0.9, (first_burden + growth * years) * breast_factor[side])),
                        density_class=density_class,
                        lookalike_probability=settings.lookalike_fraction,
                        annotated=bool(exam_rng.random() < settings.annotated_fraction),
                    )
                )
    return plans


def image_scene(plan: ImagePlan, seed: int) -> tuple[Breast, ViewGeometry]:
    """The breast and the view geometry (left-breast orientation) that ``plan``'s image is drawn with, from the
    same random streams as ``generate_cohort`` draws them: for tools that need to know where the generator put
    its structures (the realism benchmark's false positives by cause)."""
    breast, image_rng = _breast_and_image_stream(plan, seed)
    geometry = draw_view_geometry(image_rng, plan.view, image_shape(plan.detector, plan.scale),
                                  PAPER_SPACING_MM / plan.scale, breast.size_mm, plan.magnification,
                                  plan.chest_wall_offset)  # fmt: skip
    return breast, geometry


def _breast_and_image_stream(plan: ImagePlan, seed: int) -> tuple[Breast, np.random.Generator]:
    """The planned image's breast (one per subject and side) and the random stream its image is drawn from (one
    per image; ``synthesize_mammogram`` draws the view geometry from it first)."""
    key = COHORT_INDEX[plan.cohort]
    breast_rng = rng_for(seed, key, plan.subject, _BREAST, "LR".index(plan.laterality))
    breast = draw_breast(breast_rng, plan.lookalike_probability, plan.density_class)
    return breast, rng_for(seed, key, plan.subject, _IMAGE, plan.exam, plan.view_index)


def _synthesize_and_write(plan: ImagePlan, outputs: CohortOutputs, seed: int) -> tuple[dict, AnnotatedImage | None]:
    """Synthesize one planned image, write its DICOM file; return its truth row and annotation."""
    breast, image_rng = _breast_and_image_stream(plan, seed)
    shape = image_shape(plan.detector, plan.scale)
    spacing_mm = PAPER_SPACING_MM / plan.scale
    image = synthesize_mammogram(
        image_rng,
        plan.view,
        plan.laterality,
        shape,
        spacing_mm,
        breast=breast,
        burden=plan.burden,
        bits_stored=plan.bits_stored,
        magnification=plan.magnification,
        chest_wall_offset=plan.chest_wall_offset,
    )
    path = outputs.dicom_dir / f"{plan.stem}.dcm"
    truth_mask_path = outputs.truth_masks / f"{plan.stem}.png"
    header = MammogramHeader(
        path=path,
        patient_id=plan.patient_id,
        study_date=plan.study_date,
        laterality=plan.laterality,
        view=plan.view,
        rows=shape[0],
        columns=shape[1],
        pixel_spacing_mm=spacing_mm,
        photometric=plan.photometric,
        bits_stored=plan.bits_stored,
        study_uid=plan.study_uid,
        series_uid=plan.series_uid,
        sop_instance_uid=plan.sop_uid,
    )
    write_mammogram(
        path,
        image.pixels,
        header,
        PatientName=patient_name(plan.cohort, plan.subject),
        PatientBirthDate=plan.patient_birth_date,
        OtherPatientIDs=other_patient_id(plan.cohort, plan.subject),
        AccessionNumber=f"{plan.cohort}{plan.subject + 1:04d}{plan.exam + 1:02d}",
        StudyID=f"{plan.exam + 1}",
        InstanceNumber=plan.view_index + 1,
    )
    truth_mask = np.zeros(shape, dtype=np.uint8)
    truth_mask[image.lookalike_mask] = TRUTH_MASK_LOOKALIKE
    truth_mask[image.bac_mask] = TRUTH_MASK_BAC
    truth_mask_path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(truth_mask).save(truth_mask_path, compress_level=6)
    row = {
        **image.truth,
        "cohort": plan.cohort,
        "patient_id": plan.patient_id,
        "study_date": plan.study_date,
        "years_since_first_exam": plan.years_since_first_exam,
        "annotated": plan.annotated,
        "bits_stored": plan.bits_stored,
        "photometric": plan.photometric,
        "detector": plan.detector,
        "exam_index": plan.exam,
        "laterality": plan.laterality,
        "view": plan.view,
        "study_instance_uid": plan.study_uid,
        "series_instance_uid": plan.series_uid,
        "sop_instance_uid": plan.sop_uid,
        "dicom_path": outputs.relative_to_truth(path),
        "truth_mask_path": outputs.relative_to_truth(truth_mask_path),
        "rows": shape[0],
        "columns": shape[1],
        "pixel_spacing_mm": spacing_mm,
        "has_bac": image.truth["bac_area_px"] > 0,
    }
    annotation = None
    if plan.annotated:
        annotation = AnnotatedImage(
            study_uid=plan.study_uid,
            series_uid=plan.series_uid,
            sop_instance_uid=plan.sop_uid,
            height=shape[0],
            width=shape[1],
            polylines=image.polylines,
            created_at=f"{plan.study_date[:4]}-{plan.study_date[4:6]}-{plan.study_date[6:]}T12:00:00.000Z",
        )
    return row, annotation


def breast_ct_table(truth: pd.DataFrame, settings: CohortConfig, seed: int) -> pd.DataFrame:
    """Breast-CT measurements per subject: the true calcium of both breasts, seen through a CT.

    Calcified voxels = calcified volume / voxel volume, and calcium mass, each with independent
    multiplicative noise of SD ``ct_relative_noise`` (partial volume, calibration).
    """
    rows = []
    for patient, images in truth.groupby("patient_id", sort=True):
        mass_mg = images.groupby("laterality")["breast_calcium_mass_mg"].first().sum()
        subject = int(patient.rsplit("-", 1)[1]) - 1
        rng = rng_for(seed, COHORT_INDEX["B"], subject, _CT)
        voxels = mass_mg / CALCIUM_MG_PER_MM3 / settings.ct_voxel_mm**3
        noise = np.exp(rng.normal(0.0, settings.ct_relative_noise, size=2))
        rows.append(
            {
                "patient_id": patient,
                "ct_calcified_voxels": int(round(voxels * noise[0])),
                "ct_calcium_mass_mg": round(float(mass_mg * noise[1]), 3),
            }
        )
    return pd.DataFrame(rows, columns=BREAST_CT_COLUMNS)
