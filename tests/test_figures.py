"""Figures draw what they claim: Figure 2's circle areas are proportional to parameter counts."""

import math

import pytest
from matplotlib.patches import Circle

from bacseg.figures.fig2_parameters import HIGHLIGHT_COLOUR, parameter_bubbles

COUNTS = {"SCU-Net": 169_711, "U-Net": 13_395_329, "FPENet": 114_531, "SegNet": 29_443_585}


def test_circle_areas_are_proportional_to_parameters():
    fig = parameter_bubbles(COUNTS)
    circles = sorted((p for p in fig.axes[0].patches if isinstance(p, Circle)), key=lambda c: c.radius)
    areas = [math.pi * c.radius**2 for c in circles]
    counts = sorted(COUNTS.values())
    for area, count in zip(areas, counts):
        assert area / areas[-1] == pytest.approx(count / counts[-1])
    highlighted = [c for c in circles if c.get_facecolor()[:3] == pytest.approx(tuple(int(HIGHLIGHT_COLOUR[i:i + 2], 16) / 255 for i in (1, 3, 5)))]
    assert [c.radius for c in highlighted] == [circles[1].radius], "SCU-Net, the second smallest, is highlighted"
    assert "78.9x" in fig.axes[0].get_title()


def test_unknown_highlight_is_an_error():
    with pytest.raises(KeyError, match="Nope"):
        parameter_bubbles(COUNTS, highlight="Nope")


# Figures 3 and 4: qualitative panels with the scores of what they show.
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402

from bacseg.figures.fig3_patches import write_figure3  # noqa: E402
from bacseg.figures.fig4_whole_images import figure4, write_figure4  # noqa: E402
from bacseg.figures.panels import make_row, panel_grid, pick_examples  # noqa: E402


def _whole_image(shape=(1200, 900)):
    truth = np.zeros(shape, bool)
    truth[100:1100, 450] = True  # a one-pixel-wide calcified vessel
    image = np.full(shape, 90, np.uint8)
    half = truth.copy()
    half[600:, :] = False  # finds the upper half: F1 = 2*500 / (500 + 1000)
    return image, truth, {"SCU-Net": half.astype(np.float16) * 0.9, "U-Net": truth * 0.4, "MyNet": truth * 1.0}


def test_row_scores_at_full_resolution_and_keeps_thin_lines_visible():
    image, truth, maps = _whole_image()
    row = make_row("img", image, truth, maps, cutoff=0.5, max_side=300)
    assert row.f1["SCU-Net"] == pytest.approx(2 / 3) and row.f1["U-Net"] == 0.0 and row.f1["MyNet"] == 1.0
    assert row.truth.shape == (300, 225) and row.truth[:, 112].sum() > 200, "the 1-px line survives the 4x reduction"


def test_whole_image_panels_print_f1_on_every_model_in_the_papers_column_order():
    image, truth, maps = _whole_image()
    fig = figure4([make_row("img", image, truth, maps)])
    assert [ax.get_title() for ax in fig.axes] == ["Image", "Ground truth", "U-Net", "SCU-Net"], "paper's subset, order"
    texts = [[t.get_text() for t in ax.texts] for ax in fig.axes]
    assert texts == [[], [], ["F1 0.000"], ["F1 0.667"]]
    assert not any(ax.texts for ax in panel_grid([make_row("img", image, truth, maps)]).axes), "Figure 3: no scores"


def test_examples_run_from_best_to_worst_and_skip_calcification_free_samples():
    per_sample = pd.DataFrame({"image_id": list("abcdef"), "tp": [5, 2, 3, 1, 0, 0], "fn": [1, 2, 1, 5, 4, 0],
                               "f1": [0.9, 0.5, 0.6, 0.2, 0.0, np.nan]})
    assert pick_examples(per_sample, k=3)["image_id"].tolist() == ["a", "b", "e"]
    with pytest.raises(ValueError, match="no sample"):
        pick_examples(per_sample.iloc[[5]])


def test_figures_3_and_4_are_written_from_the_workflow_files(tmp_path):
    image, truth, maps = _whole_image()
    for folder in ("images", "bac_masks", "maps"):
        (tmp_path / folder).mkdir()
    Image.fromarray(image).save(tmp_path / "images" / "img.png")
    Image.fromarray(truth.astype(np.uint8) * 255).save(tmp_path / "bac_masks" / "img.png")
    paths = {}
    for model, probability in maps.items():
        np.save(tmp_path / "maps" / f"{model}.npy", probability.astype(np.float16))
        paths[model] = {"img": tmp_path / "maps" / f"{model}.npy"}
    pd.DataFrame({"image_id": ["img"], "image_png": ["images/img.png"], "bac_mask_png": ["bac_masks/img.png"]}).to_csv(
        tmp_path / "preprocessed.csv", index=False)
    outputs = {k: tmp_path / "out" / f"fig{k}" for k in ("3.pdf", "3.png", "4.pdf", "4.png")}
    patches = pd.DataFrame({"image_id": ["img", "img"], "y": [0, 512], "x": [0, 300]})
    write_figure3(patches, tmp_path / "preprocessed.csv", paths, size=256, pdf=outputs["3.pdf"], png=outputs["3.png"])
    write_figure4(patches[["image_id"]].iloc[:1], tmp_path / "preprocessed.csv", paths,
                  pdf=outputs["4.pdf"], png=outputs["4.png"])
    for path in outputs.values():
        assert path.read_bytes()[:4] in (b"%PDF", b"\x89PNG")
    width, height = Image.open(outputs["3.png"]).size
    assert width > 1.8 * height, "two patch rows of four columns"
