"""The real Snakemake DAG: dry run, config validation, and the smoke run end to end.

The smoke run writes into a temporary working directory (``--directory``), so the checkout's own
results/ is never touched.
"""

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from planted_phi import leaks, synthetic_run_identifiers
from workflow_runs import REPO, SMOKE, merged_config, snakemake


def test_dry_run_lists_the_data_stages(tmp_path):
    result = snakemake(tmp_path, "-n", "--quiet", "rules")
    listed = result.stdout + result.stderr
    for rule in ("synthesize_cohort", "ingest", "preprocess", "patch_index", "figure2", "data_review"):
        assert rule in listed, f"{rule} missing from the dry run:\n{listed}"


@pytest.mark.parametrize(
    "override, named",
    [("no_such_key=1", "no_such_key"), ("seed=minus_one", "seed"), ("patches={'size':500}", "size")],
)
def test_bad_config_fails_at_start_naming_the_key(tmp_path, override, named):
    result = snakemake(tmp_path, "-n", "--config", override, check=False)
    assert result.returncode != 0
    assert named in result.stderr + result.stdout


def test_smoke_run_produces_the_patch_index(smoke_run):
    index = pd.read_csv(smoke_run / "patches" / "index.csv")
    counts = json.loads((smoke_run / "patches" / "counts.json").read_text())
    assert len(index) > 0
    assert set(index["split"]) == {"train", "validation"}
    assert counts["counts"]["train"]["selected"] > 0 and counts["counts"]["validation"]["selected"] > 0


def test_image_ids_are_unique_across_cohorts(smoke_run):
    manifests = pd.concat([pd.read_csv(smoke_run / "data" / c / "manifest.csv") for c in "ABC"])
    assert set(manifests["cohort"]) == {"A", "B", "C"}
    assert manifests["image_id"].is_unique


def test_smoke_run_keeps_identifiers_out_of_results(smoke_run):
    """The smoke run is the planted-identifier run of the whole DAG: the synthetic DICOMs carry PatientName,
    PatientID, PatientBirthDate and OtherPatientIDs and sit in folders named after them, as hospital archives are
    laid out, in the private folder beside results/. None of these values may reach any file under results/
    (tables, maps, figures, notebooks, the manuscript, logs) or Snakemake's own log, in content or in a name."""
    identifiers = synthetic_run_identifiers(smoke_run)
    assert any(name.startswith("SYNTHETIC_") for name in identifiers), "the archive is laid out by patient"
    assert {"figures", "notebooks", "manuscript", "logs", "tables"} <= {p.name for p in smoke_run.iterdir()}
    assert not leaks(smoke_run, identifiers)
    assert not leaks(smoke_run.parent / ".snakemake" / "log", identifiers)


def test_cli_preprocess_writes_what_the_workflow_wrote(smoke_run, tmp_path):
    """`bacseg preprocess FILE.dcm --annotations EXPORT.json` on one annotated image of the smoke run: the same
    PNG bytes and the same table row (but the split, which only the manifest knows)."""
    from bacseg.cli import main

    table = pd.read_csv(smoke_run / "preprocessed" / "A" / "preprocessed.csv", keep_default_na=False)
    row = table[table["bac_pixels"] > 0].iloc[0]
    sources = pd.read_csv(smoke_run.parent / "private" / "A" / "source_files.csv").set_index("image_id")["dicom_path"]
    export = smoke_run.parent / "private" / "synthetic" / "A" / "annotations.json"
    argv = ["preprocess", sources[row["image_id"]], "--annotations", str(export), "--image-id", row["image_id"],
            "--config", str(REPO / "config.yaml"), "--out", str(tmp_path)]  # fmt: skip
    assert yaml.safe_load(SMOKE.read_text()).keys().isdisjoint({"preprocess"}), "config.yaml's preprocess section"
    assert main(argv) == 0
    mine = pd.read_csv(tmp_path / "preprocessed.csv", keep_default_na=False).iloc[0]
    assert mine.drop("split").equals(row.drop("split"))
    for column in ("image_png", "breast_mask_png", "bac_mask_png"):
        workflow_png = smoke_run / "preprocessed" / "A" / row[column]
        assert (tmp_path / mine[column]).read_bytes() == workflow_png.read_bytes(), column


