# Helper functions of the workflow, all here: the cohort list, where each cohort's raw data comes from,
# the private tables' paths. Jobs import the installed bacseg (the venv, or each conda env's `-e ..` entry).

# Synthetic runs have all three cohorts; on real data, the cohorts listed under data.cohorts.
COHORTS = ["A", "B", "C"] if config["data"]["source"] == "synthetic" else sorted(config["data"]["cohorts"])
if "A" not in COHORTS:
    raise ValueError("config data.cohorts needs cohort A (the annotated train/validation cohort)")


def raw_cohort(cohort):
    """The DICOM folder and MD.ai export of a cohort: synthesised here, or the user's real data."""
    if config["data"]["source"] == "synthetic":
        base = private(f"synthetic/{cohort}")
        return {"dicom_dir": f"{base}/dicom", "annotations": f"{base}/annotations.json"}
    real = config["data"]["cohorts"][cohort]
    files = {"dicom_dir": real["dicom_dir"]}
    if real.get("annotations"):
        files["annotations"] = real["annotations"]
    return files


def private(name):
    """A PRIVATE table (paths that may name patients) under data.private_dir, outside results/: never shared."""
    return str(Path(config["data"]["private_dir"]) / name)


def in_checkout(path):
    """A path shipped with the workflow (e.g. the authors' weights): relative ones name files of this checkout."""
    return path if Path(path).is_absolute() else str(Path(workflow.basedir) / path)


# The networks of this run (config `models`; the registry's names, checked against it in the tests).
MODELS = config["models"]
FIGURE_MODELS = [m for m in config["evaluate"]["figure_models"] if m in MODELS]


def jax_env():
    """The conda env of the JAX rules: CUDA when the run asks for GPUs, else CPU."""
    return "../../envs/jax_cuda.yaml" if config["gpu"] else "../../envs/jax.yaml"


def model_checkpoint(wildcards):
    """A network's weights: the best epoch of its training."""
    return f"results/models/trained/{wildcards.model}/best"


def synthetic_truth(wildcards):
    """Cohort A's exact synthetic truth (look-alike masks) for the discrimination check; nothing on real data."""
    if config["data"]["source"] != "synthetic":
        return {}
    return {
        "synthetic_truth": private("synthetic/A/truth.csv"),
        "truth_masks": private("synthetic/A/truth_masks"),
        "source_files": private("A/source_files.csv"),
    }


# Quantification (quantify.smk): the network whose maps are quantified, and the inputs of the cohort analyses.
QUANTIFIED_MODEL = config["quantify"]["model"]
if QUANTIFIED_MODEL not in MODELS:
    raise ValueError(f"config quantify.model {QUANTIFIED_MODEL!r} is not among the trained models {MODELS}")


def breast_ct_source(wildcards):
    """Cohort B's breast-CT table keyed by PatientID: synthesised, or the user's (data.cohorts.B.breast_ct)."""
    if config["data"]["source"] == "synthetic":
        return private("synthetic/B/breast_ct.csv")
    return config["data"]["cohorts"]["B"]["breast_ct"]


def cohort_truth(cohort):
    """The exact synthetic truth per image (burden, calcium mass), keyed by image_id; nothing on real data."""
    return {"image_truth": f"results/data/{cohort}/image_truth.csv"} if config["data"]["source"] == "synthetic" else {}


def has_breast_ct():
    """Cohort B's comparison runs on synthetic data, or when the user gives cohort B a breast-CT table."""
    if "B" not in COHORTS:
        return False
    return config["data"]["source"] == "synthetic" or bool(config["data"]["cohorts"]["B"].get("breast_ct"))
