"""MD.ai annotation exports (JSON) in and out.

The export keys each annotation by Study/Series/SOPInstanceUID; BAC centre-lines are "line"
labels whose ``data.vertices`` are [[x, y], ...] in pixel columns/rows. One polyline per calcified
vessel segment; a new polyline starts after >= 1 cm of non-calcified vessel. An image that was read
and has no BAC carries the global "No BAC" label instead, so "annotated" and "has BAC" stay distinct.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from skimage.draw import line as draw_line

BAC_LABEL_ID = "L_bacLn1"
NO_BAC_LABEL_ID = "L_noBac1"


class MdaiExportError(ValueError):
    """An export that cannot be read; the message names the file and the problem."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class AnnotatedImage:
    """One image's annotation: its UIDs, size, and BAC centre-lines ((N, 2) x, y arrays; [] = no BAC)."""

    study_uid: str
    series_uid: str
    sop_instance_uid: str
    height: int
    width: int
    polylines: list[np.ndarray] = field(default_factory=list)
    created_at: str = "2020-01-01T00:00:00.000Z"


def write_export(path: Path | str, images: list[AnnotatedImage], name: str = "BAC polyline annotation") -> None:
    """Write ``images`` as an MD.ai export with a "BAC" line label and a global "No BAC" label.

    Annotation ids are numbered in the given order, so the same input gives the same bytes.
    """
    annotations = []
    for image in images:
        common = {
            "StudyInstanceUID": image.study_uid,
            "SeriesInstanceUID": image.series_uid,
            "SOPInstanceUID": image.sop_instance_uid,
            "frameNumber": None,
        }
        if image.polylines:
            for polyline in image.polylines:
                vertices = [[round(float(x), 2), round(float(y), 2)] for x, y in np.asarray(polyline)]
                annotations.append(
                    _annotation(len(annotations), BAC_LABEL_ID, common, {"vertices": vertices}, image, sized=True)
                )
        else:
            annotations.append(_annotation(len(annotations), NO_BAC_LABEL_ID, common, None, image, sized=False))

    study_uids = list(dict.fromkeys(image.study_uid for image in images))
    export = {
        "id": "P_bacseg",
        "name": name,
        "description": "written by bacseg",
        "createdAt": min((image.created_at for image in images), default="2020-01-01T00:00:00.000Z"),
        "updatedAt": max((image.created_at for image in images), default="2020-01-01T00:00:00.000Z"),
        "labelGroups": [
            {
                "id": "G_default",
                "name": "Default group",
                "description": None,
                "labels": [
                    _label(BAC_LABEL_ID, "BAC", "centre-line of calcified vessel", "#ff0000", "local", "line"),
                    _label(NO_BAC_LABEL_ID, "No BAC", "", "#00ff00", "global", None),
                ],
            }
        ],
        "datasets": [
            {
                "id": "D_ds0001",
                "name": "Dataset",
                "studies": [{"StudyInstanceUID": uid, "number": i + 1} for i, uid in enumerate(study_uids)],
                "annotations": annotations,
            }
        ],
    }
    Path(path).write_text(json.dumps(export, indent=1) + "\n")


def _label(label_id: str, name: str, description: str, color: str, scope_type: str, mode: str | None) -> dict:
    return {
        "id": label_id,
        "parentId": None,
        "name": name,
        "shortName": None,
        "description": description,
        "color": color,
        "type": scope_type,
        "scope": "INSTANCE",
        "annotationMode": mode,
        "radlexTagIds": [],
    }


def _annotation(index: int, label_id: str, uids: dict, data: dict | None, image: AnnotatedImage, sized: bool) -> dict:
    return {
        "id": f"A_{index + 1:06d}",
        "parentId": None,
        "isImported": False,
        "isInvalid": False,
        "labelId": label_id,
        **uids,
        "data": data,
        "note": None,
        "radlexTagIds": [],
        "reviewsPositiveCount": 0,
        "reviewsNegativeCount": 0,
        "annotationNumber": None,
        "height": image.height if sized else None,
        "width": image.width if sized else None,
        "modelId": None,
        "createdAt": image.created_at,
        "createdById": "U_bacseg",
        "updatedAt": image.created_at,
        "updatedById": "U_bacseg",
    }


