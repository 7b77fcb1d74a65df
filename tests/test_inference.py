"""Whole-image prediction: the tile grid, stitching, sliding windows, predictors from weights, `bacseg predict`."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bacseg.cli import main
from bacseg.inference.predictor import Predictor, load_predictor
from bacseg.inference.settings import RECIPES, resolve_settings, settings_from_config
from bacseg.inference.sliding_window import sliding_window_inference
from bacseg.inference.stitching import gaussian_weights, stitch
from bacseg.inference.tiling import cut, tile_positions, tile_starts
from bacseg.inference.whole_image import predict_images
from bacseg.models import create_model
from bacseg.models.checkpoint import CheckpointMetadata, save_checkpoint
from bacseg.preprocess import PreprocessOutputs, preprocess_dicom_file
from bacseg.settings import load_config

REAL_CC = "real_mammograms/CBIS-DDSM_Mass-Test_P_00173_LEFT_CC_ds4_rle.dcm"


def test_tiles_step_by_size_minus_overlap_and_end_flush_with_the_edge():
    assert tile_starts(4096, 512, 64) == list(range(0, 3585, 448))  # 3584 = 8 * 448: already flush
    assert tile_starts(3328, 512, 64) == [0, 448, 896, 1344, 1792, 2240, 2688, 2816]
    assert tile_starts(300, 512, 64) == [0]
    assert len(tile_positions((4096, 3328), 512, 64)) == 9 * 8


def test_authors_grid_is_stride_480_with_the_last_tile_flush():
    """AutoSeg.py starts a tile every 480 px while it fits and puts the last one at length - 512."""
    assert tile_starts(4096, 512, 32) == [0, 480, 960, 1440, 1920, 2400, 2880, 3360, 3584]
    assert tile_starts(992, 512, 32) == [0, 480]
    assert tile_starts(1000, 512, 32) == [0, 480, 488]


@pytest.mark.parametrize("mode", ["max", "mean", "gaussian"])
@pytest.mark.parametrize("shape, size, overlap", [((1000, 777), 256, 32), ((90, 130), 128, 16), ((512, 512), 512, 64)])
def test_tiling_then_stitching_gives_the_image_back_exactly(mode, shape, size, overlap):
    image = np.random.default_rng(0).random(shape, dtype=np.float32)
    positions = tile_positions(shape, size, overlap)
    tiles = [cut(image, y, x, size) for y, x in positions]
    assert all(tile.shape == (size, size) for tile in tiles)
    np.testing.assert_array_equal(stitch(tiles, positions, shape, mode), image)


def test_stitch_modes_differ_where_tiles_disagree():
    shape, positions = (10, 16), [(0, 0), (0, 6)]
    tiles = [np.full((10, 10), 0.2), np.full((10, 10), 0.8)]
    overlap = (slice(None), slice(6, 10))
    assert (stitch(tiles, positions, shape, "max")[overlap] == np.float32(0.8)).all()
    assert np.allclose(stitch(tiles, positions, shape, "mean")[overlap], 0.5)
    blended = stitch(tiles, positions, shape, "gaussian")[5]
    assert 0.2 < blended[6] < blended[9] < 0.8, "each tile counts most near its own centre"
    uncovered = stitch(tiles[:1], positions[:1], shape, "max", fill_value=-1.0)
    assert (uncovered[:, 10:] == -1).all()
    with pytest.raises(ValueError, match="stitch mode"):
        stitch(tiles, positions, shape, "median")


def test_gaussian_weights_peak_in_the_centre_and_stay_positive():
    weights = gaussian_weights(64)
    assert weights.min() > 0 and weights.max() == 1 and weights[31:33, 31:33].min() > 0.99


class ScaledIdentity:
    """A predictor that returns its tiles / 255 and records every batch it is given."""

    def __init__(self):
        self.batches = []

    def __call__(self, tiles):
        self.batches.append(tiles.copy())
        return tiles.astype(np.float32) / 255


@pytest.mark.parametrize("mode", ["max", "mean", "gaussian"])
@pytest.mark.parametrize("shape", [(300, 410), (64, 64), (40, 90)])
def test_sliding_window_with_an_identity_predictor_gives_the_image_back(mode, shape):
    image = np.random.default_rng(1).integers(0, 256, shape).astype(np.uint8)
    predictor = ScaledIdentity()
    result = sliding_window_inference(image, predictor, tile_size=64, overlap=16, batch_size=3, stitch_mode=mode,
                                      skip_background=False)  # fmt: skip
    assert result.dtype == np.float32 and result.shape == shape
    np.testing.assert_allclose(result, image / 255, rtol=0, atol=1e-6)
    tiles = len(tile_positions(shape, 64, 16))
    assert all(batch.shape == (3, 64, 64) for batch in predictor.batches), "a fixed batch shape, the last padded"
    assert len(predictor.batches) == -(-tiles // 3)


def test_background_tiles_are_not_predicted_and_count_as_the_fill_value():
    rng = np.random.default_rng(2)
    image = np.zeros((128, 256), np.uint8)
    image[:, :64] = rng.integers(60, 200, (128, 64))  # textured: predicted
    image[:, 128:192] = 120  # flat (std <= 10): background
    image[:, 192:] = rng.integers(0, 35, (128, 64))  # dark (mean <= 20): background
    predictor = ScaledIdentity()
    result = sliding_window_inference(image, predictor, tile_size=64, overlap=0, batch_size=4, fill_value=0.0)
    predicted = np.concatenate(predictor.batches)
    assert len(predicted) == 4 and (predicted[2:] == 0).all(), "the two textured tiles, then padding"
    np.testing.assert_allclose(result[:, :64], image[:, :64] / 255, atol=1e-6)
    assert not result[:, 64:].any(), "black, flat and dark tiles are 0"
    kept = sliding_window_inference(image, ScaledIdentity(), tile_size=64, overlap=0, batch_size=4,
                                    skip_background=False)  # fmt: skip
    assert kept[:, 128:192].min() > 0.4, "with skipping off the flat tile is predicted"


def test_settings_fill_a_recipe_and_name_bad_keys():
    assert resolve_settings({"stitch_mode": "gaussian"}, "authors") == {**RECIPES["authors"], "stitch_mode": "gaussian"}
    config = load_config(None)
    project = settings_from_config(config)
    assert (project["tile_size"], project["overlap"]) == (config["patches"]["size"], config["patches"]["overlap"])
    assert project["batch_size"] == config["predict"]["batch_size"]
    with pytest.raises(ValueError, match="tile_sise"):
        resolve_settings({"tile_sise": 256}, "authors")
    with pytest.raises(ValueError, match="missing key.*batch_size"):
        resolve_settings({k: v for k, v in project.items() if k != "batch_size"})
    with pytest.raises(ValueError, match="overlap=512"):
        resolve_settings({**project, "overlap": 512})
    with pytest.raises(ValueError, match="batch_size must be a int"):
        resolve_settings({**project, "batch_size": 2.5})


def test_authors_predictor_matches_the_released_model_on_the_reference_patch(reference_dir):
    """The PyTorch model's float64 output on the reference patch, clipped to [0, 1] (it has no sigmoid)."""
    reference = np.load(reference_dir / "scunet_parity_reference.npz")
    predictor = load_predictor("authors", batch_size=2)
    described = (predictor.model_name, predictor.normalization, predictor.output_activation)
    assert described == ("SCU-Net", "authors", "none")
    output = np.asarray(predictor(reference["random_input_uint8"][None]))
    raw = reference["random_output_float64"][0, 0]
    assert raw.min() < 0, "the raw output strays below 0 ..."
    np.testing.assert_allclose(output[0], np.clip(raw, 0, 1), atol=2e-5)


