"""Ingest of a DICOM folder and an MD.ai export: one-pass error report, pseudonymisation, split."""

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest

from bacseg.ingest import IngestError, IngestOptions, IngestOutputs, ingest
from bacseg.io.dicom import MammogramHeader, write_mammogram
from bacseg.io.mdai import AnnotatedImage, write_export
from bacseg.split import VALIDATION, assign_split
from dicom_fixtures import make_bad_files, save_variant

REAL = {
    "cc": ("CBIS-DDSM_Mass-Test_P_00173_LEFT_CC_ds4_rle.dcm", "Doe^Jane", "MRN-471100"),
    "mlo": ("CBIS-DDSM_Mass-Test_P_00173_LEFT_MLO_ds4_rle.dcm", "Doe^Jane", "MRN-471100"),
    "film": ("MG1_J2KI_ds4_rle.dcm", "Roe^Mary", "MRN-982200"),
}
BIRTH_DATE = "19440317"


@pytest.fixture()
def folder(reference_dir, tmp_path) -> tuple[Path, dict[str, str]]:
    """Three real mammograms of two women, with names, IDs and birth dates to leak; -> (folder, UIDs)."""
    root = tmp_path / "dicom" / "site"
    root.mkdir(parents=True)
    uids = {}
    for key, (name, patient_name, patient_id) in REAL.items():

        def identify(dataset, stored):
            dataset.PatientName, dataset.PatientID, dataset.PatientBirthDate = patient_name, patient_id, BIRTH_DATE
            dataset.ViewPosition = "CC" if key == "cc" else "MLO"

        save_variant(reference_dir / "real_mammograms" / name, root / f"{key}.dcm", identify)
        dataset = pydicom.dcmread(root / f"{key}.dcm", stop_before_pixels=True)
        uids[key] = dataset.SOPInstanceUID
        uids[key + "_study"], uids[key + "_series"] = dataset.StudyInstanceUID, dataset.SeriesInstanceUID
    return root, uids


def _export(path: Path, uids: dict[str, str], extra_uid: str | None = None) -> Path:
    images = [
        AnnotatedImage(uids["cc_study"], uids["cc_series"], uids["cc"], 1108, 716, [np.array([[300.0, 400.0], [350.0, 520.0]])]),
        AnnotatedImage(uids["film_study"], uids["film_series"], uids["film"], 1166, 766, []),
    ]
    if extra_uid:
        images.append(AnnotatedImage("1.2.3", "1.2.3.4", extra_uid, 100, 100, [np.array([[1.0, 2.0], [3.0, 4.0]])]))
    write_export(path, images)
    return path


def _outputs(tmp_path: Path, name: str) -> IngestOutputs:
    return IngestOutputs.in_folders(tmp_path / name, tmp_path / "private" / name)


def test_every_problem_is_reported_together_before_any_work(folder, reference_dir, tmp_path):
    root, uids = folder
    bad = make_bad_files(reference_dir / "real_mammograms" / REAL["cc"][0], root / "bad")
    export = _export(tmp_path / "export.json", uids, extra_uid="1.2.826.0.1.99999.7")
    with pytest.raises(IngestError) as error:
        ingest(root, _outputs(tmp_path, "out"), export)
    message = str(error.value)
    assert len(error.value.problems) == len(bad) + 1
    private_table = _outputs(tmp_path, "out").skipped
    listed = pd.read_csv(private_table)
    assert sorted(listed["path"]) == sorted([str(p) for p in bad] + [str(export)])
    for row in listed.itertuples(index=True):
        assert f"  {row.Index + 1}: {row.reason}" in message, "the message lists each problem by its row"
    reasons = dict(zip(listed["path"], listed["reason"]))
    assert all(reason in reasons[str(path)] for path, reason in bad.items()) and str(private_table) in message
    assert not [p for p in [*bad, export] if p.name in message], "no file name in the message (it reaches logs)"
    assert "1.2.826.0.1.99999.7" not in message
    assert not (tmp_path / "out").exists(), "no shareable output is written when ingest refuses"

    result = ingest(root, _outputs(tmp_path, "out"), export, IngestOptions(on_error="skip"))
    assert len(result.manifest) == 3
    assert pd.read_csv(private_table).equals(listed)


def test_outputs_carry_no_identifying_field(folder, tmp_path, caplog):
    root, uids = folder
    export = _export(tmp_path / "export.json", uids)
    with caplog.at_level(logging.DEBUG, logger="bacseg"):
        result = ingest(root, _outputs(tmp_path, "out"), export)
    written = "".join(p.read_text() for p in (tmp_path / "out").iterdir()) + caplog.text
    forbidden = [BIRTH_DATE, "Doe", "Jane", "Roe", "Mary", "MRN-471100", "MRN-982200", *uids.values()]
    assert not [value for value in forbidden if value in written]
    assert set(result.manifest["subject_id"]) == {"A-S0001", "A-S0002"}
    assert list(result.manifest.columns) == [
        "image_id", "subject_id", "cohort", "exam_date", "laterality", "view", "split", "annotation", "rows",
        "columns", "pixel_spacing_mm",
    ]  # fmt: skip
    sources = pd.read_csv(tmp_path / "private" / "out" / "source_files.csv").set_index("image_id")["dicom_path"]
    assert sorted(Path(p).name for p in sources) == ["cc.dcm", "film.dcm", "mlo.dcm"]
    assert sources.index.tolist() == result.manifest["image_id"].tolist()


