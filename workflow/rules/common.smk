# Shared helpers for the rule files: cohort list, where each cohort's raw data comes from.

import os

# Jobs import the bacseg package from this checkout, also inside --use-conda environments and on SLURM.
# (`snakemake --lint` reads this as an undeclared envvar; it is set here, not required from the user.)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(Path(workflow.basedir) / "src"), os.environ.get("PYTHONPATH")) if p
)

# Synthetic runs have all three cohorts; on real data, the cohorts listed under data.cohorts.
COHORTS = ["A", "B", "C"] if config["data"]["source"] == "synthetic" else sorted(config["data"]["cohorts"])
if "A" not in COHORTS:
    raise ValueError("config data.cohorts needs cohort A (the annotated train/validation cohort)")


def raw_cohort(cohort):
    """The DICOM folder and MD.ai export of a cohort: synthesised here, or the user's real data."""
    if config["data"]["source"] == "synthetic":
        base = f"results/data/synthetic/{cohort}"
        return {"dicom_dir": f"{base}/dicom", "annotations": f"{base}/annotations.json"}
    real = config["data"]["cohorts"][cohort]
    files = {"dicom_dir": real["dicom_dir"]}
    if real.get("annotations"):
        files["annotations"] = real["annotations"]
    return files


def in_checkout(path):
    """A path shipped with the workflow (e.g. the authors' weights): relative ones name files of this checkout."""
    return path if Path(path).is_absolute() else str(Path(workflow.basedir) / path)
