"""The realism benchmark of issue 8 (bacseg.realism): beta as the shared tool measures it, false positives put down
to the right cause, scene maps that match the written images, the realism JSON, and a floor under the judge's Dice."""

import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from bacseg.io.dicom import read_pixels
from bacseg.preprocess import PreprocessParams
from bacseg.preprocess.image import annotation_mask
from bacseg.realism.beta import beta_summary, image_betas
from bacseg.realism.causes import CAUSES, attribute_false_positives
from bacseg.realism.scene import SceneMismatch, check_scene, scene_maps
from bacseg.settings import load_config
from bacseg.synthetic import CohortOutputs, generate_cohort, synthesize_mammogram
from bacseg.synthetic.cohorts import TRUTH_MASK_LOOKALIKE, plan_cohort
from bacseg.synthetic.config import CohortConfig
from bacseg.synthetic.geometry import DETECTOR_SHAPES, PAPER_SPACING_MM
from workflow_runs import REPO

SMALL = {"n_subjects": 1, "scale": 0.25, "annotated_fraction": 1.0}
SEED = 11
# The judge's Dice on the floor image (test_the_judges_dice_stays_above_its_floor) measured 0.407 with the generator
# of 2026-12-03 and 0.775 with its thin tram-track walls (commit 225fefd); a change that makes the synthetic images
# less like real ones to the judge falls below the floor.
DICE_FLOOR = 0.70


@pytest.fixture(scope="module")
def small_cohort(tmp_path_factory):
    outputs = CohortOutputs.in_folder(tmp_path_factory.mktemp("realism_cohort"))
    generate_cohort("A", outputs, SMALL, seed=SEED)
    return outputs


@pytest.fixture(scope="module")
def config():
    return load_config(REPO / "config.yaml")


def test_beta_is_what_the_shared_tool_prints(small_cohort, reference_dir):
    """The same file measured by ../shared/tools/power_law_beta.py and by bacseg.realism.beta: the same patches,
    the same median and interquartile range (the tool prints two decimals)."""
    path = sorted(small_cohort.dicom_dir.rglob("*.dcm"))[0]
    printed = subprocess.run([sys.executable, str(reference_dir.parent / "tools" / "power_law_beta.py"), str(path)],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    patches, median, q25, q75 = re.search(r"patches (\d+) beta median ([\d.]+) IQR ([\d.]+)-([\d.]+)", printed).groups()
    ours = beta_summary(image_betas(read_pixels(path)[1]))
    assert ours["patches"] == int(patches) > 10
    assert [f"{ours[key]:.2f}" for key in ("median", "q25", "q75")] == [median, q25, q75]


def test_beta_of_a_power_law_field_is_its_exponent():
    """Noise whose power falls as f^-3 measures beta ~3 (the method recovers the exponent it is named after)."""
    rng = np.random.default_rng(0)
    size = 1024
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size), indexing="ij"))
    f[0, 0] = 1.0
    field = np.fft.ifft2(np.fft.fft2(rng.standard_normal((size, size))) * f ** (-3 / 2)).real
    field = np.pad(field - field.min() + 1.0, ((0, 0), (0, size)))  # a zero half: the "background"
    assert beta_summary(image_betas(field))["median"] == pytest.approx(3.0, abs=0.15)


def test_false_positives_go_to_the_first_cause_that_holds_them():
    """A hand-built case: a pixel on two maps goes to the earlier cause, a pixel on none to "other", and a component
    to the cause of most of its pixels."""
    shape = (12, 12)
    maps = {name: np.zeros(shape, dtype=bool) for name in CAUSES if name != "other"}
    maps["strand"][0:3, :] = True  # a strand along the top rows
    maps["lookalike"][0:3, 0:2] = True  # a look-alike on the strand: the look-alike comes first
    maps["skin_edge"][:, 11] = True
    false_positive = np.zeros(shape, dtype=bool)
    false_positive[1, 0:6] = True  # 2 look-alike + 4 strand pixels: one component, mostly strand
    false_positive[6:8, 6:8] = True  # 4 pixels on nothing: other
    false_positive[10, 11] = True  # one skin-edge pixel
    result = attribute_false_positives(false_positive, maps)
    assert result["pixels"] == {**dict.fromkeys(CAUSES, 0), "lookalike": 2, "strand": 4, "other": 4, "skin_edge": 1}
    assert result["components"] == {**dict.fromkeys(CAUSES, 0), "strand": 1, "other": 1, "skin_edge": 1}
    with pytest.raises(ValueError, match="no scene map for the cause"):
        attribute_false_positives(false_positive, {"strand": maps["strand"]})


