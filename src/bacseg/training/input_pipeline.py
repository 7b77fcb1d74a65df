"""Training patches from the preprocessed PNGs: the loader that cuts them, the patch sets held in memory,
and the batch order of each epoch.

Batches always have the same shape, so the compiled steps never recompile: a training epoch's order
wraps around into a fresh shuffle to fill its last batch, and validation's last batch is padded.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd

from bacseg.inference.tiling import cut
from bacseg.io.png import read_mask_png, read_png


class PatchLoader:
    """Cuts (image, label) tiles from the preprocessed PNGs for an index row, decoding each PNG once.

    Keeps the last ``cache_images`` decoded images: iterate the index grouped by image (as it is
    written) and each image is read once per pass. Images without a label mask give an all-False label.
    """

    def __init__(
        self, preprocessed_dir: Path | str, preprocessed: Path | str | pd.DataFrame | None = None, cache_images: int = 4
    ):
        self.root = Path(preprocessed_dir)
        table = preprocessed if preprocessed is not None else self.root / "preprocessed.csv"
        table = table if isinstance(table, pd.DataFrame) else pd.read_csv(table, keep_default_na=False)
        records = table.to_dict("records")
        self._files = {str(r["image_id"]): (r["image_png"], r.get("bac_mask_png", "")) for r in records}
        self._cache: OrderedDict[str, tuple[np.ndarray, np.ndarray | None]] = OrderedDict()
        self._cache_images = cache_images

    def __call__(self, row) -> tuple[np.ndarray, np.ndarray]:
        image, label = self._image(str(row["image_id"]))
        y, x, size = int(row["y"]), int(row["x"]), int(row["size"])
        label_tile = cut(label, y, x, size) if label is not None else np.zeros((size, size), dtype=bool)
        return cut(image, y, x, size), label_tile

    def _image(self, image_id: str) -> tuple[np.ndarray, np.ndarray | None]:
        if image_id in self._cache:
            self._cache.move_to_end(image_id)
            return self._cache[image_id]
        if image_id not in self._files:
            raise KeyError(f"image {image_id} is not in the preprocessed table under {self.root}")
        image_png, label_png = self._files[image_id]
        loaded = (read_png(self.root / image_png), read_mask_png(self.root / label_png) if label_png else None)
        self._cache[image_id] = loaded
        if len(self._cache) > self._cache_images:
            self._cache.popitem(last=False)
        return loaded


SPLITS = ("train", "validation")
_INDEX_COLUMNS = ("image_id", "split", "y", "x", "size", "selected")


@dataclasses.dataclass(frozen=True)
class PatchSet:
    """The selected patches of one split in memory: 8-bit tiles, boolean masks, and where each came from."""

    tiles: np.ndarray  # (N, S, S) uint8
    masks: np.ndarray  # (N, S, S) bool
    rows: pd.DataFrame  # image_id, y, x of each patch, in the index's order

    def __len__(self) -> int:
        return len(self.rows)


def read_patch_sets(patch_index: Path | str, preprocessed_table: Path | str) -> dict[str, PatchSet]:
    """The ``selected`` patches of the train and validation splits of a patch index, cut from the PNGs.

    All of them are held in memory (N * S * S * 2 bytes: the paper's 4,356 patches of 512 take 2.3 GB),
    because a shuffled batch would otherwise decode a whole mammogram per patch.
    """
    patch_index, preprocessed_table = Path(patch_index), Path(preprocessed_table)
    index = pd.read_csv(patch_index, dtype={"image_id": str}, keep_default_na=False)
    missing = [column for column in _INDEX_COLUMNS if column not in index.columns]
    if missing:
        raise ValueError(f"{patch_index}: not a patch index, columns missing: {', '.join(missing)}")
    if index["size"].nunique() > 1:
        raise ValueError(f"{patch_index}: patches of several sizes {sorted(index['size'].unique())}; expected one")
    selected = index[index["selected"].astype(str).str.lower() == "true"]
    loader = PatchLoader(preprocessed_table.parent, preprocessed_table)
    sets = {}
    for split in SPLITS:
        rows = selected[selected["split"] == split].reset_index(drop=True)
        if rows.empty:
            raise ValueError(f"{patch_index}: no {split} patches (no row with split {split!r} and selected True)")
        tiles, masks = zip(*(loader(row) for row in rows.to_dict("records")))
        sets[split] = PatchSet(np.stack(tiles), np.stack(masks).astype(bool), rows[["image_id", "y", "x"]])
    return sets


def fingerprint(patch_sets: dict[str, PatchSet]) -> str:
    """A digest of which patches each split holds and their pixels: a resumed run must see the same data."""
    digest = hashlib.sha256()
    for split, patches in sorted(patch_sets.items()):
        digest.update(split.encode())
        digest.update(patches.rows.to_csv(index=False).encode())
        digest.update(patches.tiles.tobytes())
        digest.update(patches.masks.tobytes())
    return digest.hexdigest()


def epoch_batches(n: int, batch_size: int, steps: int, seed: int, epoch: int) -> np.ndarray:
    """(steps, batch_size) patch indices of one epoch: shuffles drawn from (seed, epoch), one after another."""
    rng = np.random.default_rng([seed, epoch])
    needed = steps * batch_size
    order = np.concatenate([rng.permutation(n) for _ in range(max(1, -(-needed // n)))])  # 0 steps: none
    return order[:needed].reshape(steps, batch_size)


def padded_batches(n: int, batch_size: int) -> list[tuple[np.ndarray, int]]:
    """Every index once, in order, as (indices, how many are real): the last batch is padded with index 0."""
    batches = []
    for start in range(0, n, batch_size):
        real = np.arange(start, min(start + batch_size, n))
        batches.append((np.pad(real, (0, batch_size - len(real))), len(real)))
    return batches
