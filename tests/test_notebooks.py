"""The review notebooks, one per stage: each reads on its own (a Markdown introduction, Markdown before every
plot or table), runs on small hand-made stage outputs with a stand-in for Snakemake's object, and on the shared
smoke run is executed without an error, draws its figures and is rendered to HTML without Snakemake's preamble."""

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from bacseg.clinical import figure5_table
from bacseg.longitudinal import METHODS, by_subject, summary
from bacseg.metrics.quantification import metric_names
from bacseg.quantification import TEXT_COLUMNS

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "workflow" / "notebooks"
REVIEWS = ("data_review", "training_review", "evaluation_review", "quantification_review", "longitudinal_review")

# What the notebooks read of Snakemake's object: attributes, and get() for optional inputs.
STAND_IN = """
class Named(dict):
    __getattr__ = dict.__getitem__

snakemake = Named(input=Named({inputs!r}), params=Named({params!r}), output=Named({outputs!r}))
"""


def execute(name: str, folder: Path, *, inputs: dict, params: dict, outputs: dict) -> nbformat.NotebookNode:
    """The workflow's notebook executed in ``folder`` with a stand-in ``snakemake`` cell first (kept for reading)."""
    notebook = nbformat.read(NOTEBOOKS / f"{name}.py.ipynb", as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(STAND_IN.format(inputs=inputs, params=params,
                                                                         outputs=outputs)))
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    try:
        client.execute()
    finally:
        nbformat.write(notebook, folder / f"{name}.ipynb")
    return notebook


def outputs_of(notebook: nbformat.NotebookNode) -> list[dict]:
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def images(notebook: nbformat.NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for o in outputs_of(notebook))


def printed(notebook: nbformat.NotebookNode) -> str:
    return "".join(o["text"] for o in outputs_of(notebook) if o["output_type"] == "stream")


@pytest.mark.parametrize("name", REVIEWS)
def test_review_notebook_reads_on_its_own(name):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.py.ipynb", as_version=4)
    assert notebook.metadata["language_info"]["name"] == "python", "Snakemake's notebook directive needs it"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds[0] == "markdown" and notebook.cells[0].source.startswith("# "), "a titled introduction first"
    assert all(kinds[k - 1] == "markdown" for k, kind in enumerate(kinds) if kind == "code"), \
        "Markdown before every code cell"
    assert not [cell for cell in notebook.cells if cell.cell_type == "code" and (cell.outputs or cell.execution_count)]


@pytest.mark.parametrize("name", REVIEWS)
def test_review_notebook_says_what_to_look_for(name):
    introduction = nbformat.read(NOTEBOOKS / f"{name}.py.ipynb", as_version=4).cells[0].source
    assert "what to look for" in introduction.lower()


def _curve(tmp_path: Path, model: str, val_dice: list[float], record: dict) -> tuple[str, str]:
    epochs = range(1, len(val_dice) + 1)
    curve = pd.DataFrame({"epoch": epochs, "step": [10 * e for e in epochs], "train_loss": [1 / e for e in epochs],
                          "val_loss": [1.2 / e for e in epochs], "val_dice": val_dice,
                          "seconds": [5.0] + [2.0] * (len(val_dice) - 1)})  # fmt: skip
    curve.to_csv(tmp_path / f"{model}.csv", index=False)
    (tmp_path / f"{model}.json").write_text(json.dumps({"model_name": model, "epochs": len(val_dice),
                                                        "steps": 10 * len(val_dice), "train_patches": 12,
                                                        "validation_patches": 4, "resumed_from_epoch": None,
                                                        **record}))  # fmt: skip
    return str(tmp_path / f"{model}.csv"), str(tmp_path / f"{model}.json")


