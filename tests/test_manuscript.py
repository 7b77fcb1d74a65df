"""The manuscript built from a results tree written by the project's own table writers: every table and figure in
one standalone HTML page, the numbers of the text read from the results (a changed result changes the text), the
run's provenance, the synthetic-data statement, and no result typed into the template."""

import base64
import html
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from matplotlib import pyplot as plt

from bacseg.clinical import figure5_markdown, figure5_table
from bacseg.ct_comparison import ct_comparison, ct_comparison_markdown
from bacseg.longitudinal import summary, summary_markdown
from bacseg.manuscript import ManuscriptInputs, build_manuscript, latex
from bacseg.metrics.quantification import metric_names
from bacseg.metrics.segmentation import with_scores
from bacseg.provenance import provenance
from bacseg.settings import load_config
from bacseg.tables import paper_results, write_paper_comparison, write_pvalues, write_table1

from conftest import REPO

SOURCE = REPO / "manuscript"
CAPTIONS = {"fig2_parameters": "fig2", "fig3_patches": "fig3", "fig4_whole_images": "fig4", "fig5_agreement": "fig5",
            "ct_comparison": "ct_figure", "fig6_longitudinal": "fig6"}  # fmt: skip
MODELS = {"SCU-Net": 0.8, "U-Net": 0.7, "SegNet": 0.6}


def _per_sample(rng, model_quality, n, patches):
    truth = rng.integers(50, 200, n)
    tp = (truth * model_quality).astype(int)
    counts = pd.DataFrame({"tp": tp, "fp": rng.integers(0, 60, n), "tn": 10_000, "fn": truth - tp})
    ids = pd.DataFrame({"image_id": [f"A-{k // 2 if patches else k}" for k in range(n)]})
    if patches:
        ids[["y", "x"]] = [[128 * (k % 2), 0] for k in range(n)]
    return with_scores(pd.concat([ids, counts], axis=1))


def _table1(folder, rng):
    patch = {m: _per_sample(rng, q, 8, patches=True) for m, q in MODELS.items()}
    whole = {m: _per_sample(rng, q, 4, patches=False) for m, q in MODELS.items()}
    table = write_table1(patch, whole, csv=folder / "table1.csv", markdown=folder / "table1.md",
                         latex=folder / "table1.tex")  # fmt: skip
    write_paper_comparison(table, csv=folder / "table1_vs_paper.csv", markdown=folder / "table1_vs_paper.md")
    write_pvalues(patch, whole, csv=folder / "table1_pvalues.csv", markdown=folder / "table1_pvalues.md")


def _clinical_tables(folder, rng, names):
    truth = rng.uniform(10, 1000, (6, len(names)))
    rows = [{"image_id": f"A-{i}", "source": source, "split": "validation",
             **dict(zip(names, values * (1 + rng.normal(0, 0.1, len(names))) if source == "predicted" else values))}
            for i, values in enumerate(truth) for source in ("predicted", "truth")]  # fmt: skip
    fig5 = figure5_table(pd.DataFrame(rows), names)
    fig5.to_csv(folder / "fig5_agreement.csv", index=False)
    (folder / "fig5_agreement.md").write_text(figure5_markdown(fig5))

    mass = rng.uniform(1, 50, 5)
    subjects = pd.DataFrame({"subject_id": [f"B-S{i}" for i in range(5)], "ct_calcium_mass_mg": mass * 1.05,
                             "ct_calcified_voxels": mass * 30, "true_breast_calcium_mass_mg": mass,
                             "true_calcium_mass_mg": mass * 0.9, **{n: mass * rng.uniform(5, 9, 5) for n in names}})
    ct = ct_comparison(subjects, names)
    ct.to_csv(folder / "ct_comparison.csv", index=False)
    (folder / "ct_comparison.md").write_text(ct_comparison_markdown(ct))

    by_subject = pd.DataFrame([{"subject_id": f"C-S{s}", "method": method, "pairs": 6, "decreases": d,
                                "share_decreases": d / 6, "spearman_rho": rho}
                               for s in range(2) for method, d, rho in
                               (("per_view", 3 - s, 0.1), ("sum", 2, 0.4), ("per_area_sum", s, 0.9))])  # fmt: skip
    table = summary(by_subject)
    table.to_csv(folder / "longitudinal.csv", index=False)
    (folder / "longitudinal.md").write_text(summary_markdown(table))


