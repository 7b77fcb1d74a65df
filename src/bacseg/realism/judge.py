"""The judge: the authors' released SCU-Net (trained on real Hologic FFDM) behind the project's own recipe.

The project recipe of ``bacseg quantify`` and ``bacseg predict`` (its preprocessing, its sliding window), with
the tiles the judge was trained on: ``realism.tile_size`` (512) and ``realism.overlap`` (64), the paper's grid,
in place of the run's ``patches`` grid (which a downscaled default run shrinks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from bacseg.inference.predictor import Predictor, load_predictor
from bacseg.preprocess import PreprocessParams, preprocess_image
from bacseg.quantify.recipes import Recipe, make_recipe
from bacseg.quantify.sources import open_source


@dataclass(frozen=True)
class Judge:
    recipe: Recipe
    predictor: Predictor
    params: PreprocessParams

    def read_file(self, path: Path | str) -> tuple[np.ndarray, np.ndarray]:
        """A DICOM file -> the 8-bit image the judge sees and its probability map (the project recipe)."""
        image = self.recipe.image(open_source(path))
        return image, self.recipe.predict(image, self.predictor)

    def read_pixels(self, pixels: np.ndarray, spacing_mm: float) -> tuple[np.ndarray, np.ndarray]:
        """MONOCHROME2 pixels of a given pixel size -> the same, as the recipe does it for a DICOM file."""
        image = preprocess_image(pixels, self.params, spacing_mm).image
        return image, self.recipe.predict(image, self.predictor)

    def record(self) -> dict:
        """What the judge is, for the realism JSON."""
        return {"model": self.predictor.model_name, "weights": self.predictor.metadata.source,
                "normalization": self.predictor.normalization,
                "output_activation": self.predictor.output_activation, "clipped_to": list(self.recipe.clip),
                "recipe": self.recipe.name, "settings": self.recipe.settings, **self.recipe.record}  # fmt: skip


def load_judge(config: Mapping, weights: Path | str) -> Judge:
    """The judge of a workflow config (``bacseg.settings.load_config``): ``weights`` (the authors' .pt file, or
    "authors") in the project recipe at the ``realism`` tile grid."""
    realism = config["realism"]
    grid = {**config["patches"], "size": realism["tile_size"], "overlap": realism["overlap"]}
    recipe = make_recipe("project", {**config, "patches": grid})
    predictor = load_predictor(weights, batch_size=recipe.settings["batch_size"], clip=recipe.clip)
    return Judge(recipe, predictor, PreprocessParams.from_mapping(config["preprocess"]))
