"""MD.ai export: round trip, the reference export, clear errors, polyline rasterisation."""

import json

import numpy as np
import pytest

from bacseg.io.mdai import AnnotatedImage, MdaiExportError, rasterize_polylines, read_export, write_export


def _images():
    with_bac = AnnotatedImage(
        "1.2.3", "1.2.3.1", "1.2.3.1.1", 64, 48,
        polylines=[np.array([[1.5, 2.25], [10.0, 20.0], [30.125, 40.0]]), np.array([[5.0, 5.0], [6.0, 7.0]])],
    )  # fmt: skip
    without_bac = AnnotatedImage("1.2.3", "1.2.3.1", "1.2.3.1.2", 64, 48, polylines=[])
    return [with_bac, without_bac]


def test_round_trip_keeps_polylines_and_no_bac_images(tmp_path):
    path = tmp_path / "export.json"
    write_export(path, _images())
    annotations = read_export(path)
    assert set(annotations) == {"1.2.3.1.1", "1.2.3.1.2"}
    assert annotations["1.2.3.1.2"] == []
    for read, written in zip(annotations["1.2.3.1.1"], _images()[0].polylines):
        np.testing.assert_allclose(read, written, atol=0.005)
    assert "9.9.9" not in annotations  # never annotated: absent, not []


def test_written_export_has_the_md_ai_structure(tmp_path):
    path = tmp_path / "export.json"
    write_export(path, _images())
    export = json.loads(path.read_text())
    labels = {label["id"]: label for label in export["labelGroups"][0]["labels"]}
    annotations = export["datasets"][0]["annotations"]
    assert [labels[a["labelId"]]["name"] for a in annotations] == ["BAC", "BAC", "No BAC"]
    assert labels[annotations[0]["labelId"]]["annotationMode"] == "line"
    assert labels[annotations[2]["labelId"]]["type"] == "global" and annotations[2]["data"] is None
    assert export["datasets"][0]["studies"] == [{"StudyInstanceUID": "1.2.3", "number": 1}]
    assert (annotations[0]["height"], annotations[0]["width"]) == (64, 48)
    write_export(tmp_path / "again.json", _images())
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()


def test_reads_the_reference_export(reference_dir):
    annotations = read_export(reference_dir / "mdai_export_example.json")
    assert annotations["1.2.826.0.1.3680043.8.498.2.1.1"] == []
    (polyline,) = annotations["1.2.826.0.1.3680043.8.498.1.1.1"]
    np.testing.assert_allclose(polyline[[0, -1]], [[812.4, 1200.0], [955.0, 1402.5]])


def test_bac_label_names_are_configurable(tmp_path):
    path = tmp_path / "export.json"
    write_export(path, _images())
    annotations = read_export(path, bac_labels=("Calcified artery",))
    assert annotations == {"1.2.3.1.1": [], "1.2.3.1.2": []}


def test_invalid_annotations_are_ignored(tmp_path):
    path = tmp_path / "export.json"
    write_export(path, _images())
    export = json.loads(path.read_text())
    for annotation in export["datasets"][0]["annotations"]:
        annotation["isInvalid"] = annotation["SOPInstanceUID"] == "1.2.3.1.2"
    path.write_text(json.dumps(export))
    assert set(read_export(path)) == {"1.2.3.1.1"}


@pytest.mark.parametrize(
    "content, problem",
    [
        ("{not json", "not valid JSON"),
        ("[]", "not a JSON object"),
        (json.dumps({"datasets": []}), "labelGroups"),
        (json.dumps({"labelGroups": []}), "datasets"),
    ],
)
def test_malformed_exports_name_the_file_and_problem(tmp_path, content, problem):
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(MdaiExportError, match=rf"broken\.json.*{problem}"):
        read_export(path)


def test_bac_line_without_vertices_names_the_annotation(tmp_path):
    path = tmp_path / "export.json"
    write_export(path, _images())
    export = json.loads(path.read_text())
    export["datasets"][0]["annotations"][1]["data"] = {"vertices": [[1.0, 2.0]]}
    path.write_text(json.dumps(export))
    with pytest.raises(MdaiExportError, match=r"export\.json.*A_000002.*vertices"):
        read_export(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(MdaiExportError, match=r"absent\.json.*cannot read"):
        read_export(tmp_path / "absent.json")


def test_rasterized_polyline_is_connected_and_clipped():
    polylines = [np.array([[0.0, 0.0], [9.0, 0.0], [9.0, 4.0]]), np.array([[-5.0, 8.0], [3.0, 8.0]])]
    mask = rasterize_polylines(polylines, (10, 12))
    assert mask[0, :10].all() and mask[:5, 9].all()
    assert mask[8, :4].all() and not mask[8, 4:].any()
    assert mask.sum() == 10 + 4 + 4