def _manifest(cohort, subjects, exams, split=lambda s: "train"):
    rows = [{"image_id": f"{cohort}-S{s}-{e}{view}", "subject_id": f"{cohort}-S{s}", "cohort": cohort,
             "exam_date": f"20{10 + e}-01-01", "laterality": view[0], "view": view[1:], "split": split(s),
             "annotation": True}
            for s in range(subjects) for e in range(exams) for view in ("LCC", "RCC")]  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def results(tmp_path):
    """A results tree as the workflow lays it out, from the project's writers; returns the manuscript's inputs."""
    rng = np.random.default_rng(7)
    root = tmp_path / "results"
    for folder in ("tables", "figures", "data"):
        (root / folder).mkdir(parents=True)
    config = load_config(REPO / "config.yaml")
    (root / "provenance.json").write_text(json.dumps(provenance(config)))
    (root / "models.json").write_text(json.dumps({"models": [
        {"name": "SCU-Net", "parameters": 169_711}, {"name": "U-Net", "parameters": 13_395_329},
        {"name": "SegNet", "parameters": 29_443_585}]}))  # fmt: skip
    (root / "counts.json").write_text(json.dumps({
        "counts": {split: {"images": 6, "tiles": 400, "foreground": 120, "calcified": n, "selected": n}
                   for split, n in (("train", 45), ("validation", 17))},
        "paper_selected": {"train": paper_results()["dataset"]["train_patches"],
                           "validation": paper_results()["dataset"]["val_patches"]}}))  # fmt: skip
    manifests = {
        "A": _manifest("A", 4, 1, split=lambda s: "validation" if s == 0 else "train"),
        "B": _manifest("B", 3, 1),
        "C": _manifest("C", 2, 3),
    }
    for cohort, table in manifests.items():
        table.to_csv(root / "data" / f"{cohort}.csv", index=False)
    _table1(root / "tables", rng)
    _clinical_tables(root / "tables", rng, metric_names(config["quantify"]["thresholds"]))
    for k, name in enumerate(CAPTIONS):
        plt.imsave(root / "figures" / f"{name}.png", np.arange(16).reshape(4, 4) * (k + 1) % 7)
    tables = ("table1_vs_paper", "table1_pvalues", "fig5_agreement", "ct_comparison", "longitudinal")
    return ManuscriptInputs(
        provenance=root / "provenance.json",
        models=root / "models.json",
        table1=root / "tables" / "table1.csv",
        patch_counts=root / "counts.json",
        manifests={cohort: root / "data" / f"{cohort}.csv" for cohort in manifests},
        tables={name: root / "tables" / f"{name}.csv" for name in tables},
        figures={name: root / "figures" / f"{name}.png" for name in CAPTIONS},
        captions={name: REPO / "workflow" / "report" / f"{rst}.rst" for name, rst in CAPTIONS.items()},
    )


def _build(inputs, tmp_path, name="manuscript"):
    out = tmp_path / name / "manuscript.html"
    build_manuscript(inputs, SOURCE, out)
    return out.read_text()


def _cells(markdown: str) -> list[str]:
    """The text of every cell of every Markdown table in ``markdown``."""
    rows = [line for line in markdown.splitlines() if line.startswith("|") and not line.startswith("|---")]
    return [cell.strip() for row in rows for cell in row.strip("|").split("|")]


