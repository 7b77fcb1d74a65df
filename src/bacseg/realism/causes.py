"""False positives of the judge by cause: each false-positive pixel goes to the first scene map, in CAUSES order,
that holds it (else "other"), and each 8-connected false-positive component to the cause of most of its pixels.

The order puts the unambiguous first: the burned-in label, then pixels next to the BAC itself (a disagreement
about a calcified vessel's edge, not a distractor), the look-alike calcifications, the edge of the collimator's
unexposed strip (which also cuts the pectoral muscle and the breast off), the pectoral and skin edges,
uncalcified vessels, and last the fibrous strands and the fat lobules' walls, which run everywhere and would
otherwise take the rest.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import ndimage

CAUSES = {
    "label": "burned-in view label",
    "bac": "next to the BAC or its label (the calcified vessel's edge)",
    "lookalike": "benign look-alike calcification (ductal rods, punctate clusters, coarse)",
    "collimator_edge": "edge of the collimator's unexposed strip (top or bottom of the image)",
    "pectoral_edge": "edge of the pectoral muscle",
    "skin_edge": "skin line",
    "vessel": "uncalcified vessel (vein, or an artery's uncalcified stretch)",
    "strand": "fibrous strand (Cooper's ligament, duct)",
    "lobule_wall": "wall of a fat lobule (Cooper's ligament)",
    "other": "none of the above (parenchyma)",
}


def attribute_false_positives(false_positive: np.ndarray, maps: Mapping[str, np.ndarray]) -> dict[str, dict[str, int]]:
    """``{"pixels": {cause: n}, "components": {cause: n}}`` over every cause of CAUSES (maps: all but "other")."""
    missing = sorted(set(CAUSES) - {"other"} - set(maps))
    if missing:
        raise ValueError(f"no scene map for the cause(s) {', '.join(missing)}")
    false_positive = np.asarray(false_positive, dtype=bool)
    cause = np.full(false_positive.shape, len(CAUSES) - 1, dtype=np.int8)
    for index, name in reversed(list(enumerate(list(CAUSES)[:-1]))):  # the first cause in order wins
        cause[maps[name]] = index
    pixel_causes = cause[false_positive]
    pixels = np.bincount(pixel_causes, minlength=len(CAUSES))
    components, count = ndimage.label(false_positive, structure=np.ones((3, 3)))
    votes = np.zeros((count + 1, len(CAUSES)), dtype=np.int64)
    np.add.at(votes, (components[false_positive], pixel_causes), 1)
    majority = np.bincount(votes[1:].argmax(axis=1), minlength=len(CAUSES)) if count else np.zeros(len(CAUSES), int)
    return {"pixels": dict(zip(CAUSES, map(int, pixels))), "components": dict(zip(CAUSES, map(int, majority)))}


def add_attributions(total: dict[str, dict[str, int]], one: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Two attributions summed cause by cause."""
    return {unit: {name: total[unit][name] + one[unit][name] for name in CAUSES} for unit in ("pixels", "components")}