def test_training_review_summarises_each_network(tmp_path):
    """The summary's best epoch comes from the training record, checked against the highest Dice of the log."""
    models = ["SCU-Net", "U-Net"]
    files = [_curve(tmp_path, "SCU-Net", [0.5, 0.7, 0.6], {"best_epoch": 2, "best_val_dice": 0.7}),
             _curve(tmp_path, "U-Net", [0.4, 0.5, 0.8], {"best_epoch": 2, "best_val_dice": 0.5})]
    notebook = execute("training_review", tmp_path, params={"models": models},
                       inputs={"metrics": [m for m, _ in files], "summaries": [s for _, s in files]},
                       outputs={"summary": str(tmp_path / "summary.csv")})
    summary_table = pd.read_csv(tmp_path / "summary.csv", index_col="model")
    assert sorted(summary_table.index) == models
    scunet = summary_table.loc["SCU-Net"]
    assert [scunet["best_epoch"], scunet["training_seconds"], scunet["last_val_loss"]] == [2, 9.0, pytest.approx(0.4)]
    assert summary_table["best_epoch_is_curve_max"].to_dict() == {"SCU-Net": True, "U-Net": False}
    assert images(notebook) >= 3, "all curves, one panel per network, seconds per epoch"


def test_quantification_review_without_breast_ct(tmp_path):
    """Predicted = 2 x truth on four validation images: every ratio is 2; a fifth has no calcification."""
    names = metric_names([50, 100])
    rows = []
    for k in range(5):
        truth = {name: (k + 1) * (10 + i) if k < 4 else 0 for i, name in enumerate(names)}
        predicted = {name: 2 * value if k < 4 else 3 for name, value in truth.items()}
        for source, values in (("truth", truth), ("predicted", predicted)):
            rows.append({"image_id": f"A-{k}", "subject_id": f"S{k}", "exam_date": "2020-01-01", "laterality": "L",
                         "view": "CC", "split": "validation", "source": source, "model": "SCU-Net",
                         "intensity_source": "preprocessed", **values})  # fmt: skip
    rows.append({**rows[0], "image_id": "A-train", "split": "train"})  # a training image: not in the review
    metrics = pd.DataFrame(rows)
    assert set(TEXT_COLUMNS) <= set(metrics.columns)
    metrics.to_csv(tmp_path / "metrics.csv", index=False)
    figure5_table(metrics, names).to_csv(tmp_path / "agreement.csv", index=False)
    notebook = execute("quantification_review", tmp_path,
                       inputs={"metrics": str(tmp_path / "metrics.csv"), "agreement": str(tmp_path / "agreement.csv")},
                       params={"model": "SCU-Net", "cutoff": 0.5, "intensity_threshold": 100, "thresholds": [100, 50],
                               "split": "validation"},
                       outputs={"ratios": str(tmp_path / "ratios.csv")})  # fmt: skip
    ratios = pd.read_csv(tmp_path / "ratios.csv", index_col="metric")
    assert ratios.index.tolist() == names
    assert (ratios[["median", "q1", "q3"]] == 2).all().all()
    assert (ratios["images"] == 4).all() and (ratios["images_truth_zero"] == 1).all()
    assert "5 validation images paired" in printed(notebook)
    assert "no breast-CT table" in printed(notebook)
    assert images(notebook) >= 3, "Figure 5's panels, the X sweep, the ratios"