def _text(page: str) -> str:
    """The page's text, tags removed (blocks end in a newline) and entities read, whitespace as single spaces."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def test_the_html_holds_every_table_and_figure_of_the_run(results, tmp_path):
    page = _build(results, tmp_path)
    for name, png in results.figures.items():
        assert f'src="data:image/png;base64,{base64.b64encode(png.read_bytes()).decode()}"' in page, name
    assert page.count("<img ") == len(results.figures), "each figure once, embedded: the page stands alone"
    text = _text(page)
    for name, csv in results.tables.items():
        cells = _cells(csv.with_suffix(".md").read_text())
        assert len(cells) > 10 and all(cell in text for cell in cells), name
    tables = 2 + 2 + 3 + 1 + 1
    assert page.count("<table>") == tables, "Table 1 and p-values per level, three clinical, cohorts, versions"
    assert "**Figure 5.**" not in page and "<strong>Figure 5.</strong> Top: predicted" in page, "caption rendered"
    assert "synthetic data with known ground truth" in text


def test_the_numbers_of_the_text_are_the_results(results, tmp_path):
    table1 = pd.read_csv(results.table1, index_col="model")
    scunet, paper = table1.loc["SCU-Net"], paper_results()["table1_validation"]["SCU-Net"]["whole_image"]["f1"]
    text = _text(_build(results, tmp_path))
    assert (f"On the 4 whole validation images SCU-Net reached an F1/Dice of {scunet.f1_whole_image_mean:.3f} ± "
            f"{scunet.f1_whole_image_sd:.3f} (paper: {paper['mean']:.3f} ± {paper['sd']:.3f})") in text
    fig5 = pd.read_csv(results.tables["fig5_agreement"]).set_index("metric")
    assert f"TAM_100 agreed with the label masks' with R² {fig5.at['TAM_100', 'r2']:.3f} (paper: 0.973)" in text
    best = fig5["r2"].idxmax()
    assert f"the closest metric was {best} (R² {fig5.at[best, 'r2']:.3f})" in text
    assert "cohort A's images were tiled into 128 px patches overlapping by 16 px".lower() in text.lower()
    assert "45 of 400 training tiles and 17 of 400 validation tiles (paper: 3,455 and 901 patches)" in text
    assert "SCU-Net has 169,711 parameters, 79 times fewer than U-Net" in text
    assert "fell in 1 of 12 year-on-year steps, against 5 of 12 for single views" in text, "longitudinal.csv's sums"
    markdown = (tmp_path / "manuscript" / "manuscript.md").read_text()
    assert "| A | 216 → 4 | 661 → 8 | 4 | 527 → 6 | 134 → 2 |" in markdown, "manifests beside the paper"


def test_a_changed_result_changes_the_manuscript(results, tmp_path):
    before = _text(_build(results, tmp_path, "before"))
    table1 = pd.read_csv(results.table1, index_col="model")
    old = table1.at["SCU-Net", "f1_whole_image_mean"]
    table1.loc["SCU-Net", "f1_whole_image_mean"] = 0.4321
    table1.to_csv(results.table1)
    fig5 = pd.read_csv(results.tables["fig5_agreement"])
    fig5.loc[fig5["metric"] == "TSIM_200", "r2"] = 0.9999
    fig5.to_csv(results.tables["fig5_agreement"], index=False)
    after = _text(_build(results, tmp_path, "after"))
    assert f"reached an F1/Dice of {old:.3f} ±" in before and "reached an F1/Dice of 0.432 ±" in after
    assert "the closest metric was TSIM_200 (R² 1.000)" in after and "TSIM_200 (R²" not in before


def test_a_caption_is_filled_in_as_the_report_fills_it(results, tmp_path):
    caption = tmp_path / "fig2.rst"
    caption.write_text('**Figure 2.** Networks of a run with seed {{ snakemake.config["seed"] }}.\n')
    text = _text(_build(ManuscriptInputs(**{**results.__dict__,
                                            "captions": {**results.captions, "fig2_parameters": caption}}), tmp_path))
    assert "Figure 2. Networks of a run with seed 42." in text


def test_the_methods_are_the_runs_provenance(results, tmp_path):
    record = json.loads(results.provenance.read_text())
    record["config"]["seed"], record["config"]["train"]["epochs"] = 1234, 17
    record["revision"], record["machine"] = "abc1234-dirty", "aarch64 TestBox"
    results.provenance.write_text(json.dumps(record))
    text = _text(_build(results, tmp_path))
    assert "seed 1234" in text and "for 17 epochs of 25 steps" in text
    assert "code revision abc1234-dirty and seed 1234" in text and "on aarch64 TestBox" in text
    assert f"| numpy | {record['packages']['numpy']} |" in (tmp_path / "manuscript" / "manuscript.md").read_text()
    assert "seed: 1234" in text, "the whole config in the appendix"


def test_a_real_data_run_says_so_and_leaves_out_the_cohorts_it_lacks(results, tmp_path):
    record = json.loads(results.provenance.read_text())
    cohort_a = {"dicom_dir": "/archive/SMITH_JANE_19400101", "annotations": "x.json"}
    record["config"]["data"] |= {"source": "dicom", "private_dir": "/secure/bac private", "cohorts": {"A": cohort_a}}
    results.provenance.write_text(json.dumps(record))
    kept = {"A"}
    inputs = ManuscriptInputs(
        **{**results.__dict__,
           "manifests": {c: p for c, p in results.manifests.items() if c in kept},
           "tables": {n: p for n, p in results.tables.items() if n not in ("ct_comparison", "longitudinal")},
           "figures": {n: p for n, p in results.figures.items() if n not in ("ct_comparison", "fig6_longitudinal")},
           "captions": {n: p for n, p in results.captions.items() if n not in ("ct_comparison", "fig6_longitudinal")}})
    text = _text(_build(inputs, tmp_path))
    assert "synthetic data with known ground truth" not in text and "The cohorts are synthetic" not in text
    assert "The synthetic truth" not in text and "Limitations The run's cohorts" in text
    assert "come from the mammograms the run's config names (data.source: dicom)" in text
    assert "Breast CT" not in text and "cohort C" not in text and "Quantification against the label masks" in text
    assert "SMITH" not in text and "x.json" not in text and "secure" not in text, "no input path reaches the manuscript"
    assert "dicom_dir: <path>" in text


def test_every_result_of_the_run_must_appear_and_every_input_exist(results, tmp_path):
    extra = results.tables["longitudinal"].with_name("extra.csv")
    shutil.copyfile(results.tables["longitudinal"], extra)
    shutil.copyfile(results.tables["longitudinal"].with_suffix(".md"), extra.with_suffix(".md"))
    with pytest.raises(ValueError, match="leaves out results of this run: table extra"):
        _build(ManuscriptInputs(**{**results.__dict__, "tables": {**results.tables, "extra": extra}}), tmp_path)
    results.figures["fig3_patches"].unlink()
    results.tables["ct_comparison"].with_suffix(".md").unlink()
    with pytest.raises(FileNotFoundError, match=r"table ct_comparison \(Markdown\) .*; figure fig3_patches \("):
        _build(results, tmp_path)


# What may carry a digit in the template's words: figure, table and equation numbers, F1, the paper's year.
ALLOWED_IN_WORDS = re.compile(r"\b(?:Figure|Table) [1-6]\b|\bEq\. 3-4\b|\bF1\b|\bMed\. Phys\. 2021\b")
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
# The page and document shells: styles and preamble may hold lengths; their content is the placeholders alone.
CONTENT = {"page.html.j2": re.compile(r"<body>(.*)</body>", re.S),
           "document.tex.j2": re.compile(r"\\begin\{document\}(.*)\\end\{document\}", re.S)}


def _words(name: str, source: str) -> str:
    """A source's text outside its placeholders, less what may carry digits."""
    text = JINJA.sub("", source)
    return ALLOWED_IN_WORDS.sub("", text) if name not in CONTENT else CONTENT[name].search(text)[1]


