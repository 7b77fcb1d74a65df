"""Background filter, patch index and loader (paper II.C); the tile grid and stitching: test_inference.py."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bacseg.patches import PatchParams, is_background, write_patch_index
from bacseg.training.input_pipeline import PatchLoader


def test_overlap_must_be_smaller_than_the_patch():
    with pytest.raises(ValueError, match="overlap"):
        PatchParams(size=64, overlap=64)


def test_background_tiles_are_the_dark_or_flat_ones():
    params = PatchParams()
    rng = np.random.default_rng(0)
    assert is_background(np.zeros((64, 64), np.uint8), params)
    assert is_background(np.full((64, 64), 120, np.uint8), params), "flat: std <= 10"
    assert is_background(rng.integers(0, 35, (64, 64)).astype(np.uint8), params), "dark: mean <= 20"
    assert not is_background(rng.integers(60, 200, (64, 64)).astype(np.uint8), params)
    breast = np.zeros((64, 64), bool)
    assert is_background(rng.integers(60, 200, (64, 64)).astype(np.uint8), PatchParams(min_breast_fraction=0.5), breast)


@pytest.fixture()
def preprocessed(tmp_path):
    """Two preprocessed images as preprocess writes them: textured left half, black right half."""
    rng = np.random.default_rng(1)
    rows = []
    for n, split in enumerate(["train", "validation"]):
        image = np.zeros((300, 400), np.uint8)
        image[:, :200] = rng.integers(50, 250, (300, 200))
        label = np.zeros_like(image, dtype=bool)
        label[40:60, 20:150] = n == 0
        names = {"image_png": f"images/I{n}.png", "breast_mask_png": f"breast_masks/I{n}.png", "bac_mask_png": f"bac_masks/I{n}.png"}
        for key, array in zip(names, (image, (image > 0) * 255, label * 255)):
            (tmp_path / names[key]).parent.mkdir(exist_ok=True)
            Image.fromarray(array.astype(np.uint8)).save(tmp_path / names[key])
        rows.append({"image_id": f"I{n}", "split": split, **names})
    pd.DataFrame(rows).to_csv(tmp_path / "preprocessed.csv", index=False)
    return tmp_path


def test_patch_index_flags_and_counts(preprocessed):
    params = PatchParams(size=128, overlap=16)
    index = write_patch_index(preprocessed / "preprocessed.csv", preprocessed / "patches.csv",
                              preprocessed / "counts.json", params)  # fmt: skip
    assert len(index) == 2 * 3 * 4  # rows at 0, 112, 172; columns at 0, 112, 224, 272
    assert (index["foreground"] == (index["x"] < 200 - 64)).all(), "tiles mostly over the black half are background"
    calcified = index[index["calcified"]]
    assert set(calcified["image_id"]) == {"I0"} and (calcified["y"] == 0).all() and calcified["bac_pixels"].sum() > 20 * 130
    assert index["selected"].equals(index["foreground"] & index["calcified"])
    counts = json.loads((preprocessed / "counts.json").read_text())
    assert counts["counts"]["train"]["selected"] == 2 and counts["counts"]["validation"]["selected"] == 0
    assert counts["paper_selected"] == {"train": 3455, "validation": 901}
    assert pd.read_csv(preprocessed / "patches.csv").shape == index.shape


def test_loader_cuts_image_and_label_from_the_pngs(preprocessed):
    loader = PatchLoader(preprocessed, cache_images=1)
    image = np.asarray(Image.open(preprocessed / "images" / "I0.png"))
    label = np.asarray(Image.open(preprocessed / "bac_masks" / "I0.png")) > 127
    for row in [{"image_id": "I0", "y": 0, "x": 112, "size": 128}, {"image_id": "I1", "y": 172, "x": 272, "size": 128},
                {"image_id": "I0", "y": 200, "x": 300, "size": 128}]:  # fmt: skip
        tile, tile_label = loader(row)
        assert tile.shape == tile_label.shape == (128, 128) and tile_label.dtype == bool
        if row["image_id"] == "I0":
            y, x = row["y"], row["x"]
            np.testing.assert_array_equal(tile[: 300 - y, : 400 - x], image[y : y + 128, x : x + 128])
            np.testing.assert_array_equal(tile_label[: 300 - y, : 400 - x], label[y : y + 128, x : x + 128])
    with pytest.raises(KeyError, match="I9"):
        loader({"image_id": "I9", "y": 0, "x": 0, "size": 128})
