"""The ``train`` section of the workflow config as a typed record.

Every key is required here: the defaults and their ranges live in the workflow's config schema
(``workflow/schemas/config.schema.yaml``), the one place a user reads them. A missing or unknown key is
an error naming it.
"""

from __future__ import annotations

import dataclasses

from bacseg.metrics.segmentation import EMPTY_RULES
from bacseg.models.conventions import NORMALIZATIONS, OUTPUT_ACTIVATIONS
from bacseg.training.augment import Augment


def checked_keys(mapping: dict, names: list[str], section: str) -> dict:
    """``mapping`` itself, after checking it has exactly the keys ``names``; the error names the others."""
    missing, unknown = sorted(set(names) - set(mapping)), sorted(set(mapping) - set(names))
    if missing or unknown:
        problems = [f"missing {', '.join(missing)}"] * bool(missing) + [f"unknown {', '.join(unknown)}"] * bool(unknown)
        raise ValueError(f"{section} settings: {'; '.join(problems)}")
    return dict(mapping)


def _field_names(cls) -> list[str]:
    return [field.name for field in dataclasses.fields(cls)]


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    output_activation: str  # "sigmoid" | "none"
    normalization: str  # bacseg.models.conventions.NORMALIZATIONS
    cutoff: float  # a pixel is predicted calcified where the prediction is > cutoff
    augment: Augment
    steps_per_epoch: int | None  # None: one pass over the training patches (the last batch wraps around)
    validation_batch_size: int
    empty: str  # metrics' rule for a patch whose truth and prediction are both empty: "zero" | "nan"

    def __post_init__(self):
        for name in ("epochs", "batch_size", "validation_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError(f"train.steps_per_epoch must be >= 1 or null, got {self.steps_per_epoch}")
        if not self.learning_rate > 0 or self.weight_decay < 0:
            raise ValueError(f"train.learning_rate must be > 0 and weight_decay >= 0, got "
                             f"{self.learning_rate} and {self.weight_decay}")
        for name, allowed in (("output_activation", OUTPUT_ACTIVATIONS), ("normalization", NORMALIZATIONS),
                              ("empty", EMPTY_RULES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"train.{name} must be one of {sorted(allowed)}, got {getattr(self, name)!r}")

    @classmethod
    def from_mapping(cls, mapping: dict) -> TrainSettings:
        values = checked_keys(mapping, _field_names(cls), "train")
        augment = checked_keys(values["augment"], _field_names(Augment), "train.augment")
        return cls(**{**values, "augment": Augment(**augment)})

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)
