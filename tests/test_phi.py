"""No identifying value reaches a shareable output, not even through a folder or file name.

Real mammograms are copied into an archive laid out as hospitals lay them out (folders and files named
after the patient), with names, IDs and birth dates in the headers. Ingest and preprocessing run through
the CLI and through the workflow's rules on a real-data config; no marker may appear in any file under
their outputs or logs (names included), while the private tables, which must hold the paths, do.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
import yaml

from bacseg.cli import main
from bacseg.io.mdai import AnnotatedImage, write_export
from dicom_fixtures import save_variant
from planted_phi import leaks

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
PATIENTS = {  # folder -> (PatientName, PatientID, BirthDate, OtherPatientIDs, {file name: real source})
    "SMITH_JANE_19400101": ("SMITH^JANE", "ZZ123456", "19400101", "YY654321", {
        "ZZ123456_L_CC.dcm": "CBIS-DDSM_Mass-Test_P_00173_LEFT_CC_ds4_rle.dcm",
        "ZZ123456_L_MLO.dcm": "CBIS-DDSM_Mass-Test_P_00173_LEFT_MLO_ds4_rle.dcm",
    }),
    "JONES_MARY_19510505": ("JONES^MARY", "XX777777", "19510505", "WW111111", {
        "XX777777.dcm": "MG1_J2KI_ds4_rle.dcm",
    }),
}  # fmt: skip
MARKERS = ["SMITH", "JANE", "19400101", "ZZ123456", "YY654321", "JONES", "MARY", "19510505", "XX777777", "WW111111"]


@pytest.fixture(scope="module")
def archive(reference_dir, tmp_path_factory) -> tuple[Path, Path]:
    """(the DICOM folder, an MD.ai export with BAC centre-lines on the first image); one damaged file."""
    root = tmp_path_factory.mktemp("phi") / "archive"
    annotated = []
    for folder, (name, patient_id, birth_date, other_id, files) in PATIENTS.items():
        (root / folder).mkdir(parents=True)
        for file_name, source in files.items():

            def identify(dataset, stored):
                dataset.PatientName, dataset.PatientID, dataset.PatientBirthDate = name, patient_id, birth_date
                dataset.OtherPatientIDs = other_id

            path = save_variant(reference_dir / "real_mammograms" / source, root / folder / file_name, identify)
            annotated.append(pydicom.dcmread(path, stop_before_pixels=True))
    damaged = root / "SMITH_JANE_19400101" / "ZZ123456_damaged.dcm"
    damaged.write_bytes((root / "SMITH_JANE_19400101" / "ZZ123456_L_CC.dcm").read_bytes()[:5000])
    first = annotated[0]
    export = root.parent / "export.json"
    line = np.array([[300.0, 400.0], [350.0, 520.0]])
    write_export(export, [AnnotatedImage(first.StudyInstanceUID, first.SeriesInstanceUID, first.SOPInstanceUID,
                                         int(first.Rows), int(first.Columns), [line])])  # fmt: skip
    return root, export


def test_markers_are_planted(archive):
    root, _ = archive
    assert len(leaks(root, MARKERS)) >= 6, "the archive itself must carry every kind of marker"


def test_cli_ingest_and_preprocess_leak_nothing(archive, tmp_path, capsys):
    root, export = archive
    out, private = tmp_path / "shareable", tmp_path / "private"
    assert main(["ingest", str(root), "--annotations", str(export), "--out", str(out / "data"),
                 "--private-dir", str(private)]) == 1  # fmt: skip
    refused = capsys.readouterr().err
    assert "1 problem(s)" in refused and not [m for m in MARKERS if m in refused], "error messages reach logs"

    argv = ["ingest", str(root), "--annotations", str(export), "--out", str(out / "data"), "--private-dir",
            str(private), "--on-error", "skip"]  # fmt: skip
    assert main(argv) == 0
    sources = (private / "A" / "source_files.csv").read_text().splitlines()[1:]
    assert len(sources) == 3 and "ZZ123456" in (private / "A" / "skipped.csv").read_text()
    for image_id, dicom_path in (line.split(",", 1) for line in sources):
        assert main(["preprocess", dicom_path, "--annotations", str(export), "--image-id", image_id,
                     "--out", str(out / "preprocessed" / image_id)]) == 0  # fmt: skip
    capsys.readouterr()
    assert len(list(out.rglob("*.png"))) == 3 * 2 + 1
    assert not leaks(out, MARKERS)


def test_workflow_ingest_and_preprocess_leak_nothing(archive, tmp_path):
    root, export = archive
    config = tmp_path / "real.yaml"
    config.write_text(yaml.safe_dump({
        "data": {"source": "dicom", "cohorts": {"A": {"dicom_dir": str(root), "annotations": str(export)}}},
        "ingest": {"on_error": "skip"},
    }))  # fmt: skip
    workdir = tmp_path / "run"
    command = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile",
               str(config), "--cores", "2", "results/preprocessed/A/preprocessed.csv"]  # fmt: skip
    env = {**os.environ, "PATH": os.pathsep.join([str(SNAKEMAKE.parent), os.environ.get("PATH", "")])}
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stderr[-6000:]
    assert "ZZ123456" in (workdir / "private" / "A" / "source_files.csv").read_text()
    assert len(list((workdir / "results" / "preprocessed" / "A" / "images").glob("*.png"))) == 3
    assert (workdir / "results" / "logs" / "ingest" / "A.log").stat().st_size > 0
    assert not leaks(workdir / "results", MARKERS)
    assert not leaks(workdir / ".snakemake" / "log", MARKERS), "Snakemake's own log names only cohort folders"


def test_the_search_reads_figure_text_and_ignores_digits_inside_numbers(tmp_path):
    """A name in a figure's title is found though the PDF compresses it; a birth date inside a longer number is not
    one (a measured value's digits)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.imshow(np.random.default_rng(0).random((64, 64)))  # an image stream beside the text
    axes.set_title("case SMITH^JANE")
    figure.savefig(tmp_path / "figure.pdf")
    plt.close(figure)
    (tmp_path / "values.csv").write_text("area\n0.1940010123\n")
    assert leaks(tmp_path, MARKERS) == ["figure.pdf: SMITH", "figure.pdf: JANE"]
