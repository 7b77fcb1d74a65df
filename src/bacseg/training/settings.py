"""The ``train`` section of the workflow config as a typed record.

Its meanings, defaults and ranges live in the config schema (``bacseg/config.schema.yaml``, section
``train``), the one place a user reads them; ``from_mapping`` fills what a mapping leaves out from there,
and an unknown key or a bad value is a ``SettingsError`` naming it.
"""

from __future__ import annotations

import dataclasses

from bacseg import settings
from bacseg.training.augment import Augment


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
    batch_norm_batches: int  # training batches whose statistics replace BatchNorm's running averages (0: kept)
    batch_norm_recalibrate: str  # "lagging" (slower than PyTorch's default momentum) | "all"
    empty: str  # metrics' rule for a patch whose truth and prediction are both empty: "nan" | "zero"

    def __post_init__(self):
        settings.resolve("train", self.as_dict())

    @classmethod
    def from_mapping(cls, mapping: dict | None) -> TrainSettings:
        values = settings.resolve("train", mapping)
        return cls(**{**values, "augment": Augment(**values["augment"])})

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)
