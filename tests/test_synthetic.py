"""Synthetic cohorts: determinism, valid MG DICOM, exact truth, and the properties the workflow relies on."""

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from PIL import Image
from scipy import ndimage
from skimage.morphology import disk

from bacseg.io.dicom import MammogramHeader, write_mammogram
from bacseg.io.mdai import rasterize_polylines, read_export
from bacseg.preprocess import preprocess_image
from bacseg.synthetic import CohortOutputs, draw_breast, generate_cohort, synthesize_mammogram
from bacseg.synthetic.cohorts import TRUTH_MASK_BAC
from bacseg.synthetic.config import CohortConfig
from bacseg.synthetic.render import polyline_stamps, splat
from bacseg.synthetic.texture import DENSITY_CLASSES, DENSITY_PROPORTIONS, draw_density_class, power_law_exponent

DEFAULT_SHAPE, DEFAULT_SPACING = (1024, 832), 0.28  # the large detector at the default scale 0.25
TINY = {"n_subjects": 3, "scale": 0.06}


def _generate(cohort: str, folder: Path, config: dict, seed: int, workers: int = 1) -> None:
    """A cohort in the one-folder layout (``bacseg synth --out``, the workflow's too)."""
    generate_cohort(cohort, CohortOutputs.in_folder(folder), config, seed=seed, workers=workers)


def _mammogram(seed: int, view="MLO", laterality="L", burden=0.3, **breast_options):
    rng = np.random.default_rng(seed)
    breast = draw_breast(rng, **breast_options)
    return synthesize_mammogram(rng, view, laterality, DEFAULT_SHAPE, DEFAULT_SPACING, breast=breast, burden=burden)


def _file_hashes(folder: Path) -> dict[str, str]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _local_contrast(pixels: np.ndarray, mask: np.ndarray) -> float:
    """Median inside ``mask`` minus median of a ring 3-8 px around it."""
    ring = ndimage.binary_dilation(mask, iterations=8) & ~ndimage.binary_dilation(mask, iterations=3)
    return float(np.median(pixels[mask]) - np.median(pixels[ring]))


