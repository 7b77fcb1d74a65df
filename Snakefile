# SCU-Net replication: segmentation and quantification of breast arterial calcifications.
# The DAG runs the paper's steps in order; every table and figure has a named target below.
# Logic lives in src/bacseg; rules only wire files to it (workflow/rules/*.smk, one file per stage).

import re
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: Path(workflow.basedir) / "config.yaml"


# The schema ships with the package (bacseg.settings reads the same file for the CLI and the stages).
validate(config, Path(workflow.basedir) / "src/bacseg/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    cohort="|".join(COHORTS),
    model="|".join(re.escape(m) for m in MODELS),


include: "workflow/rules/data.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/patches.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/quantify.smk"
include: "workflow/rules/review.smk"
include: "workflow/rules/realism.smk"
include: "workflow/rules/manuscript.smk"


rule all:
    input:
        rules.data_stage.input,
        rules.patch_stage.input,
        rules.figure2.output,
        rules.convert_authors_weights.output,
        rules.evaluation_stage.input,
        rules.quantification_stage.input,
        rules.review_stage.input,
        rules.realism.output,
        "results/provenance.json",
        rules.manuscript.output,
