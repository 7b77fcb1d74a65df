"""Tables keyed by PatientID or DICOM file, re-keyed by ingest's pseudonymous ids (bacseg.ingest.linked)."""

import pandas as pd
import pytest

from bacseg.ingest import IngestOptions, IngestOutputs, ingest
from bacseg.ingest.linked import image_truth, pseudonymise_subject_table
from bacseg.synthetic import CohortOutputs, generate_cohort


@pytest.fixture(scope="module")
def cohort_b(tmp_path_factory):
    """A two-subject synthetic cohort B (DICOM, breast-CT table keyed by PatientID), ingested."""
    root = tmp_path_factory.mktemp("cohort_b")
    synthetic = CohortOutputs.in_folder(root / "synthetic")
    generate_cohort("B", synthetic, {"n_subjects": 2, "scale": 0.06}, seed=3)
    ingested = IngestOutputs.in_folders(root / "data", root / "private")
    options = IngestOptions(cohort="B")
    ingest(synthetic.dicom_dir, ingested, mdai_export=synthetic.annotations, options=options)
    return synthetic, ingested, options


def test_breast_ct_keyed_by_the_manifest_subjects(cohort_b):
    synthetic, ingested, options = cohort_b
    table = pseudonymise_subject_table(synthetic.breast_ct, ingested.source_files, ingested.manifest, options)
    manifest = pd.read_csv(ingested.manifest, dtype=str)
    ct = pd.read_csv(synthetic.breast_ct)
    assert list(table.columns) == ["subject_id", "ct_calcified_voxels", "ct_calcium_mass_mg"]
    assert sorted(table["subject_id"]) == sorted(manifest["subject_id"].unique())
    assert sorted(table["ct_calcium_mass_mg"]) == sorted(ct["ct_calcium_mass_mg"])
    # Each subject keeps its own CT row: the synthetic truth's calcium of both breasts follows it.
    truth = image_truth(ingested.source_files, synthetic.truth).merge(manifest[["image_id", "subject_id"]])
    true_mass = truth.groupby(["subject_id", "laterality"])["breast_calcium_mass_mg"].first().groupby(level=0).sum()
    noisy = table.set_index("subject_id")["ct_calcium_mass_mg"]
    assert ((noisy / true_mass[noisy.index]).between(0.5, 2.0)).all()


def test_an_unknown_patient_stops_without_naming_it(cohort_b, tmp_path):
    synthetic, ingested, options = cohort_b
    ct = pd.read_csv(synthetic.breast_ct, dtype={"patient_id": str})
    ct.loc[0, "patient_id"] = "MARKER-NOT-INGESTED"
    ct.to_csv(tmp_path / "ct.csv", index=False)
    with pytest.raises(ValueError, match=r"ct\.csv: 1 of 2 rows name a patient_id") as error:
        pseudonymise_subject_table(tmp_path / "ct.csv", ingested.source_files, ingested.manifest, options)
    assert "MARKER" not in str(error.value)


def test_image_truth_rows_carry_no_identifier(cohort_b):
    synthetic, ingested, _ = cohort_b
    rows = image_truth(ingested.source_files, synthetic.truth)
    manifest = pd.read_csv(ingested.manifest, dtype=str)
    assert sorted(rows["image_id"]) == sorted(manifest["image_id"])
    assert not {"dicom_path", "patient_id", "sop_instance_uid"} & set(rows.columns)
    assert {"burden", "calcium_mass_mg", "breast_area_mm2"} <= set(rows.columns)