@pytest.fixture(scope="module")
def random_checkpoint(tmp_path_factory):
    """A randomly initialised SCU-Net saved as a project checkpoint (sigmoid output, zero-mean patches)."""
    directory = tmp_path_factory.mktemp("checkpoint") / "SCU-Net"
    metadata = CheckpointMetadata(model_name="SCU-Net", num_classes=1, in_channels=3, output_activation="sigmoid",
                                  source="test: random initialisation", normalization="patch_zero_mean")  # fmt: skip
    return save_checkpoint(directory, create_model("SCU-Net", seed=3), metadata)


def test_predictor_is_traced_once_for_images_of_many_sizes(random_checkpoint):
    predictor = load_predictor(random_checkpoint, batch_size=4)
    rng = np.random.default_rng(4)
    for shape in [(100, 130), (64, 64), (150, 70), (30, 40), (200, 200)]:
        image = rng.integers(30, 230, shape).astype(np.uint8)
        result = sliding_window_inference(image, predictor, tile_size=64, overlap=8, batch_size=4)
        assert result.shape == shape and 0 <= result.min() and result.max() <= 1
    assert predictor.traces == 1
    tiles = rng.integers(0, 256, (6, 64, 64)).astype(np.uint8)
    one_call, two_calls = np.asarray(predictor(tiles)), np.concatenate([predictor(tiles[:4]), predictor(tiles[4:])])
    np.testing.assert_allclose(one_call, two_calls, atol=1e-6)
    assert predictor.traces == 1, "fewer or more tiles than the batch are padded or split, not recompiled"


