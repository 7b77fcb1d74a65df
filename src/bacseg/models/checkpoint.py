"""The project's model checkpoint: a directory written by orbax, with weights and a JSON description.

``<dir>/state``: the trainable parameters and the BatchNorm running statistics (what eval mode needs;
optimizer and dropout RNG state are not kept). ``<dir>/metadata``: which registered network it is,
its classes and input channels, the output activation its training assumed, and where the weights
came from. ``load_model`` rebuilds the network from the registry and fills it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orbax.checkpoint as ocp
from flax import nnx

from bacseg.models.conventions import NORMALIZATIONS, OUTPUT_ACTIVATIONS
from bacseg.models.registry import create_model

_SAVED = (nnx.Param, nnx.BatchStat)


@dataclasses.dataclass(frozen=True)
class CheckpointMetadata:
    model_name: str  # the registry's name, e.g. "SCU-Net"
    num_classes: int
    in_channels: int
    output_activation: str  # "none" | "sigmoid": what turns the raw output into predictions
    source: str  # provenance, e.g. "authors' release: <file>" or the training run
    normalization: str = "authors"  # how 8-bit tiles become its input (bacseg.models.conventions)
    extra: dict = dataclasses.field(default_factory=dict)  # JSON-able details: epoch, validation Dice, config

    def __post_init__(self):
        if self.output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"output_activation {self.output_activation!r} is not one of {sorted(OUTPUT_ACTIVATIONS)}"
            )
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization {self.normalization!r} is not one of {sorted(NORMALIZATIONS)}")


def save_checkpoint(directory: str | Path, model: nnx.Module, metadata: CheckpointMetadata) -> Path:
    """Write ``model``'s parameters and BatchNorm statistics with ``metadata`` to a new ``directory``."""
    directory = Path(directory).absolute()
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(f"checkpoint directory {directory} exists and is not empty")
    state = nnx.to_pure_dict(nnx.state(model, _SAVED))
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
        checkpointer.save(
            directory,
            ocp.args.Composite(
                state=ocp.args.StandardSave(state), metadata=ocp.args.JsonSave(dataclasses.asdict(metadata))
            ),
            force=True,  # an existing empty directory (e.g. made by the workflow) is fine
        )
    return directory


def read_metadata(directory: str | Path) -> CheckpointMetadata:
    directory = Path(directory).absolute()
    if not (directory / "metadata").is_dir():
        raise FileNotFoundError(f"{directory} is not a bacseg checkpoint (no metadata/ inside)")
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
        saved = checkpointer.restore(directory, ocp.args.Composite(metadata=ocp.args.JsonRestore()))
    try:
        return CheckpointMetadata(**saved.metadata)
    except TypeError as error:
        raise ValueError(f"{directory}/metadata: unexpected contents ({error})") from None


def load_model(directory: str | Path) -> tuple[nnx.Module, CheckpointMetadata]:
    """The network saved in ``directory``, in eval mode, and its metadata."""
    directory = Path(directory).absolute()
    metadata = read_metadata(directory)
    model = create_model(metadata.model_name, num_classes=metadata.num_classes, in_channels=metadata.in_channels)
    state = nnx.state(model, _SAVED)
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
        try:
            saved = checkpointer.restore(
                directory, ocp.args.Composite(state=ocp.args.StandardRestore(nnx.to_pure_dict(state)))
            )
        except (ValueError, KeyError) as error:
            raise ValueError(f"{directory}: weights do not fit a {metadata.model_name} ({error})") from error
    nnx.replace_by_pure_dict(state, saved.state)
    nnx.update(model, state)
    model.eval()
    return model, metadata
