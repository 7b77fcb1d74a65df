"""Training patches from the preprocessed PNGs: the loader that cuts them."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from bacseg.inference.tiling import cut


def _read_png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


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
        loaded = (_read_png(self.root / image_png), _read_png(self.root / label_png) > 127 if label_png else None)
        self._cache[image_id] = loaded
        if len(self._cache) > self._cache_images:
            self._cache.popitem(last=False)
        return loaded
