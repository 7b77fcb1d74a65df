"""Table 1 (models as rows, each metric patch-wise then whole-image, mean +- SD), beside the paper's
numbers, and the supplementary p-values; each written as CSV (numbers) and Markdown/LaTeX (for reading).

Every writer takes ``{model: per-sample table}`` dicts and the output paths it writes; rows follow the
paper's order (largest network first, as in ``paper_results.json``), models the paper lacks after it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd

from bacseg.metrics.segmentation import SCORE_COLUMNS, summarise
from bacseg.stats import REFERENCE_MODEL, paired_tests

LEVELS = {"patch": "patch-wise", "whole_image": "whole-image"}
METRIC_NAMES = {"recall": "Recall", "precision": "Precision", "accuracy": "Accuracy", "f1": "F1/Dice",
                "jaccard": "Jaccard"}
COUNT_FIELDS = ("n", "n_empty_truth", "n_empty_prediction", "n_empty_both")


@cache
def paper_results() -> dict[str, Any]:
    """The paper's published numbers (a packaged copy of ../shared/reference/paper_results.json)."""
    return json.loads(files("bacseg").joinpath("data/paper_results.json").read_text())


def read_per_sample(models: Sequence[str], paths: Sequence[Path | str]) -> dict[str, pd.DataFrame]:
    """{model: per-sample table} from CSVs given in the same order as ``models`` (image IDs kept as text)."""
    if len(models) != len(paths):
        raise ValueError(f"{len(models)} models but {len(paths)} per-sample tables")
    return {model: pd.read_csv(path, dtype={"image_id": str}) for model, path in zip(models, paths)}


def model_order(models) -> list[str]:
    """The paper's Table 1 order, then any other models alphabetically."""
    paper = list(paper_results()["table1_validation"])
    return sorted(models, key=lambda m: (paper.index(m) if m in paper else len(paper), m.lower()))


