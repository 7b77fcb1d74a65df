"""Everything the manuscript says, read from the run's results: its tables, figures and numbers, and the
provenance of the run (config, seed, versions, machine). The template (manuscript/) holds words only."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from bacseg.logs import redact_paths
from bacseg.metrics.segmentation import SCORE_COLUMNS
from bacseg.stats import REFERENCE_MODEL
from bacseg.tables import LEVELS, markdown_table, paper_results


@dataclass(frozen=True)
class ManuscriptInputs:
    """The result files the manuscript is built from (the ``manuscript`` rule's inputs).

    ``tables`` maps a name to a results CSV whose Markdown rendering lies beside it (same name, ``.md``);
    ``figures`` maps a name to a PNG and ``captions`` the same names to the figure's report caption
    (workflow/report/*.rst, whose bold and literals read the same in Markdown). Cohort B's and C's tables and
    figures are absent when the run has no such cohort; the template leaves their sections out.
    """

    provenance: Path
    models: Path
    table1: Path
    patch_counts: Path
    manifests: Mapping[str, Path]
    tables: Mapping[str, Path]
    figures: Mapping[str, Path]
    captions: Mapping[str, Path]

    def files(self) -> dict[str, Path]:
        """Every input by a name that says what it is, for checks and error messages."""
        named = {"provenance": self.provenance, "models": self.models, "table1": self.table1,
                 "patch_counts": self.patch_counts}
        named |= {f"manifest {cohort}": path for cohort, path in self.manifests.items()}
        for name, path in self.tables.items():
            named |= {f"table {name}": path, f"table {name} (Markdown)": markdown_of(path)}
        named |= {f"figure {name}": path for name, path in self.figures.items()}
        named |= {f"caption of {name}": path for name, path in self.captions.items()}
        return {name: Path(path) for name, path in named.items()}

    def check(self) -> None:
        """Stop with one clear error naming every missing input, and any figure without a caption."""
        missing = [f"{name} ({path})" for name, path in self.files().items() if not path.is_file()]
        if missing:
            raise FileNotFoundError("manuscript inputs missing: " + "; ".join(missing))
        if set(self.figures) != set(self.captions):
            raise ValueError(f"figures {sorted(self.figures)} and captions {sorted(self.captions)} differ")


def markdown_of(table_csv: Path | str) -> Path:
    """A results table's Markdown rendering: the CSV's name with ``.md``."""
    return Path(table_csv).with_suffix(".md")


def _finite(value: Any) -> float:
    return float(value) if value is not None and not pd.isna(value) else math.nan


def segmentation(table1: pd.DataFrame) -> dict[str, Any]:
    """Table 1's numbers: each model's mean/SD per level and metric, samples per level, the ranking by
    whole-image F1 (the paper's headline), and the paper's SCU-Net row."""
    scores = {
        model: {level: {metric: {stat: _finite(row[f"{metric}_{level}_{stat}"]) for stat in ("mean", "sd")}
                        for metric in SCORE_COLUMNS} for level in LEVELS}
        for model, row in table1.iterrows()
    }  # fmt: skip
    ranked = table1["f1_whole_image_mean"].dropna().sort_values(ascending=False)
    if REFERENCE_MODEL not in scores:
        raise ValueError(f"table1 has no {REFERENCE_MODEL} row (models: {list(scores)})")
    return {
        "models": list(scores),
        "scores": scores,
        "scunet": scores[REFERENCE_MODEL],
        "n": {level: int(table1.at[REFERENCE_MODEL, f"{level}_n"]) for level in LEVELS},
        "ranking": list(ranked.index),
        "best_model": ranked.index[0] if len(ranked) else None,
        "scunet_rank": list(ranked.index).index(REFERENCE_MODEL) + 1 if REFERENCE_MODEL in ranked else None,
        "paper_scunet": paper_results()["table1_validation"][REFERENCE_MODEL],
    }


def agreement(table: pd.DataFrame, key_metric: str) -> dict[str, Any]:
    """Figure 5's numbers: the best-fitting metric, the paper's key metric (TAM_X), how many pass the paper's bar."""
    best = table.loc[table["r2"].idxmax()]
    key = table.set_index("metric").loc[key_metric]
    bar = paper_results()["quantification"]["figure5_r2_all_metrics_above"]
    return {
        "n_images": int(table["n"].max()),
        "n_metrics": len(table),
        "best": {"metric": best["metric"], "r2": float(best["r2"])},
        "key": {"metric": key_metric, "r2": float(key["r2"]), "std_err": float(key["std_err"]),
                "paper_r2": _finite(key.get("paper_r2"))},
        "paper_bar": bar,
        "n_above_bar": int((table["r2"] > bar).sum()),
    }


def ct_numbers(table: pd.DataFrame, key_metric: str) -> dict[str, Any]:
    """The breast-CT comparison's numbers for the key metric (and, on synthetic data, the CT's own fit to the truth)."""
    rows = table.set_index("measure")
    key = rows.loc[key_metric]
    out = {"n_subjects": int(key["n_subjects"]), "metric": key_metric}
    for ct in ("ct_calcified_voxels", "ct_calcium_mass_mg"):
        out[ct] = {"r2": _finite(key.get(f"r2_{ct}")), "paper_r2": _finite(key.get(f"paper_r2_{ct}")),
                   "r2_of_ct_to_truth": _finite(rows.loc[ct].get("r2_true_breast_calcium_mass_mg"))
                   if ct in rows.index else math.nan}  # fmt: skip
    out["key_r2_to_truth"] = _finite(key.get("r2_true_breast_calcium_mass_mg"))
    return out


def longitudinal_numbers(table: pd.DataFrame) -> dict[str, Any]:
    """Cohort C's summary per method: year-on-year decreases (BAC should not regress), Spearman rho with the truth."""
    return {row["method"]: {column: _finite(value) for column, value in row.items() if column != "method"}
            for _, row in table.iterrows()}  # fmt: skip


def cohorts(manifests: Mapping[str, Path]) -> dict[str, dict[str, int]]:
    """Subjects, images, exams and the split of each cohort, from its manifest."""
    out = {}
    for cohort, path in manifests.items():
        manifest = pd.read_csv(path, dtype=str, keep_default_na=False)
        split = manifest["split"].value_counts()
        out[cohort] = {
            "subjects": manifest["subject_id"].nunique(),
            "images": len(manifest),
            "exams": len(manifest.drop_duplicates(["subject_id", "exam_date"])),
            "train": int(split.get("train", 0)),
            "validation": int(split.get("validation", 0)),
        }
    return out


def _paper_count(key: str) -> str:
    value = paper_results()["dataset"].get(key)
    return "-" if value is None else f"{value:,}"


def cohorts_markdown(sizes: Mapping[str, Mapping[str, int]]) -> str:
    """The cohorts of this run beside the paper's (subjects, images, and cohort A's split)."""
    header = ["Cohort", "Subjects (paper → here)", "Images (paper → here)", "Exams",
              "Train images (paper → here)", "Validation images (paper → here)"]
    body = []
    for cohort, size in sizes.items():
        split = {"train": _paper_count("train_images"), "validation": _paper_count("val_images")}
        body.append([
            cohort,
            f"{_paper_count(f'cohort_{cohort}_subjects')} → {size['subjects']:,}",
            f"{_paper_count(f'cohort_{cohort}_images')} → {size['images']:,}",
            f"{size['exams']:,}",
            *(f"{split[s] if cohort == 'A' else '-'} → {size[s]:,}" for s in ("train", "validation")),
        ])  # fmt: skip
    return markdown_table(header, body)


def models_numbers(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter counts of the registered networks (results/models/models.json) and SCU-Net's against U-Net's."""
    parameters = {m["name"]: int(m["parameters"]) for m in summary["models"]}
    ratio = parameters["U-Net"] / parameters[REFERENCE_MODEL] if "U-Net" in parameters else math.nan
    return {"n": len(parameters), "parameters": parameters, "scunet": parameters[REFERENCE_MODEL],
            "unet_ratio": ratio, "paper": paper_results()["parameters"]}


def without_paths(value: Any) -> Any:
    """A config with every path-like string as <path>: a real archive's folder names may name patients."""
    if isinstance(value, Mapping):
        return {key: without_paths(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_paths(item) for item in value]
    return redact_paths(value) if isinstance(value, str) else value


def run_record(provenance: Mapping[str, Any]) -> dict[str, Any]:
    """The methods as run: config (paths left out), seed, code revision, versions, machine; whether the data were
    synthetic."""
    config = without_paths(provenance["config"])
    packages = {name: version for name, version in provenance["packages"].items() if version}
    return {
        "config": config,
        "synthetic": config["data"]["source"] == "synthetic",
        "seed": config["seed"],
        "revision": provenance.get("revision") or "unknown",
        "python": provenance["python"],
        "machine": provenance["machine"],
        "config_digest": provenance.get("config_digest", ""),
        "packages_markdown": markdown_table(["Package", "Version"], [[n, v] for n, v in sorted(packages.items())]),
        "config_yaml": yaml.safe_dump(config, sort_keys=True, default_flow_style=None, width=100),
    }


def collect(inputs: ManuscriptInputs) -> dict[str, Any]:
    """The template's context: numbers, tables (Markdown) and the run record, every one read from ``inputs``."""
    inputs.check()
    run = run_record(json.loads(inputs.provenance.read_text()))
    key_metric = f"TAM_{run['config']['quantify']['intensity_threshold']}"
    read = {name: pd.read_csv(path) for name, path in inputs.tables.items()}
    sizes = cohorts(inputs.manifests)
    context = {
        "run": run,
        "config": run["config"],
        "paper": paper_results(),
        "key_metric": key_metric,
        "segmentation": segmentation(pd.read_csv(inputs.table1, index_col="model")),
        "networks": models_numbers(json.loads(inputs.models.read_text())),
        "cohorts": sizes,
        "cohorts_markdown": cohorts_markdown(sizes),
        "patches": json.loads(inputs.patch_counts.read_text()),
        "tables_markdown": {name: markdown_of(path).read_text() for name, path in inputs.tables.items()},
    }
    if "fig5_agreement" in read:
        context["agreement"] = agreement(read["fig5_agreement"], key_metric)
    if "ct_comparison" in read:
        context["ct"] = ct_numbers(read["ct_comparison"], key_metric)
    if "longitudinal" in read:
        context["longitudinal"] = longitudinal_numbers(read["longitudinal"])
    return context