@pytest.mark.parametrize("name", ["manuscript.md.j2", *CONTENT])
def test_no_result_is_typed_into_the_manuscript_source(name):
    typed = re.findall(r".{0,30}\d.{0,30}", _words(name, (SOURCE / name).read_text()))
    assert not typed, f"{name} types numbers outside placeholders: {typed}"
    assert {p.name for p in SOURCE.iterdir()} == {"manuscript.md.j2", *CONTENT}, "a new source file needs this check"


def test_the_digit_check_catches_a_typed_number():
    typed = "SCU-Net reached an F1 of {{ s.f1 | num(3) }} (paper: 0.729) in Figure 4 of {# 2 #} Med. Phys. 2021."
    assert re.findall(r"\d+\.?\d*", _words("manuscript.md.j2", typed)) == ["0.729"]
    page = "<style>p { margin: 1em }</style><body>{{ body }} 7</body>"
    assert re.findall(r"\d", _words("page.html.j2", page)) == ["7"]


def test_markdown_to_latex_escapes_text_and_keeps_tables_and_figures(tmp_path):
    markdown = ("# A title_1\n\n## Results & more\n\nR² = 0.5 ± 0.1, 50 % of `TAM_100` → **up** and *down*.\n\n"
                "| Model | F1 |\n|---|---|\n| SCU-Net | <0.001 |\n| U_Net | 1 |\n\n![fig](fig5)\n\n"
                "- one\n- two\n\n```yaml\nseed: 42\n```\n")
    tex = latex.to_latex(markdown, {"fig5": "fig5.png"}, SOURCE)
    assert r"\title{A title\_1}" in tex and r"\section*{Results \& more}" in tex
    assert r"R\textsuperscript{2} = 0.5 $\pm$ 0.1, 50 \% of \texttt{TAM\_100} $\rightarrow$ \textbf{up} and " \
           r"\emph{down}." in tex
    assert "\\begin{tabular}{ll}\n\\hline\nModel & F1 \\\\\n\\hline\nSCU-Net & \\textless{}0.001 \\\\\n" \
           "U\\_Net & 1 \\\\\n\\hline\n\\end{tabular}" in tex
    assert r"keepaspectratio]{fig5.png}" in tex
    assert "\\begin{itemize}\n\\item one\n\\item two\n\\end{itemize}" in tex
    assert "\\begin{verbatim}\nseed: 42\n\\end{verbatim}" in tex
    assert tex.index(r"\begin{document}") < tex.index(r"\section*") < tex.index(r"\end{document}")


def test_without_latex_the_pdf_is_skipped_with_a_note(results, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(latex, "toolchain", lambda: None)
    stale = tmp_path / "manuscript" / "manuscript.pdf"
    stale.parent.mkdir()
    stale.write_bytes(b"%PDF old")
    with caplog.at_level("INFO", logger="bacseg.manuscript"):
        assert build_manuscript(results, SOURCE, stale.with_suffix(".html")) is None
    assert "no LaTeX toolchain (pdflatex) on PATH: PDF skipped" in caplog.text
    assert not stale.exists(), "no PDF older than the HTML left beside it"
    assert stale.with_suffix(".html").stat().st_size > 0


@pytest.mark.skipif(latex.toolchain() is None, reason="no pdflatex on PATH (Debian: texlive-latex-base)")
def test_with_latex_the_manuscript_is_also_a_pdf(results, tmp_path):
    pdf = build_manuscript(results, SOURCE, tmp_path / "manuscript.html")
    assert pdf == tmp_path / "manuscript.pdf" and pdf.read_bytes().startswith(b"%PDF")
    assert pdf.stat().st_size > 20_000, "text, tables and six figures"