def table1(patch: Mapping[str, pd.DataFrame], whole_image: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Wide Table 1, one row per model: ``<metric>_<level>_mean|sd`` and the counts
    ``<level>_n|n_empty_truth|n_empty_prediction|n_empty_both``.

    A model missing at one level has NaN there.
    """
    per_level = {"patch": patch, "whole_image": whole_image}
    rows = {}
    for model in model_order(set(patch) | set(whole_image)):
        row: dict[str, float] = {}
        for level, tables in per_level.items():
            summary = summarise(tables[model]) if model in tables else {}
            for metric in SCORE_COLUMNS:
                for stat in ("mean", "sd"):
                    row[f"{metric}_{level}_{stat}"] = summary.get(metric, {}).get(stat, math.nan)
            for field in COUNT_FIELDS:
                row[f"{level}_{field}"] = summary.get(field, math.nan)
        rows[model] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


def _mean_sd(mean: float, sd: float, pm: str) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.3f}" if math.isnan(sd) else f"{mean:.3f}{pm}{sd:.3f}"


def _count(value: float) -> str:
    return "-" if math.isnan(value) else str(int(value))


def _cells(table: pd.DataFrame, pm: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of Table 1 as text, metrics alternating patch-wise and whole-image."""
    header = ["Model"]
    for metric in SCORE_COLUMNS:
        header += [f"{METRIC_NAMES[metric]} ({LEVELS[level]})" for level in LEVELS]
    header += [f"n ({LEVELS[level]})" for level in LEVELS]
    body = []
    for model, row in table.iterrows():
        cells = [str(model)]
        for metric in SCORE_COLUMNS:
            cells += [_mean_sd(row[f"{metric}_{level}_mean"], row[f"{metric}_{level}_sd"], pm) for level in LEVELS]
        cells += [_count(row[f"{level}_n"]) for level in LEVELS]
        body.append(cells)
    return header, body


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    """A GitHub Markdown table of cells already formatted as text (every table of the results uses it)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body]) + "\n"


def table1_markdown(table: pd.DataFrame) -> str:
    empties = table[[f"{level}_n_empty_truth" for level in LEVELS]].fillna(0).to_numpy().max(axis=0)
    note = (f"\nMean ± SD over validation samples. Empty truth masks (most for any model): {int(empties[0])} "
            f"patch(es), {int(empties[1])} image(s); the CSV's n_empty_* columns give them per model.\n")
    return markdown_table(*_cells(table, " ± ")) + note


def table1_latex(table: pd.DataFrame) -> str:
    """A booktabs tabular: one column pair (patch-wise, whole-image) per metric."""
    _, body = _cells(table, r" $\pm$ ")
    spec = "l" + "cc" * len(SCORE_COLUMNS) + "rr"
    top = " & ".join(["Model", *(rf"\multicolumn{{2}}{{c}}{{{METRIC_NAMES[m]}}}" for m in SCORE_COLUMNS),
                      r"\multicolumn{2}{c}{$n$}"])
    rules = " ".join(rf"\cmidrule(lr){{{2 + 2 * i}-{3 + 2 * i}}}" for i in range(len(SCORE_COLUMNS) + 1))
    sub = " & ".join(["", *(["Patch", "Image"] * (len(SCORE_COLUMNS) + 1))])
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", top + r" \\", rules, sub + r" \\", r"\midrule"]
    lines += [" & ".join(row) + r" \\" for row in body]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_table1(
    patch: Mapping[str, pd.DataFrame],
    whole_image: Mapping[str, pd.DataFrame],
    *,
    csv: Path | str,
    markdown: Path | str,
    latex: Path | str,
) -> pd.DataFrame:
    """Table 1 from per-sample tables, written as CSV (numbers), Markdown and LaTeX; returns the table."""
    table = table1(patch, whole_image)
    table.to_csv(csv)
    Path(markdown).write_text(table1_markdown(table))
    Path(latex).write_text(table1_latex(table))
    return table


def paper_comparison(table: pd.DataFrame, paper: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Long table: model, level, metric, the paper's mean/SD, ours, and the difference (ours - paper)."""
    paper = paper if paper is not None else paper_results()["table1_validation"]
    rows = []
    for model in model_order(set(table.index) | set(paper)):
        for level in LEVELS:
            for metric in SCORE_COLUMNS:
                published = paper.get(model, {}).get(level, {}).get(metric, {})
                ours = table.loc[model] if model in table.index else {}
                row = {
                    "model": model, "level": level, "metric": metric,
                    "paper_mean": published.get("mean", math.nan), "paper_sd": published.get("sd", math.nan),
                    "replication_mean": ours.get(f"{metric}_{level}_mean", math.nan),
                    "replication_sd": ours.get(f"{metric}_{level}_sd", math.nan),
                }  # fmt: skip
                rows.append({**row, "difference": row["replication_mean"] - row["paper_mean"]})
    return pd.DataFrame(rows)


def _per_level_markdown(rows: pd.DataFrame, title: Callable[[str], str], cell: Callable[[pd.Series], str]) -> str:
    """One Markdown table per level of a long table (level, model, metric, ...): models as rows, metrics as
    columns, ``cell`` formatting a (model, metric) row, under the heading ``title(level name)``."""
    parts = []
    for level, name in LEVELS.items():
        body = []
        for model, cells in rows[rows["level"] == level].groupby("model", sort=False):
            by_metric = cells.set_index("metric")
            body.append([model, *(cell(by_metric.loc[m]) for m in SCORE_COLUMNS)])
        parts.append(f"### {title(name)}\n\n" + markdown_table(["Model", *(METRIC_NAMES[m] for m in SCORE_COLUMNS)], body))
    return "\n".join(parts)


def paper_comparison_markdown(comparison: pd.DataFrame) -> str:
    """Per level, models as rows and metrics as columns; each cell 'paper -> replication'."""
    return _per_level_markdown(
        comparison,
        lambda name: f"Table 1, {name}: paper → replication",
        lambda c: f"{_mean_sd(c.paper_mean, c.paper_sd, ' ± ')} → "
        f"{_mean_sd(c.replication_mean, c.replication_sd, ' ± ')}",
    )


def write_paper_comparison(
    table: pd.DataFrame, *, csv: Path | str, markdown: Path | str, paper: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    comparison = paper_comparison(table, paper)
    comparison.to_csv(csv, index=False)
    Path(markdown).write_text(paper_comparison_markdown(comparison))
    return comparison


def _p(value: float) -> str:
    if math.isnan(value):
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def pvalues_markdown(tests: pd.DataFrame, reference: str = REFERENCE_MODEL) -> str:
    """Per level, models as rows and metrics as columns: 't-test p (Holm) / Wilcoxon p (Holm)'."""
    return _per_level_markdown(
        tests,
        lambda name: f"{name.capitalize()} p-values against {reference}: paired t-test (Holm) / Wilcoxon (Holm)",
        lambda c: f"{_p(c.p_ttest)} ({_p(c.p_ttest_holm)}) / {_p(c.p_wilcoxon)} ({_p(c.p_wilcoxon_holm)})",
    )


def write_pvalues(
    patch: Mapping[str, pd.DataFrame],
    whole_image: Mapping[str, pd.DataFrame],
    *,
    csv: Path | str,
    markdown: Path | str,
    reference: str = REFERENCE_MODEL,
) -> pd.DataFrame:
    """Paired tests of every model against ``reference`` per metric and level (see ``bacseg.stats``)."""
    tests = pd.concat(
        [paired_tests(tables, reference=reference).assign(level=level)
         for level, tables in (("patch", patch), ("whole_image", whole_image)) if tables],
        ignore_index=True,
    )
    order = {model: i for i, model in enumerate(model_order(tests["model"].unique()))}
    tests = tests.sort_values(["level", "model"], key=lambda c: c.map(order) if c.name == "model" else c, kind="stable")
    tests = tests[["level", *tests.columns.drop("level")]].reset_index(drop=True)
    tests.to_csv(csv, index=False)
    Path(markdown).write_text(pvalues_markdown(tests, reference))
    return tests