def test_polylines_are_keyed_by_image_id(folder, tmp_path):
    root, uids = folder
    result = ingest(root, _outputs(tmp_path, "out"), _export(tmp_path / "export.json", uids))
    manifest = pd.read_csv(tmp_path / "out" / "manifest.csv").set_index("image_id")
    annotations = json.loads((tmp_path / "out" / "annotations.json").read_text())
    image_id = {Path(p).stem: i for i, p in zip(result.source_files["image_id"], result.source_files["dicom_path"])}
    cc_id, film_id = image_id["cc"], image_id["film"]
    assert annotations == {cc_id: [[[300.0, 400.0], [350.0, 520.0]]], film_id: []}
    assert manifest["annotation"].to_dict() == {i: i in annotations for i in manifest.index}
    assert manifest.loc[cc_id, ["laterality", "view", "exam_date", "rows"]].tolist() == ["L", "CC", "2016-10-04", 1108]
    assert manifest.groupby("subject_id")["split"].nunique().max() == 1
    assert result.annotations[cc_id][0].shape == (2, 2)


def test_reference_mdai_export_is_matched_to_its_images(reference_dir, tmp_path):
    """The MD.ai example export: one image with a BAC polyline, one with the global "No BAC" label."""
    export = reference_dir / "mdai_export_example.json"
    for study in (1, 2):
        uid = f"1.2.826.0.1.3680043.8.498.{study}"
        header = MammogramHeader(Path(), f"P{study}", "20200101", "L", "CC", 1500, 1000, 0.07, "MONOCHROME2", 12,
                                 uid, f"{uid}.1", f"{uid}.1.1")  # fmt: skip
        pixels = np.zeros((1500, 1000), np.uint16)
        pixels[200:1300, :600] = 2000
        write_mammogram(tmp_path / "dicom" / f"{study}.dcm", pixels, header)
    result = ingest(tmp_path / "dicom", _outputs(tmp_path, "out"), export, IngestOptions(split_by="none"))
    by_subject = dict(zip(result.manifest["subject_id"], result.manifest["image_id"]))
    lines = [result.annotations[image_id] for image_id in result.manifest["image_id"]]
    assert sorted(len(polylines) for polylines in lines) == [0, 1]
    assert np.concatenate([p for polylines in lines for p in polylines]).tolist()[-1] == [955.0, 1402.5]
    assert result.manifest["annotation"].all() and set(result.manifest["split"]) == {"test"} and len(by_subject) == 2


def test_hashed_ids_need_a_salt_and_stay_put_as_the_folder_grows(folder, tmp_path):
    root, _ = folder
    with pytest.raises(ValueError, match="salt"):
        IngestOptions(id_scheme="hash")
    options = IngestOptions(id_scheme="hash", salt="site secret", check_pixels=False)
    (root / "film.dcm").rename(tmp_path / "film.dcm")
    def image_ids(name: str) -> pd.Series:
        return ingest(root, _outputs(tmp_path, name), options=options).source_files.set_index("dicom_path")["image_id"]

    before = image_ids("before")
    (tmp_path / "film.dcm").rename(root / "film.dcm")
    after = image_ids("after")
    assert len(after) == 3 and after[before.index].tolist() == before.tolist()
    salted = ingest(root, _outputs(tmp_path, "other"), options=IngestOptions(id_scheme="hash", salt="other")).manifest
    assert not set(salted["image_id"]) & set(after)


def test_subject_pattern_groups_images_and_reports_misfits(reference_dir, tmp_path):
    """CBIS-DDSM names each image "Mass-Test_P_00173_LEFT_CC": the pattern recovers the woman."""
    root = tmp_path / "cbis"
    root.mkdir()
    for key in ("cc", "mlo", "film"):
        (root / f"{key}.dcm").write_bytes((reference_dir / "real_mammograms" / REAL[key][0]).read_bytes())
    options = IngestOptions(subject_pattern=r"P_(\d+)", on_error="skip")
    result = ingest(root, _outputs(tmp_path, "out"), options=options)
    assert len(result.manifest) == 2 and result.manifest["subject_id"].nunique() == 1
    assert result.skipped["reason"].str.contains("does not match subject_pattern").tolist() == [True]


def test_only_the_split_cohorts_are_split(folder, tmp_path):
    root, _ = folder
    for cohort, splits in (("A", {"train", "validation"}), ("B", {"test"})):
        options = IngestOptions(cohort=cohort, split_by="image", val_fraction=0.34)
        assert set(ingest(root, _outputs(tmp_path, cohort), options=options).manifest["split"]) == splits
    options = IngestOptions(cohort="B", split_by="image", val_fraction=0.34, split_cohorts=("A", "B"))
    assert set(ingest(root, _outputs(tmp_path, "B2"), options=options).manifest["split"]) == {"train", "validation"}


def _cohort(subjects: int = 200, seed: int = 0) -> pd.DataFrame:
    sizes = np.random.default_rng(seed).integers(1, 7, subjects)
    subject_ids = np.repeat([f"S{i:04d}" for i in range(subjects)], sizes)
    return pd.DataFrame({"subject_id": subject_ids, "image_id": [f"{s}-{i}" for i, s in enumerate(subject_ids)]})


def test_subject_split_keeps_each_subject_on_one_side():
    manifest = _cohort()
    split = assign_split(manifest, "subject", 134 / 661, seed=3)
    assert (manifest.assign(split=split).groupby("subject_id")["split"].nunique() == 1).all()
    assert abs((split == VALIDATION).sum() - round(len(manifest) * 134 / 661)) <= 3
    assert split.equals(assign_split(manifest, "subject", 134 / 661, seed=3))
    assert not split.equals(assign_split(manifest, "subject", 134 / 661, seed=4))


def test_image_split_takes_the_exact_fraction():
    manifest = _cohort()
    split = assign_split(manifest, "image", 0.25, seed=0)
    assert (split == VALIDATION).sum() == round(0.25 * len(manifest))
    assert (assign_split(manifest, "none") == "test").all()