def read_export(path: Path | str, bac_labels: tuple[str, ...] = ("BAC",)) -> dict[str, list[np.ndarray]]:
    """SOPInstanceUID -> BAC polylines ((N, 2) float arrays of x, y) for every annotated image.

    An image is annotated when it carries any valid annotation; one without a BAC polyline (e.g. only the
    global "No BAC" label) maps to []. Images absent from the result were not annotated at all.
    ``bac_labels`` are label names (matched exactly) whose vertices are BAC centre-lines.
    Annotations flagged ``isInvalid`` are ignored.
    """
    path = Path(path)
    export = _load_json(path)
    labels = _labels_by_id(path, export)
    bac_label_ids = {label_id for label_id, name in labels.items() if name in bac_labels}
    result: dict[str, list[np.ndarray]] = {}
    for annotation in _annotations(path, export):
        if annotation.get("isInvalid") is True:
            continue
        where = f"annotation {annotation.get('id', '?')}"
        sop_uid = annotation.get("SOPInstanceUID")
        label_id = annotation.get("labelId")
        if not isinstance(sop_uid, str) or not sop_uid:
            raise MdaiExportError(path, f"{where} has no SOPInstanceUID")
        if label_id not in labels:
            raise MdaiExportError(path, f"{where} refers to unknown label id {label_id!r}")
        polylines = result.setdefault(sop_uid, [])
        if label_id in bac_label_ids:
            polylines.append(_vertices(path, where, annotation.get("data")))
    return result


def _load_json(path: Path) -> dict:
    try:
        export = json.loads(path.read_text())
    except OSError as error:
        raise MdaiExportError(path, f"cannot read file ({error.strerror or error})") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MdaiExportError(path, f"not valid JSON ({error})") from error
    if not isinstance(export, dict):
        raise MdaiExportError(path, "top level is not a JSON object")
    return export


def _labels_by_id(path: Path, export: dict) -> dict[str, str]:
    groups = export.get("labelGroups")
    if not isinstance(groups, list):
        raise MdaiExportError(path, "missing 'labelGroups' list")
    labels = {}
    for group in groups:
        for label in group.get("labels", []) if isinstance(group, dict) else []:
            if not isinstance(label, dict) or "id" not in label or "name" not in label:
                raise MdaiExportError(path, f"label without 'id' and 'name': {label!r}")
            labels[label["id"]] = label["name"]
    return labels


def _annotations(path: Path, export: dict) -> list[dict]:
    datasets = export.get("datasets")
    if not isinstance(datasets, list):
        raise MdaiExportError(path, "missing 'datasets' list")
    annotations = []
    for i, dataset in enumerate(datasets):
        if not isinstance(dataset, dict) or not isinstance(dataset.get("annotations"), list):
            raise MdaiExportError(path, f"dataset {i} has no 'annotations' list")
        annotations.extend(dataset["annotations"])
    for annotation in annotations:
        if not isinstance(annotation, dict):
            raise MdaiExportError(path, f"annotation is not an object: {annotation!r}")
    return annotations


def _vertices(path: Path, where: str, data) -> np.ndarray:
    vertices = data.get("vertices") if isinstance(data, dict) else None
    try:
        array = np.asarray(vertices, dtype=float)
    except (TypeError, ValueError):
        array = np.empty(0)
    if vertices is None or array.ndim != 2 or array.shape[1] != 2 or len(array) < 2 or not np.isfinite(array).all():
        raise MdaiExportError(path, f"{where}: BAC line needs data.vertices as [[x, y], ...] with >= 2 points")
    return array


def rasterize_polylines(polylines: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of the one-pixel-wide polylines (vertices rounded to pixel centres, clipped to ``shape``)."""
    mask = np.zeros(shape, dtype=bool)
    for polyline in polylines:
        points = np.rint(np.asarray(polyline, dtype=float)).astype(np.int64)
        for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
            rows, cols = draw_line(y0, x0, y1, x1)
            inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
            mask[rows[inside], cols[inside]] = True
    return mask
