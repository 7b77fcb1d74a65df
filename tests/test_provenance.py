"""Provenance travels with the results: it records the config without the paths to the user's data."""

import json

from bacseg.provenance import config_digest, provenance
from bacseg.settings import load_config


def test_provenance_hides_the_data_paths_but_keeps_every_setting(tmp_path):
    config = load_config(None)
    config["data"] = {**config["data"], "source": "dicom", "private_dir": "/archive/SMITH_JANE/private",
                      "cohorts": {"A": {"dicom_dir": "/archive/SMITH_JANE", "annotations": "/archive/SMITH.json"}}}
    record = provenance(config)
    text = json.dumps(record)
    assert "SMITH" not in text
    assert record["config"]["data"]["cohorts"] == {"A": {"dicom_dir": "<path>", "annotations": "<path>"}}
    assert record["config"]["train"] == config["train"] and record["config"]["data"]["source"] == "dicom"
    assert record["config_digest"] == config_digest(config)
    assert record["packages"]["numpy"]