def test_smoke_run_draws_figure2_and_executes_the_review(smoke_run):
    assert (smoke_run / "figures" / "fig2_parameters.pdf").stat().st_size > 0
    notebook = json.loads((smoke_run / "notebooks" / "data_review.ipynb").read_text())
    outputs = [o for cell in notebook["cells"] if cell["cell_type"] == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)


def test_smoke_run_trains_every_network_without_nan(smoke_run):
    """Every registered network is trained for the smoke schedule, its curve finite, its best epoch saved."""
    from bacseg.models import model_names

    smoke = yaml.safe_load(SMOKE.read_text())
    for model in model_names():
        folder = smoke_run / "models" / "trained" / model
        curve = pd.read_csv(folder / "metrics.csv")
        assert len(curve) == smoke["train"]["epochs"], model
        assert curve[["train_loss", "val_loss", "val_dice"]].notna().all().all(), model
        assert (folder / "best" / "metadata").is_dir(), model
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["best_epoch"] in curve["epoch"].tolist(), model
        log = (smoke_run / "logs" / "train" / f"{model}.log").read_text()
        assert f"{model} epoch {len(curve)} of {len(curve)}: train loss" in log, "the log's epoch lines read whole"


def test_smoke_run_scores_every_network_in_table1(smoke_run):
    """Table 1 has a row per network with patch-wise and whole-image scores, the paper's numbers beside it,
    and p-values of every baseline against SCU-Net."""
    from bacseg.models import model_names

    table = pd.read_csv(smoke_run / "tables" / "table1.csv", index_col=0)
    assert sorted(table.index) == sorted(model_names())
    scores = table[[c for c in table.columns if c.endswith("_mean")]]
    assert ((scores >= 0) & (scores <= 1) | scores.isna()).all().all()
    assert table["accuracy_whole_image_mean"].notna().all() and (table["whole_image_n"] > 0).all()
    assert "SCU-Net" in (smoke_run / "tables" / "table1.md").read_text()
    assert "\\toprule" in (smoke_run / "tables" / "table1.tex").read_text()
    versus = pd.read_csv(smoke_run / "tables" / "table1_vs_paper.csv")
    f1 = versus[versus["metric"] == "f1"]
    assert set(f1["model"]) == set(model_names()) and f1["replication_mean"].notna().all()
    pvalues = pd.read_csv(smoke_run / "tables" / "table1_pvalues.csv")
    assert set(pvalues["model"]) == set(model_names()) - {"SCU-Net"}
    assert set(pvalues["level"]) == {"patch", "whole_image"}


def test_smoke_run_predicts_whole_images_and_draws_figures_3_and_4(smoke_run):
    from bacseg.evaluation import scored_images

    scored = scored_images(smoke_run / "preprocessed" / "A" / "preprocessed.csv", "validation")
    maps = sorted((smoke_run / "predictions" / "SCU-Net" / "A" / "probabilities").glob("*.npy"))
    assert [p.stem for p in maps] == scored
    probabilities = np.load(maps[0])
    assert probabilities.dtype == np.float16 and 0 <= probabilities.min() and probabilities.max() <= 1
    for figure in ("fig3_patches", "fig4_whole_images"):
        for suffix in (".pdf", ".png"):
            assert (smoke_run / "figures" / f"{figure}{suffix}").stat().st_size > 10_000, figure
    notebook = json.loads((smoke_run / "notebooks" / "evaluation_review.ipynb").read_text())
    outputs = [o for cell in notebook["cells"] if cell["cell_type"] == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]


