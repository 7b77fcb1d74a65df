"""Training (paper II.B): the input pipeline, augmentation, the jitted steps, the loop and its checkpoints."""

from bacseg.training.settings import TrainSettings
from bacseg.training.train import train_and_evaluate

__all__ = ["TrainSettings", "train_and_evaluate"]