def test_predict_images_writes_a_float16_map_per_image_and_the_table(random_checkpoint, tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    rows = []
    for n, (shape, split) in enumerate([((96, 130), "validation"), ((70, 64), "train"), ((64, 100), "validation")]):
        Image.fromarray(rng.integers(0, 256, shape).astype(np.uint8)).save(tmp_path / f"I{n}.png")
        rows.append({"image_id": f"I{n}", "split": split, "image_png": f"I{n}.png"})
    pd.DataFrame(rows).to_csv(tmp_path / "preprocessed.csv", index=False)
    monkeypatch.chdir(random_checkpoint.parent)
    predictor = load_predictor(random_checkpoint.name, batch_size=2)  # a relative path, as the workflow gives it
    settings = {**settings_from_config(load_config(None)), "tile_size": 64, "overlap": 8, "batch_size": 2}
    out = tmp_path / "predictions"
    table = predict_images(tmp_path / "preprocessed.csv", predictor, probabilities_dir=out / "probabilities",
                           predictions_csv=out / "predictions.csv", settings=settings, split="validation")  # fmt: skip
    assert list(table["image_id"]) == ["I0", "I2"] and set(table["model"]) == {"SCU-Net"}
    assert pd.read_csv(out / "predictions.csv").equals(table)
    for record in table.to_dict("records"):
        saved = np.load(out / record["path"])
        image = np.asarray(Image.open(tmp_path / f"{record['image_id']}.png"))
        expected = sliding_window_inference(image, predictor, **settings)
        assert saved.dtype == np.float16 and saved.shape == image.shape
        np.testing.assert_allclose(saved, expected, atol=5e-4)
    with pytest.raises(ValueError, match="I1"):
        predict_images(tmp_path / "preprocessed.csv", predictor, probabilities_dir=out, predictions_csv=out / "p.csv",
                       settings=settings, image_ids=["I1"], split="validation")  # fmt: skip


def test_bacseg_predict_with_the_authors_weights_on_a_real_mammogram(reference_dir, tmp_path, capsys):
    dicom = reference_dir / REAL_CC
    out = tmp_path / "out"
    assert main(["predict", str(dicom), "--weights", "authors", "--out", str(out), "--cutoff", "0.3"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["overlay.png", "prediction.json", "probabilities.npy"]
    written = "".join(p.read_text() for p in out.glob("*.json")) + capsys.readouterr().out
    assert "P_00173" not in written and dicom.stem not in written, "nothing names the input file"
    probabilities = np.load(out / "probabilities.npy")
    outputs = PreprocessOutputs.in_folder(tmp_path / "preprocessed")
    image = np.asarray(Image.open(outputs.table.parent / preprocess_dicom_file(dicom, outputs).iloc[0]["image_png"]))
    assert probabilities.dtype == np.float16 and probabilities.shape == image.shape
    assert 0 <= probabilities.min() and probabilities.max() <= 1
    overlay = np.asarray(Image.open(out / "overlay.png"))
    above = probabilities > 0.3
    record = json.loads((out / "prediction.json").read_text())
    assert record["pixels_above_cutoff"] == above.sum() > 0 and record["model"] == "SCU-Net"
    assert (overlay[above] == [0, 255, 0]).all()
    np.testing.assert_array_equal(overlay[~above], np.repeat(image[~above][:, None], 3, axis=1))


def test_bacseg_predict_with_a_saved_checkpoint_and_gaussian_stitching(reference_dir, random_checkpoint, tmp_path):
    out = tmp_path / "out"
    arguments = ["predict", str(reference_dir / REAL_CC), "--weights", str(random_checkpoint), "--out", str(out)]
    assert main(arguments + ["--stitch", "gaussian"]) == 0
    record = json.loads((out / "prediction.json").read_text())
    assert record["settings"]["stitch_mode"] == "gaussian" and record["normalization"] == "patch_zero_mean"
    assert np.load(out / "probabilities.npy").max() > 0


def _damaged_checkpoints(random_checkpoint, root):
    """A checkpoint without its weights, one whose metadata names another network, one that is missing."""
    half = shutil.copytree(random_checkpoint, root / "half-written")
    shutil.rmtree(half / "state")
    other = shutil.copytree(random_checkpoint, root / "other-network")
    metadata_file = other / "metadata" / "metadata"
    metadata_file.write_text(json.dumps({**json.loads(metadata_file.read_text()), "model_name": "U-Net"}))
    return {half: "half-written", other: "do not fit a U-Net", root / "missing": "no such checkpoint"}


def test_bacseg_predict_names_the_bad_file_in_one_line(reference_dir, random_checkpoint, tmp_path, capsys):
    dicom = reference_dir / REAL_CC
    not_a_mammogram = tmp_path / "notes.dcm"
    not_a_mammogram.write_text("not a mammogram")
    cases = {(not_a_mammogram, "authors"): "notes.dcm"}
    for checkpoint, problem in _damaged_checkpoints(random_checkpoint, tmp_path).items():
        cases[(dicom, checkpoint)] = problem
    for (source, weights), problem in cases.items():
        assert main(["predict", str(source), "--weights", str(weights), "--out", str(tmp_path / "out")]) == 1
        error = capsys.readouterr().err
        assert len(error.strip().splitlines()) == 1 and problem in error, error
        assert weights == "authors" or str(weights) in error
    assert not (tmp_path / "out").exists(), "nothing written"