def test_smoke_run_quantifies_every_cohort(smoke_run):
    """One metrics table per cohort: the quantified network's map of every image it predicted and the label
    mask of every annotated one, consistent with preprocessing's own counts."""
    from bacseg.metrics.quantification import metric_names
    from bacseg.quantification import metrics_columns, read_metrics
    from bacseg.settings import section_defaults

    thresholds = section_defaults("quantify")["thresholds"]
    for cohort in "ABC":
        metrics = read_metrics(smoke_run / "quantification" / cohort / "metrics.csv")
        predictions = pd.read_csv(smoke_run / "predictions" / "SCU-Net" / cohort / "predictions.csv", dtype=str)
        assert list(metrics.columns) == metrics_columns(thresholds), cohort
        predicted = metrics[metrics["source"] == "predicted"]
        assert sorted(predicted["image_id"]) == sorted(predictions["image_id"]), cohort
        assert (predicted["model"] == "SCU-Net").all()
        tam = metrics[[f"TAM_{x}" for x in sorted(thresholds)]].to_numpy()
        assert (np.diff(tam, axis=1) <= 0).all() and (tam[:, 0] <= metrics["AM"]).all(), cohort
        assert np.allclose(metrics["AM_mm2"], metrics["AM"] * metrics["pixel_area_mm2"]), cohort
    preprocessed = pd.read_csv(smoke_run / "preprocessed" / "A" / "preprocessed.csv", dtype={"image_id": str})
    truth = read_metrics(smoke_run / "quantification" / "A" / "metrics.csv").query("source == 'truth'")
    labels = preprocessed.set_index("image_id").loc[truth["image_id"], "bac_pixels"]
    assert len(truth) and (truth["AM"].to_numpy() == labels.to_numpy()).all()
    agreement = pd.read_csv(smoke_run / "tables" / "fig5_agreement.csv")
    assert agreement["metric"].tolist() == metric_names(thresholds) and (agreement["n"] >= 2).all()


def test_smoke_run_draws_the_clinical_figures_and_tables(smoke_run):
    """Figure 5, the breast-CT comparison (paper beside ours, and against the synthetic truth), the
    longitudinal table of the three readings and Figure 6."""
    ct = pd.read_csv(smoke_run / "tables" / "ct_comparison.csv")
    assert {"PM", "AM", "SIM", "TAM_100", "TSIM_100"} <= set(ct["measure"])
    assert ct.loc[ct["measure"] == "PM", "paper_r2_ct_calcium_mass_mg"].item() == 0.866
    assert ct["r2_true_breast_calcium_mass_mg"].notna().any()
    subjects = pd.read_csv(smoke_run / "quantification" / "B" / "per_subject.csv", dtype={"subject_id": str})
    manifest = pd.read_csv(smoke_run / "data" / "B" / "manifest.csv", dtype=str)
    assert sorted(subjects["subject_id"]) == sorted(manifest["subject_id"].unique())
    longitudinal = pd.read_csv(smoke_run / "tables" / "longitudinal.csv")
    assert len(longitudinal) == 3 and longitudinal["mean_rho"].notna().all()
    for figure in ("fig5_agreement", "ct_comparison", "fig6_longitudinal"):
        for suffix in (".pdf", ".png"):
            assert (smoke_run / "figures" / f"{figure}{suffix}").stat().st_size > 10_000, figure


def test_editing_a_plotting_script_plans_that_plot_only(smoke_run):
    """Compute and plotting are separate rules: after a change to Figure 5's script, the finished smoke run's
    plan reruns Figure 5 and what embeds it (the manuscript, the aggregate target), never quantification, prediction
    or training."""
    script = REPO / "workflow" / "scripts" / "figure5.py"
    original = script.read_text()
    try:
        script.write_text(original + "# an edit to the plot\n")
        plan = snakemake(smoke_run.parent, "--dry-run", "--cores", "1", "all", "--quiet", "rules")
    finally:
        script.write_text(original)
    table = plan.stdout[plan.stdout.index("job "):plan.stdout.index("total")]
    planned = {line.split()[0] for line in table.splitlines()[2:] if line.strip()}
    assert planned == {"figure5", "manuscript", "all"}, plan.stdout


def test_smoke_runs_report_holds_every_reported_output_with_its_caption(smoke_run, tmp_path):
    """`snakemake --report` (what `make report` runs) of the finished smoke run: one self-contained HTML file with
    each output that a rule marks with report(), its rendered caption and its category."""
    report = tmp_path / "report.html"
    snakemake(smoke_run.parent, "--cores", "1", "--report", str(report))
    html = report.read_text()
    results, categories = (report_variable(html, name) for name in ("results", "categories"))
    declared = re.findall(r'report\(\s*"(results/[^"]+)"', "".join(
        path.read_text() for path in sorted((REPO / "workflow" / "rules").glob("*.smk"))))  # fmt: skip
    expected = {str(path.relative_to(smoke_run.parent)) for pattern in declared
                for path in smoke_run.parent.glob(re.sub(r"\{\w+\}", "*", pattern))}  # fmt: skip
    assert len(expected) >= len(declared) and set(results) == expected
    assert {"Figures", "Tables", "Quantification", "Manuscript"} <= set(categories)
    listed = {path for subcategories in categories.values() for paths in subcategories.values() for path in paths}
    assert listed == expected
    for path, item in results.items():
        assert item["caption"].startswith("<p>") and "{{" not in item["caption"], path
        assert item["data_uri"].startswith("data:"), path