@pytest.fixture(scope="module")
def cohort_a(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cohort_a")
    _generate("A", out, {"n_subjects": 4, "scale": 0.15, "monochrome1_fraction": 0.5}, seed=3)
    return out


def test_same_seed_same_bytes_for_any_number_of_workers(tmp_path):
    _generate("A", tmp_path / "one", TINY, seed=11)
    _generate("A", tmp_path / "two", TINY, seed=11, workers=2)
    _generate("A", tmp_path / "other", TINY, seed=12)
    hashes = _file_hashes(tmp_path / "one")
    assert {"truth.csv", "annotations.json", "breast_ct.csv"} <= set(hashes)
    assert any(name.endswith(".dcm") for name in hashes)
    assert hashes == _file_hashes(tmp_path / "two")
    assert hashes["truth.csv"] != _file_hashes(tmp_path / "other")["truth.csv"]


def test_dicom_files_are_mg_with_the_truth_tables_fields(cohort_a):
    truth = pd.read_csv(cohort_a / "truth.csv", dtype={"study_date": str})
    assert len(truth) >= 4
    for row in truth.itertuples():
        ds = pydicom.dcmread(cohort_a / row.dicom_path)
        assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        assert ds.SOPClassUID == ds.file_meta.MediaStorageSOPClassUID == "1.2.840.10008.5.1.4.1.1.1.2"
        assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID == row.sop_instance_uid
        assert (ds.Modality, ds.PatientID, ds.StudyDate) == ("MG", row.patient_id, row.study_date)
        assert (ds.ImageLaterality, ds.ViewPosition) == (row.laterality, row.view)
        assert ds.PhotometricInterpretation == row.photometric
        assert (ds.StudyInstanceUID, ds.SeriesInstanceUID) == (row.study_instance_uid, row.series_instance_uid)
        assert (ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored) == (row.rows, row.columns, 16, row.bits_stored)
        assert (ds.HighBit, ds.PixelRepresentation) == (row.bits_stored - 1, 0)
        assert [float(s) for s in ds.PixelSpacing] == pytest.approx([row.pixel_spacing_mm] * 2)
        assert ds.PatientBirthDate and str(ds.PatientName).startswith("SYNTHETIC^")
        assert ds.pixel_array.max() < 2**row.bits_stored
        truth_mask = np.asarray(Image.open(cohort_a / row.truth_mask_path))
        assert truth_mask.shape == ds.pixel_array.shape and (truth_mask == TRUTH_MASK_BAC).sum() == row.bac_area_px
    assert "birth" not in " ".join(truth.columns).lower()
    assert set(truth.photometric) == {"MONOCHROME1", "MONOCHROME2"}


def test_monochrome1_files_store_inverted_values(tmp_path):
    pixels = _mammogram(0).pixels
    for photometric in ("MONOCHROME1", "MONOCHROME2"):
        header = MammogramHeader(
            path=tmp_path / f"{photometric}.dcm", patient_id="SYN-T-0001", study_date="20200101", laterality="L",
            view="MLO", rows=pixels.shape[0], columns=pixels.shape[1], pixel_spacing_mm=DEFAULT_SPACING,
            photometric=photometric, bits_stored=12, study_uid="2.25.1", series_uid="2.25.2", sop_instance_uid="2.25.3",
        )  # fmt: skip
        write_mammogram(header.path, pixels, header)
    stored_1 = pydicom.dcmread(tmp_path / "MONOCHROME1.dcm").pixel_array
    stored_2 = pydicom.dcmread(tmp_path / "MONOCHROME2.dcm").pixel_array
    np.testing.assert_array_equal(stored_2, pixels)
    np.testing.assert_array_equal(stored_1, 4095 - pixels)
    assert stored_1[0, -1] == 4095  # background is white when stored MONOCHROME1


def test_write_mammogram_rejects_bad_input_naming_the_file(tmp_path):
    pixels = np.zeros((8, 6), dtype=np.uint16)
    header = MammogramHeader(
        path=tmp_path / "x.dcm", patient_id="P", study_date="20200101", laterality="L", view="CC", rows=8, columns=6,
        pixel_spacing_mm=0.1, photometric="MONOCHROME2", bits_stored=12, study_uid="2.25.1", series_uid="2.25.2",
        sop_instance_uid="2.25.3",
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"x\.dcm.*shape"):
        write_mammogram(tmp_path / "x.dcm", pixels[:4], header)
    with pytest.raises(ValueError, match=r"x\.dcm.*\[0, 4095\]"):
        write_mammogram(tmp_path / "x.dcm", pixels + 4096, header)
    with pytest.raises(ValueError, match="NotAKeyword"):
        write_mammogram(tmp_path / "x.dcm", pixels, header, NotAKeyword=1)


def test_splat_is_the_sum_of_gaussians_and_a_stamped_line_has_the_requested_peak():
    rng = np.random.default_rng(0)
    x, y, sigma, weight = rng.uniform(-5, 60, 40), rng.uniform(-5, 40, 40), rng.uniform(0.6, 3, 40), rng.random(40)
    columns, rows = np.meshgrid(np.arange(60), np.arange(40))
    expected = sum(
        w * np.exp(-((columns - xi) ** 2 + (rows - yi) ** 2) / (2 * s**2)) for xi, yi, s, w in zip(x, y, sigma, weight)
    )
    np.testing.assert_allclose(splat((40, 60), x, y, sigma, weight), expected, atol=0.02)  # kernels cut at >= 3 sigma
    line = splat((40, 60), *polyline_stamps(np.array([[5.0, 10.0], [55.0, 30.0]]), np.full(2, 1.5), np.full(2, 0.8)))
    assert line[20, 30] == pytest.approx(0.8, abs=0.01) and line.max() == pytest.approx(0.8, abs=0.01)
    assert line[5, 30] < 1e-3  # 14 px (~9 sigma) off the line


def test_polylines_run_along_the_calcified_vessels():
    image = _mammogram(1, burden=0.3)
    assert image.truth["bac_area_px"] > 100 and len(image.polylines) >= 3
    two_mm = 2.0 / DEFAULT_SPACING
    distance_to_calcium = ndimage.distance_transform_edt(~image.bac_mask)
    vertices = np.rint(np.concatenate(image.polylines)).astype(int)
    assert distance_to_calcium[vertices[:, 1], vertices[:, 0]].max() <= two_mm
    distance_to_lines = ndimage.distance_transform_edt(~rasterize_polylines(image.polylines, image.pixels.shape))
    assert np.mean(distance_to_lines[image.bac_mask] <= two_mm) > 0.95
    assert image.bac_mask.sum() == image.truth["bac_area_px"]
    assert image.truth["bac_area_mm2"] == pytest.approx(image.truth["bac_area_px"] * DEFAULT_SPACING**2)


def test_new_polyline_only_after_a_centimetre_gap():
    image = _mammogram(1, burden=0.3)
    for polyline in image.polylines:
        steps_mm = np.hypot(*np.diff(polyline, axis=0).T) * DEFAULT_SPACING
        assert steps_mm.max() < 10.0  # a gap of >= 1 cm would have started a new polyline


def test_benign_lookalikes_are_bright_but_never_annotated():
    image = _mammogram(2, burden=0.3, lookalike_probability=1.0)
    assert image.lookalike_mask.any() and image.truth["n_lookalikes"] >= 1
    assert not (image.lookalike_mask & image.bac_mask).any()
    contrast = _local_contrast(image.pixels, image.lookalike_mask)
    bac_contrast = _local_contrast(image.pixels, image.bac_mask)
    assert contrast > 0.1 * 4095 and 0.5 < contrast / bac_contrast < 2
    distance_to_lines = ndimage.distance_transform_edt(~rasterize_polylines(image.polylines, image.pixels.shape))
    assert distance_to_lines[image.lookalike_mask].min() * DEFAULT_SPACING > 3.0


def _with_and_without_lobule_walls(seed: int, density_class: str):
    """One breast's MLO twice from the same stream, with its lobules' walls and with them at zero brightness:
    the difference of the stored values and the image with the walls."""
    images = []
    for peak in (None, 0.0):
        rng = np.random.default_rng(seed)
        breast = draw_breast(rng, density_class=density_class, lookalike_probability=0.0)
        if peak is not None:
            breast = dataclasses.replace(breast, lobules=dataclasses.replace(breast.lobules, peak=peak))
        images.append(synthesize_mammogram(rng, "MLO", "L", DEFAULT_SHAPE, DEFAULT_SPACING, breast=breast, burden=0.3))
    walled, plain = images
    return walled.pixels.astype(int) - plain.pixels.astype(int), walled


def test_fat_lobules_walls_are_a_network_of_faint_arcs_in_fat():
    """The walls only brighten, only inside the breast, over a thin network (a lobule every 4-9 mm), much less
    than a calcified vessel stands out, and they hide in dense tissue: a dense breast shows less of them."""
    fatty, image = _with_and_without_lobule_walls(7, "A")
    assert fatty.min() >= 0 and not fatty[~image.foreground].any()
    walls = fatty > 0.01 * 4095
    assert 0.03 < walls[image.foreground].mean() < 0.3
    assert np.percentile(fatty[walls], 99) < 0.5 * _local_contrast(image.pixels, image.bac_mask)
    dense, dense_image = _with_and_without_lobule_walls(7, "D")
    assert fatty[image.foreground].mean() > 2 * dense[dense_image.foreground].mean()


@pytest.mark.parametrize("seed, view", [(3, "CC"), (4, "MLO")])
def test_parenchyma_has_a_mammographic_power_law(seed, view):
    image = _mammogram(seed, view=view, burden=0.2)
    inner = ndimage.binary_erosion(image.foreground, iterations=int(15 / DEFAULT_SPACING), border_value=1)
    assert 2.6 <= power_law_exponent(image.pixels, inner, DEFAULT_SPACING) <= 3.2


def test_density_classes_in_the_papers_proportions_and_order():
    rng = np.random.default_rng(0)
    draws = [draw_density_class(rng) for _ in range(5000)]
    observed = [draws.count(c) / len(draws) for c in DENSITY_CLASSES]
    np.testing.assert_allclose(observed, DENSITY_PROPORTIONS, atol=0.02)
    brightness = []
    for density_class in DENSITY_CLASSES:
        image = _mammogram(5, view="CC", burden=0.0, density_class=density_class, lookalike_probability=0.0)
        inner = ndimage.binary_erosion(image.foreground, iterations=int(15 / DEFAULT_SPACING), border_value=1)
        brightness.append(np.mean(image.pixels[inner]))
    assert np.all(np.diff(brightness) > 0)


def test_unexposed_strips_hide_the_breast_and_preprocessing_leaves_them_out():
    """Seed 0 draws an unexposed strip along the bottom edge, seed 3 along the top (each edge: half the images
    each): bright across the whole width, no breast, BAC or look-alike truth in them, the breast cut off at their
    penumbra as the image edge cuts it; the preprocessed breast mask is the true foreground."""
    for seed, edge in ((0, -1), (3, 0)):
        image = _mammogram(seed, laterality="R", lookalike_probability=1.0)
        strip = (image.pixels > 0).all(axis=1)  # no breast spans the detector's width
        assert strip[edge] and not strip[-1 - edge] and strip.sum() < 3.5 / DEFAULT_SPACING + 3
        assert np.median(image.pixels[strip]) > 0.8 * 4095
        assert not (image.foreground | image.bac_mask | image.lookalike_mask)[strip].any()
        if edge == 0:  # an MLO runs off the top edge into the axilla: there the strip cuts it off
            assert np.flatnonzero(image.foreground.any(axis=1)).min() <= np.flatnonzero(~strip).min() + 3
        mask = preprocess_image(image.pixels, pixel_spacing_mm=DEFAULT_SPACING).breast_mask
        penumbra = ndimage.binary_dilation(strip, iterations=round(2.0 / DEFAULT_SPACING))  # the mask's 2 mm margin
        assert not mask[strip].any() and (mask & ~image.foreground).sum() < 0.001 * image.foreground.sum()
        assert ((mask ^ image.foreground)[~penumbra]).sum() < 0.001 * image.foreground.sum()


@pytest.mark.parametrize("laterality", ["L", "R"])
def test_view_label_burned_in_outside_the_breast_and_erased_by_opening(laterality):
    image = _mammogram(6, laterality=laterality)
    columns = np.flatnonzero(image.label_mask.any(axis=0))
    assert image.truth["label_present"] and columns.size
    chest_wall_column = 0 if laterality == "L" else image.pixels.shape[1] - 1
    assert image.foreground[:, chest_wall_column].any()  # the breast sits against its chest-wall edge
    assert abs(columns.mean() - chest_wall_column) > image.pixels.shape[1] / 2  # label on the far side
    assert not (ndimage.binary_dilation(image.label_mask, iterations=5) & image.foreground).any()
    assert (image.pixels[image.label_mask] > 0.9 * 4095).all()
    opening_radius = int(10 * 0.07 / DEFAULT_SPACING)  # the paper's disk(10) at 0.07 mm, at this spacing
    assert not ndimage.binary_opening(image.label_mask, structure=disk(opening_radius)).any()


def test_annotations_match_the_truth_table(cohort_a):
    truth = pd.read_csv(cohort_a / "truth.csv")
    export = read_export(cohort_a / "annotations.json")
    assert set(export) == set(truth.sop_instance_uid[truth.annotated])
    assert truth.annotated.any() and truth.has_bac.any() and not truth.has_bac.all()
    for row in truth[truth.annotated].itertuples():
        assert len(export[row.sop_instance_uid]) == row.n_polylines
        assert (row.n_polylines > 0) == row.has_bac
    export = json.loads((cohort_a / "annotations.json").read_text())
    labels = {label["name"]: label for label in export["labelGroups"][0]["labels"]}
    assert labels["BAC"]["annotationMode"] == "line" and labels["No BAC"]["type"] == "global"


def test_cohort_b_breast_ct_follows_the_true_calcium(tmp_path):
    _generate("B", tmp_path, {"n_subjects": 4, "scale": 0.06}, seed=5)
    truth = pd.read_csv(tmp_path / "truth.csv")
    ct = pd.read_csv(tmp_path / "breast_ct.csv").set_index("patient_id")
    assert list(ct.columns) == ["ct_calcified_voxels", "ct_calcium_mass_mg"] and len(ct) == 4
    assert (truth.groupby("patient_id").size() == 4).all()
    true_mass = truth.groupby(["patient_id", "laterality"]).breast_calcium_mass_mg.first().groupby("patient_id").sum()
    ratio = ct.ct_calcium_mass_mg / true_mass
    assert ((ratio > 0.6) & (ratio < 1.6)).all() and (ratio != 1).all()
    assert np.corrcoef(ct.ct_calcified_voxels, true_mass)[0, 1] > 0.9


def test_each_output_where_its_caller_names_it(tmp_path):
    """The workflow declares each output path; the truth table's paths are relative to its own folder."""
    outputs = CohortOutputs(dicom_dir=tmp_path / "pacs" / "export", annotations=tmp_path / "mdai" / "export.json",
                            truth_masks=tmp_path / "masks", truth=tmp_path / "tables" / "truth.csv",
                            breast_ct=tmp_path / "tables" / "ct.csv")  # fmt: skip
    generate_cohort("A", outputs, TINY, seed=11)
    truth = pd.read_csv(outputs.truth)
    assert truth.dicom_path.str.startswith("../pacs/export/SYNTHETIC_A0001_").any()
    for row in truth.itertuples():
        dicom = (outputs.truth.parent / row.dicom_path).resolve()
        mask = (outputs.truth.parent / row.truth_mask_path).resolve()
        assert dicom.is_relative_to(outputs.dicom_dir.resolve()) and dicom.is_file()
        assert mask.is_relative_to(outputs.truth_masks.resolve()) and mask.is_file()
        assert Path(row.dicom_path).with_suffix("").parts[-3:] == Path(row.truth_mask_path).with_suffix("").parts[-3:]
    assert read_export(outputs.annotations)
    assert outputs.breast_ct.read_text() == "patient_id,ct_calcified_voxels,ct_calcium_mass_mg\n"  # no CT in A
    assert sorted(p.name for p in tmp_path.iterdir()) == ["masks", "mdai", "pacs", "tables"]


def test_cohort_c_burden_grows_and_area_normalised_sum_tracks_it(tmp_path):
    config = {"n_subjects": 2, "scale": 0.15, "exams_per_subject": [6, 6]}
    _generate("C", tmp_path, config, seed=4, workers=2)
    truth = pd.read_csv(tmp_path / "truth.csv")
    truth["normalised_area"] = truth.bac_area_px / truth.breast_area_px
    normalised_r, per_view_r = [], []
    for _, images in truth.groupby("patient_id"):
        exams = images.groupby("exam_index")
        assert exams.size().eq(4).all() and exams.ngroups == 6
        assert exams.study_date.first().is_monotonic_increasing
        for _, breast in images.groupby("laterality"):
            assert breast.groupby("exam_index").burden.first().diff().dropna().ge(0).all()
        true_mass = exams.breast_calcium_mass_mg.sum()
        normalised_r.append(np.corrcoef(exams.normalised_area.sum(), true_mass)[0, 1])
        for _, view in images.groupby(["laterality", "view"]):
            per_view_r.append(np.corrcoef(view.sort_values("exam_index").bac_area_px, true_mass)[0, 1])
    assert np.mean(normalised_r) > 0.9
    assert np.mean(normalised_r) > np.mean(per_view_r) + 0.1  # magnification and positioning blur the raw area


def test_cohort_config_errors_name_the_key():
    with pytest.raises(ValueError, match="n_subject"):
        CohortConfig.from_dict("A", {"n_subject": 3})
    with pytest.raises(ValueError, match="monochrome1_fraction"):
        CohortConfig.from_dict("B", {"monochrome1_fraction": 1.5})
    with pytest.raises(ValueError, match="cohort"):
        CohortConfig.from_dict("D", {})