def test_scene_maps_match_the_written_images(small_cohort):
    """Re-derived from the generator's streams, every image's breast outline is the written one (check_scene), the
    label map holds the burned-in label, the look-alike map the look-alike truth; a wrong outline raises."""
    plans = plan_cohort("A", CohortConfig.from_dict("A", SMALL), SEED)
    params = PreprocessParams()
    for plan in plans:
        path = small_cohort.dicom_dir / f"{plan.stem}.dcm"
        header, stored = read_pixels(path)
        truth = np.asarray(Image.open(small_cohort.truth_masks / f"{plan.stem}.png"))
        label = annotation_mask([], stored.shape, params)
        maps = scene_maps(plan, SEED, stored, header.bits_stored, header.pixel_spacing_mm, truth, label, 1.0)
        assert set(maps) == set(CAUSES) - {"other"}
        assert maps["lookalike"][truth == TRUTH_MASK_LOOKALIKE].all()
        assert maps["skin_edge"].any() and maps["strand"].any() and maps["vessel"].any()
        assert maps["pectoral_edge"].any() == (plan.view == "MLO")
        strips = (stored > 0).all(axis=1)  # rows bright across the whole width: no breast spans the detector
        assert maps["collimator_edge"].any() == strips.any()
        assert not maps["collimator_edge"][~ndimage.binary_dilation(strips, iterations=8)].any()
    foreground = stored > 0
    unexposed = np.zeros_like(foreground)
    with pytest.raises(SceneMismatch, match="generator's streams changed"):
        check_scene(stored, header.bits_stored, ndimage.binary_erosion(foreground, iterations=3), unexposed)


def test_the_realism_json_has_every_field(tmp_path, config):
    """A tiny judge cohort through the whole measurement: per-image and pooled scores, pooled from the summed
    counts, false positives by cause adding up to the pooled false positives, beta, the judge, the figure."""
    import json

    from bacseg.realism.benchmark import run_realism

    config = {**config, "realism": {**config["realism"], "n_subjects": 1, "scale": 0.125, "package_views": [],
                                    "real_mammograms": None}}  # fmt: skip
    run_realism(config, weights="authors", json_path=tmp_path / "realism.json", figure_path=tmp_path / "realism.png")
    result = json.loads((tmp_path / "realism.json").read_text())
    assert set(result) >= {"judge", "cohort", "per_image", "pooled", "false_positives", "beta", "real", "goal"}
    judged = [image for image in result["per_image"] if image["has_bac"]]
    assert judged and result["cohort"]["images_with_bac"] == len(judged)
    for image in judged:
        assert {"image", "dice", "recall", "precision", "tp", "fp", "fn", "false_positives", "beta"} <= set(image)
        assert sum(image["false_positives"]["pixels"].values()) == image["fp"]
    tp, fp, fn = (sum(image[key] for image in judged) for key in ("tp", "fp", "fn"))
    assert (result["pooled"]["tp"], result["pooled"]["fp"], result["pooled"]["fn"]) == (tp, fp, fn)
    assert result["pooled"]["dice"] == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=5e-7)  # JSON: 6 decimals
    assert sum(result["false_positives"]["pixels"].values()) == fp
    assert set(result["false_positives"]["pixels"]) == set(CAUSES)
    assert result["beta"]["min"] <= result["beta"]["median"] <= result["beta"]["max"]
    assert result["judge"]["model"] == "SCU-Net" and result["judge"]["settings"]["tile_size"] == 512
    assert result["real"] == [] and Image.open(tmp_path / "realism.png").size[0] > 0


def test_a_clone_without_the_reference_folder_still_measures_realism(tmp_path, monkeypatch, caplog):
    """The default folder (../shared beside the checkout) is optional: absent, the figure goes on without it."""
    from bacseg.realism import real

    monkeypatch.setattr(real, "CHECKOUT", tmp_path / "clone")
    with caplog.at_level("WARNING", logger="bacseg.realism.real"):
        assert real.reference_folder("../shared/reference/real_mammograms") is None
    assert str(tmp_path / "clone" / "../shared/reference/real_mammograms") in caplog.text
    assert real.reference_folder(None) is None


def test_a_missing_folder_the_config_names_fails_before_the_judge_runs(tmp_path, config):
    from bacseg.realism.benchmark import run_realism

    config = {**config, "realism": {**config["realism"], "real_mammograms": str(tmp_path / "my_mammograms")}}
    with pytest.raises(FileNotFoundError, match="my_mammograms: no such folder of real mammograms"):
        run_realism(config, weights=tmp_path / "no_weights.ckpt", json_path=tmp_path / "realism.json",
                    figure_path=tmp_path / "realism.png")  # fmt: skip
    assert not (tmp_path / "realism.json").exists()


def test_the_judges_dice_stays_above_its_floor(config):
    """The floor image: one left CC view at the paper's scale (4096x3328, 0.07 mm, 12 bits, burden 0.4, drawn from
    default_rng(11)), preprocessed, judged and scored against its label mask as the realism rule does it."""
    from bacseg.realism.judge import load_judge

    image = synthesize_mammogram(np.random.default_rng(SEED), "CC", "L", DETECTOR_SHAPES["large"], PAPER_SPACING_MM,
                                 burden=0.4)  # fmt: skip
    params = PreprocessParams.from_mapping(config["preprocess"])
    label = annotation_mask(image.polylines, image.pixels.shape, params)
    _, probabilities = load_judge(config, "authors").read_pixels(image.pixels.astype(np.float32), PAPER_SPACING_MM)
    predicted = probabilities > config["realism"]["cutoff"]
    dice = 2 * np.sum(predicted & label) / (predicted.sum() + label.sum())
    assert dice > DICE_FLOOR, f"the judge's Dice on the floor image fell to {dice:.3f}"