def report_variable(html: str, name: str) -> dict:
    """A JSON object the Snakemake report assigns to ``var <name>`` (its results and their categories)."""
    start = re.search(rf"var {name} = (?=\{{\")", html)
    assert start, f"no `var {name}` object in the report"
    return json.JSONDecoder().raw_decode(html, start.end())[0]


def test_smoke_run_builds_the_manuscript_from_its_results(smoke_run):
    """The manuscript HTML of the smoke run: its sections, every network's row, the figures embedded, and the plain
    statement that the numbers come from synthetic data."""
    from bacseg.models import model_names

    html = (smoke_run / "manuscript" / "manuscript.html").read_text()
    for section in ("Methods as run", "Results", "Limitations"):
        assert f"<h2>{section}" in html, section
    assert all(name in html for name in model_names())
    assert html.count('<img src="data:image/png;base64,') >= 6, "Figures 2-6 and the CT figure embedded"
    assert "numbers in this manuscript come from synthetic data with known ground truth" in html


def test_smoke_run_records_its_config_and_versions(smoke_run):
    smoke = yaml.safe_load(SMOKE.read_text())
    provenance = json.loads((smoke_run / "provenance.json").read_text())
    assert provenance["config"]["patches"]["size"] == smoke["patches"]["size"]
    assert provenance["packages"]["jax"] and provenance["packages"]["snakemake"]


@pytest.mark.parametrize("name", ["smoke", "paper", "real_data", "authors_training", "realism"])
def test_alternative_configs_validate(name):
    """Each shipped config, merged over config.yaml as Snakemake merges it, satisfies the schema and fills the
    training and prediction settings; the epoch-scheduled ones do not inherit config.yaml's steps per epoch."""
    from snakemake.utils import validate

    from bacseg.inference.settings import settings_from_config
    from bacseg.settings import schema_path
    from bacseg.training import TrainSettings

    config = merged_config(REPO / "workflow" / "configs" / f"{name}.yaml")
    validate(config, str(schema_path()))
    assert config["patches"]["size"] % 32 == 0
    train = TrainSettings.from_mapping(config["train"])
    assert settings_from_config(config)["tile_size"] == config["patches"]["size"]
    if name in ("paper", "authors_training"):
        assert train.steps_per_epoch is None


def test_lint_finds_nothing(tmp_path):
    """`snakemake --lint` on the whole workflow: every finding fails (printed in full)."""
    result = snakemake(tmp_path, "--lint", check=False)
    findings = [line for line in (result.stdout + result.stderr).splitlines() if line.lstrip().startswith("* ")]
    assert result.returncode == 0 and not findings, result.stdout[-6000:] + result.stderr[-6000:]


def test_the_readmes_rule_graph_is_the_workflows(tmp_path):
    """docs/rulegraph.dot draws the rules and dependencies `snakemake --rulegraph` prints for the default config now
    (`make rulegraph` redraws it after a change to the rules), and the committed SVG beside it every one of its rules.
    Compared as (rule -> rule) edges: Snakemake numbers the nodes and orders the edges differently from run to run."""
    printed = snakemake(tmp_path, "--cores", "1", "--rulegraph", config=REPO / "config.yaml").stdout
    committed = (REPO / "docs" / "rulegraph.dot").read_text()
    assert rule_edges(printed) == rule_edges(committed), "the rules changed: run `make rulegraph`, commit docs/"
    rules = re.findall(r'label = "(\w+)"', committed)
    drawn = re.findall(r">(\w+)</text>", (REPO / "docs" / "rulegraph.svg").read_text())
    assert {"train", "predict", "manuscript"} <= set(rules) and sorted(drawn) == sorted(rules)


def rule_edges(dot: str) -> set[tuple[str, str]]:
    """The (upstream rule, downstream rule) edges of a `snakemake --rulegraph` graph, by rule name."""
    names = dict(re.findall(r'^\s*(\d+)\[label = "(\w+)"', dot, flags=re.M))
    edges = {(names[a], names[b]) for a, b in re.findall(r"^\s*(\d+) -> (\d+)$", dot, flags=re.M)}
    assert edges and len(names) == len(set(names.values())), dot
    return edges