def _exams(with_truth: bool) -> pd.DataFrame:
    """Two subjects, three exams. S1's sum 7, 9, 8 falls once (rho 0.5 with a rising burden), its area-normalised sum
    never; its views LCC 1 2 3, LMLO 3 2 1, RCC 2 2 2, RMLO 1 3 2 fall 3 times in 8 pairs. S2 only rises."""
    views = {"S1": [[1, 3, 2, 1], [2, 2, 2, 3], [3, 1, 2, 2]], "S2": [[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]]}
    rows = []
    for subject, exams in views.items():
        for year, values in enumerate(exams):
            row = {"subject_id": subject, "exam_date": f"201{year}-03-01", "years_since_first_exam": float(year),
                   "n_views": 4, **{f"TAM_100_{v}": x for v, x in zip(("LCC", "LMLO", "RCC", "RMLO"), values)},
                   "TAM_100_sum": sum(values), "TAM_100_per_area_sum": 0.1 * (year + 1)}  # fmt: skip
            if with_truth:
                row |= {"true_burden_L": 1.0 + year, "true_burden_R": 2.0 + year, "true_burden": 3.0 + 2 * year}
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("with_truth", [True, False])
def test_longitudinal_review_counts_decreases_per_subject(tmp_path, with_truth):
    exams = _exams(with_truth)
    exams.to_csv(tmp_path / "per_exam.csv", index=False)
    summary(by_subject(exams)).to_csv(tmp_path / "summary.csv", index=False)
    notebook = execute("longitudinal_review", tmp_path,
                       inputs={"per_exam": str(tmp_path / "per_exam.csv"), "summary": str(tmp_path / "summary.csv")},
                       params={"intensity_threshold": 100, "subjects": 5},
                       outputs={"by_subject": str(tmp_path / "by_subject.csv")})  # fmt: skip
    table = pd.read_csv(tmp_path / "by_subject.csv").set_index(["subject_id", "method"])
    assert table.loc["S1", ["decreases", "pairs"]].to_dict("index") == {
        "per_view": {"decreases": 3, "pairs": 8}, "sum": {"decreases": 1, "pairs": 2},
        "per_area_sum": {"decreases": 0, "pairs": 2}}
    assert (table.loc["S2", "decreases"] == 0).all()
    if with_truth:
        assert table.loc[("S1", "sum"), "spearman_rho"] == pytest.approx(0.5)
        assert table.loc[("S1", "per_area_sum"), "spearman_rho"] == pytest.approx(1.0)
        assert images(notebook) == 3, "the readings, the decreases, the correlations"
    else:
        assert "spearman_rho" not in table.columns and "No truth" in printed(notebook)
        assert images(notebook) == 2


# On the shared smoke run (the `smoke_run` fixture: its results/ folder).


@pytest.mark.parametrize("name", REVIEWS)
def test_smoke_run_executes_and_renders_the_review(smoke_run, name):
    notebook = nbformat.read(smoke_run / "notebooks" / f"{name}.ipynb", as_version=4)
    assert all(cell.execution_count for cell in notebook.cells if cell.cell_type == "code"), "every cell ran"
    assert not [o for o in outputs_of(notebook) if o["output_type"] == "error"]
    assert images(notebook) >= 1
    html = (smoke_run / "notebooks" / f"{name}.html").read_text()
    assert html.count("data:image/png;base64,") >= images(notebook), "the figures are embedded"
    assert notebook.cells[1].source.splitlines()[0].removeprefix("# ") in html, "the introduction is there"
    assert "snakemake preamble" not in html and str(smoke_run.parent) not in html, "no job preamble, no paths"


def test_smoke_run_review_tables_cover_every_network_metric_and_subject(smoke_run):
    from bacseg.models import model_names

    training = pd.read_csv(smoke_run / "review" / "training_summary.csv", index_col="model")
    assert sorted(training.index) == sorted(model_names()) and training["best_epoch_is_curve_max"].all()
    ratios = pd.read_csv(smoke_run / "review" / "quantification_ratios.csv", index_col="metric")
    agreement = pd.read_csv(smoke_run / "tables" / "fig5_agreement.csv")
    assert ratios.index.tolist() == agreement["metric"].tolist()
    subjects = pd.read_csv(smoke_run / "review" / "longitudinal_by_subject.csv")
    manifest = pd.read_csv(smoke_run / "data" / "C" / "manifest.csv", dtype=str)
    assert set(subjects["subject_id"]) == set(manifest["subject_id"])
    assert all(set(methods) == set(METHODS) for _, methods in subjects.groupby("subject_id")["method"])
