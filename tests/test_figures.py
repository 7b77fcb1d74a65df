"""Figures draw what they claim: Figure 2's circle areas are proportional to parameter counts, Figures 3-4
show each model's mask with the F1 of what is shown; the evaluation review notebook runs on real files."""

import math
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Circle
from nbclient import NotebookClient
from PIL import Image

from bacseg.evaluation import evaluate_images, probability_maps_in
from bacseg.figures.fig2_parameters import HIGHLIGHT_COLOUR, parameter_bubbles
from bacseg.figures.fig3_patches import write_figure3
from bacseg.figures.fig4_whole_images import figure4, write_figure4
from bacseg.figures.panels import make_row, panel_grid, pick_examples
from bacseg.metrics.discrimination import write_discrimination
from bacseg.tables import write_paper_comparison, write_pvalues, write_table1

REPO = Path(__file__).resolve().parents[1]

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


def _whole_image():
    shape = (1200, 900)
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


def test_evaluation_review_notebook_runs_on_the_stages_outputs(tmp_path):
    """The review notebook, executed as Snakemake would (a `snakemake` object first), on small real files."""
    rng = np.random.default_rng(5)
    image, truth, _ = _whole_image()
    for folder in ("images", "bac_masks"):
        (tmp_path / folder).mkdir()
    ids = [f"A{k:03d}" for k in range(4)]
    for image_id in ids:
        Image.fromarray(image).save(tmp_path / "images" / f"{image_id}.png")
        Image.fromarray(truth.astype(np.uint8) * 255).save(tmp_path / "bac_masks" / f"{image_id}.png")
    table = tmp_path / "preprocessed.csv"
    pd.DataFrame({"image_id": ids, "image_png": [f"images/{i}.png" for i in ids],
                  "bac_mask_png": [f"bac_masks/{i}.png" for i in ids]}).to_csv(table, index=False)
    models, inputs = ["SCU-Net", "U-Net"], {"whole_image": [], "predictions": []}
    whole, patch = {}, {}
    for model, noise in zip(models, (0.45, 0.6)):
        maps_dir = tmp_path / "maps" / model
        maps_dir.mkdir(parents=True)
        for image_id in ids:
            np.save(maps_dir / f"{image_id}.npy", np.clip(truth * 0.6 + rng.random(truth.shape) * noise, 0, 1)
                    .astype(np.float16))
        whole[model] = evaluate_images(probability_maps_in(maps_dir), table)
        patch[model] = whole[model].assign(y=0, x=0)
        whole[model].to_csv(tmp_path / f"{model}_whole.csv", index=False)
        inputs["whole_image"].append(str(tmp_path / f"{model}_whole.csv"))
        inputs["predictions"].append(str(maps_dir))
    out = {name: str(tmp_path / name) for name in ("t1.csv", "t1.md", "t1.tex", "c.csv", "c.md", "p.csv", "p.md",
                                                    "d.csv", "d.json")}
    t1 = write_table1(patch, whole, csv=out["t1.csv"], markdown=out["t1.md"], latex=out["t1.tex"])
    write_paper_comparison(t1, csv=out["c.csv"], markdown=out["c.md"])
    write_pvalues(patch, whole, csv=out["p.csv"], markdown=out["p.md"])
    write_discrimination(whole, csv=out["d.csv"], json_path=out["d.json"])
    inputs |= {"table1": out["t1.csv"], "comparison": out["c.csv"], "pvalues": out["p.csv"],
               "discrimination": out["d.csv"], "preprocessed": str(table)}
    stand_in = (
        "from types import SimpleNamespace as N\n"
        f"snakemake = N(input=N(**{inputs!r}), params=N(models={models!r}, cutoff=0.5, examples=2),\n"
        f"              output=N(f1_versus_paper={str(tmp_path / 'f1.csv')!r}))"
    )
    notebook = nbformat.read(REPO / "workflow" / "notebooks" / "evaluation_review.py.ipynb", as_version=4)
    assert notebook.metadata["language_info"]["name"] == "python", "Snakemake's notebook directive needs it"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    notebook.cells.insert(0, nbformat.v4.new_code_cell(stand_in))
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    nbformat.write(notebook, tmp_path / "evaluation_review.ipynb")  # for reading when this test fails
    f1 = pd.read_csv(tmp_path / "f1.csv").set_index(["model", "level"])
    assert sorted(f1["replication_mean"].dropna().index) == [(m, lv) for m in models for lv in ("patch", "whole_image")]
    assert f1.loc[("U-Net", "whole_image"), "replication_mean"] == pytest.approx(t1.loc["U-Net", "f1_whole_image_mean"])
    images = sum(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
                 for cell in notebook.cells for o in cell.get("outputs", []))
    assert images >= 3, "paper scatter, F1 boxes and the prediction panels are drawn"
