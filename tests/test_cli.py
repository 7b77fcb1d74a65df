"""The `bacseg` command as a user runs it: on real DICOM files, and with clear errors on bad input."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from bacseg.cli import main

BACSEG = Path(sys.executable).with_name("bacseg")


def test_preprocess_writes_the_8bit_image_and_breast_mask(reference_dir, tmp_path, capsys):
    dicom = reference_dir / "real_mammograms" / "CBIS-DDSM_Mass-Test_P_00173_LEFT_CC_ds4_rle.dcm"
    assert main(["preprocess", str(dicom), "--out", str(tmp_path)]) == 0
    written = json.loads(capsys.readouterr().out)
    assert set(written) == {"table", "image_png", "breast_mask_png"}, "no BAC mask without annotations"
    image = np.asarray(Image.open(written["image_png"]))
    mask = np.asarray(Image.open(written["breast_mask_png"]))
    assert image.dtype == np.uint8 and image.shape == mask.shape
    assert 0.1 < (mask > 0).mean() < 0.9
    assert not image[mask == 0].any(), "outside the breast is black"


def test_ingest_lists_every_bad_file_privately_and_fails(tmp_path, capsys):
    folder = tmp_path / "dicom"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a mammogram")
    (folder / "broken.dcm").write_bytes(b"DICM" * 10)
    private = tmp_path / "private"
    assert main(["ingest", str(folder), "--out", str(tmp_path / "out"), "--private-dir", str(private)]) == 1
    error = capsys.readouterr().err
    listed = pd.read_csv(private / "A" / "skipped.csv")
    assert sorted(Path(p).name for p in listed["path"]) == ["broken.dcm", "notes.txt"]
    assert "2 problem(s)" in error and str(private / "A" / "skipped.csv") in error
    assert "notes.txt" not in error and "broken.dcm" not in error, "file names stay out of messages (logs)"
    assert not (tmp_path / "out").exists(), "nothing shareable is written when the scan finds problems"


def test_models_prints_every_network_with_its_parameter_count():
    result = subprocess.run([str(BACSEG), "models"], capture_output=True, text=True, check=True, timeout=600)
    summary = json.loads(result.stdout)
    counts = {m["name"]: m["parameters"] for m in summary["models"]}
    assert len(counts) == 13 and summary["models"][0]["name"] == "SCU-Net"
    assert counts["SCU-Net"] == 169_711 and counts["U-Net"] == 13_395_329
