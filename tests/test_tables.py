"""Table 1 in the paper's layout, beside the paper's numbers, and the p-value table, from per-sample tables."""

import json

import numpy as np
import pandas as pd
import pytest

from bacseg.metrics.segmentation import with_scores
from bacseg.tables import paper_results, read_per_sample, write_paper_comparison, write_pvalues, write_table1


def _per_sample(rng, n, quality, patches=False):
    truth = rng.integers(50, 200, n)
    tp = (truth * quality).astype(int)
    counts = pd.DataFrame({"tp": tp, "fp": rng.integers(0, 60, n), "tn": 10_000, "fn": truth - tp})
    ids = {"image_id": [f"i{k // 3 if patches else k}" for k in range(n)]}
    if patches:
        ids |= {"y": [448 * (k % 3) for k in range(n)], "x": 0}
    return with_scores(pd.concat([pd.DataFrame(ids), counts], axis=1))


@pytest.fixture
def per_sample():
    rng = np.random.default_rng(3)
    models = {"SCU-Net": 0.8, "SegNet": 0.7, "FPENet": 0.6, "MyNet": 0.5}
    patch = {m: _per_sample(rng, 9, q, patches=True) for m, q in models.items()}
    whole = {m: _per_sample(rng, 6, q) for m, q in models.items() if m != "MyNet"}
    whole["SCU-Net"].loc[0, ["tp", "fp", "fn"]] = 0  # a calcification-free image left empty: F1 undefined
    whole["SCU-Net"] = with_scores(whole["SCU-Net"])
    return patch, whole


def test_table1_rows_in_the_paper_order_with_mean_and_sd(per_sample, tmp_path):
    patch, whole = per_sample
    paths = {k: tmp_path / f"table1.{k}" for k in ("csv", "markdown", "latex")}
    table = write_table1(patch, whole, **paths)
    assert table.index.tolist() == ["SegNet", "SCU-Net", "FPENet", "MyNet"], "largest network first, as the paper"
    f1 = whole["SCU-Net"]["f1"].dropna()
    assert table.at["SCU-Net", "f1_whole_image_mean"] == pytest.approx(f1.mean())
    assert table.at["SCU-Net", "f1_whole_image_sd"] == pytest.approx(f1.std(ddof=1))
    assert table.at["SCU-Net", "whole_image_n_empty_both"] == 1 and table.at["SCU-Net", "patch_n"] == 9
    assert np.isnan(table.at["MyNet", "f1_whole_image_mean"]), "no whole-image maps for MyNet"
    pd.testing.assert_frame_equal(pd.read_csv(paths["csv"], index_col="model"), table, check_dtype=False)

    markdown = paths["markdown"].read_text().splitlines()
    assert markdown[0].startswith("| Model | Recall (patch-wise) | Recall (whole-image) | Precision (patch-wise)")
    scunet = next(line for line in markdown if line.startswith("| SCU-Net"))
    assert f"{f1.mean():.3f} ± {f1.std(ddof=1):.3f}" in scunet
    assert next(line for line in markdown if line.startswith("| MyNet")).endswith("| 9 | - |")

    latex = paths["latex"].read_text()
    assert r"\multicolumn{2}{c}{F1/Dice}" in latex and r"\begin{tabular}{lccccccccccrr}" in latex
    lines = latex.splitlines()
    body = lines[lines.index(r"\midrule") + 1:lines.index(r"\bottomrule")]
    assert len(body) == 4 and {line.count("&") for line in body} == {12}, "13 columns in every row"
    assert f"{f1.mean():.3f} $\\pm$ {f1.std(ddof=1):.3f}" in latex


def test_beside_the_papers_numbers(per_sample, tmp_path):
    table = write_table1(*per_sample, csv=tmp_path / "t.csv", markdown=tmp_path / "t.md", latex=tmp_path / "t.tex")
    comparison = write_paper_comparison(table, csv=tmp_path / "c.csv", markdown=tmp_path / "c.md")
    row = comparison.query("model == 'SCU-Net' and level == 'whole_image' and metric == 'f1'").iloc[0]
    assert (row["paper_mean"], row["paper_sd"]) == (0.729, 0.093)
    assert row["difference"] == pytest.approx(table.at["SCU-Net", "f1_whole_image_mean"] - 0.729)
    assert len(comparison) == 14 * 2 * 5, "the paper's 13 models and MyNet, two levels, five metrics"
    markdown = (tmp_path / "c.md").read_text()
    assert "| U-Net | 0.738 ± 0.092 → - |" in markdown, "a paper model not run here shows a dash"


def test_p_value_table(per_sample, tmp_path):
    tests = write_pvalues(*per_sample, csv=tmp_path / "p.csv", markdown=tmp_path / "p.md")
    assert set(tests["level"]) == {"patch", "whole_image"}
    assert tests.query("level == 'whole_image'")["model"].unique().tolist() == ["SegNet", "FPENet"]
    assert tests.query("level == 'patch'")["model"].unique().tolist() == ["SegNet", "FPENet", "MyNet"]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "p.csv"), tests, check_dtype=False)
    assert "paired t-test (Holm) / Wilcoxon (Holm)" in (tmp_path / "p.md").read_text()


def test_packaged_paper_numbers_are_the_reference_copy(reference_dir):
    assert paper_results() == json.loads((reference_dir / "paper_results.json").read_text())


def test_per_sample_tables_read_back_with_text_ids(per_sample, tmp_path):
    _, whole = per_sample
    paths = []
    for model, frame in whole.items():
        frame.assign(image_id=frame.index.map(lambda i: f"{i:04d}")).to_csv(tmp_path / f"{model}.csv", index=False)
        paths.append(tmp_path / f"{model}.csv")
    tables = read_per_sample(list(whole), paths)
    assert list(tables) == list(whole) and tables["SegNet"]["image_id"].iloc[1] == "0001"
    with pytest.raises(ValueError, match="3 models but 2"):
        read_per_sample(list(whole), paths[:2])
