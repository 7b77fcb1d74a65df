"""Train/validation split of a manifest, seeded.

The paper split its 661 images 527/134 at random; with several images per woman that lets one
subject's other views leak into validation, so the default here keeps every subject on one side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bacseg import settings

TRAIN, VALIDATION, TEST = "train", "validation", "test"
_DEFAULTS = settings.section_defaults("ingest")


def assign_split(
    manifest: pd.DataFrame,
    by: str = _DEFAULTS["split_by"],
    val_fraction: float = _DEFAULTS["val_fraction"],
    seed: int = 0,
) -> pd.Series:
    """"train"/"validation" per row (index aligned with ``manifest``); ``by="none"`` marks all "test".

    ``by`` and ``val_fraction`` are the config keys ingest.split_by and ingest.val_fraction (checked by
    their schema).

    ``by="subject"``: subjects in a seeded random order each go to validation when that brings the
    validation image count closer to ``val_fraction`` of all images; no subject is on both sides.
    ``by="image"``: a seeded random ``val_fraction`` of the images (the paper's split).
    """
    settings.resolve("ingest", {"split_by": by, "val_fraction": val_fraction})
    if by == "none":
        return pd.Series(TEST, index=manifest.index, name="split")
    rng = np.random.default_rng(seed)
    target = round(val_fraction * len(manifest))
    split = pd.Series(TRAIN, index=manifest.index, name="split")
    if by == "image":
        order = manifest.sort_values("image_id").index.to_numpy()
        split.loc[rng.permutation(order)[:target]] = VALIDATION
        return split
    sizes = manifest.groupby("subject_id").size().sort_index()
    validation, count = [], 0
    for subject in rng.permutation(sizes.index.to_numpy()):
        if abs(count + sizes[subject] - target) < abs(count - target):
            validation.append(subject)
            count += sizes[subject]
    split[manifest["subject_id"].isin(validation)] = VALIDATION
    return split
