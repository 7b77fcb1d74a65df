# Shared helpers for the rule files: cohort list, where each cohort's raw data comes from.

import os

# Jobs import the bacseg package from this checkout, also inside --use-conda environments and on SLURM.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(Path(workflow.basedir) / "src"), os.environ.get("PYTHONPATH")) if p
)

COHORTS = ["A", "B", "C"]


wildcard_constraints:
    cohort="|".join(COHORTS),


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
