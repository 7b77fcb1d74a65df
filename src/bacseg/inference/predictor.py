"""A predictor built from weights: 8-bit tiles in, per-pixel probabilities out, compiled once per tile size.

The network runs in its inference form (``models.fused``: BatchNorm folded into the convs for SCU-Net),
jitted at one batch shape. Inputs are normalised on the device the way the checkpoint was trained
(``models.conventions``), the checkpoint's output activation is applied, and the result is clipped to
[0, 1] by default: the authors' paper checkpoint (``SCUNet_dice_512_512_best_nosigmoid.pt``) has no sigmoid,
its raw Dice-trained output strays slightly outside [0, 1], and the authors' max-stitching into zeros cut it
at 0 but not at 1 (``clip=(0.0, None)`` keeps their values above 1, as the authors' recipe must).
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx

from bacseg.models.checkpoint import CheckpointMetadata, load_model, read_metadata
from bacseg.models.conventions import apply_output_activation, normalize
from bacseg.models.fused import inference_form
from bacseg.models.registry import create_model

# The authors' released paper checkpoint, shipped with the repository (weights/authors/README.md).
AUTHORS_WEIGHTS = Path(__file__).resolve().parents[3] / "weights" / "authors" / "SCUNet_dice_512_512_best_nosigmoid.pt"
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


class Predictor:
    """Callable (B, S, S) uint8 tiles -> (B, S, S) float32 probabilities clipped to ``clip``, as a JAX array.

    Every call runs at ``batch_size`` tiles (fewer are padded, more are split), so nothing recompiles
    between images; ``traces`` counts how often the forward pass was traced (once per tile size).
    """

    def __init__(self, model: nnx.Module, metadata: CheckpointMetadata, *, batch_size: int, dtype: str = "float32",
                 clip: tuple[float, float | None] = (0.0, 1.0)):
        if metadata.num_classes != 1:
            raise ValueError(f"{metadata.model_name} ({metadata.source}) has {metadata.num_classes} output classes; "
                             "BAC prediction needs a one-class network")
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.metadata, self.batch_size, self.dtype, self.clip = metadata, batch_size, dtype, tuple(clip)
        self.traces = 0
        graphdef, state = nnx.split(inference_form(model))
        compute_dtype = DTYPES[dtype]
        self._state = jax.tree.map(
            lambda leaf: leaf.astype(compute_dtype) if jnp.issubdtype(leaf.dtype, jnp.floating) else leaf, state
        )

        def forward(state, tiles):
            self.traces += 1  # runs only while tracing
            network = nnx.merge(graphdef, state)
            inputs = normalize(tiles, metadata.normalization, metadata.in_channels).astype(compute_dtype)
            raw = network(inputs)[..., 0].astype(jnp.float32)
            return jnp.clip(apply_output_activation(raw, metadata.output_activation), *self.clip)

        self._forward = jax.jit(forward)

    @property
    def model_name(self) -> str:
        return self.metadata.model_name

    @property
    def normalization(self) -> str:
        return self.metadata.normalization

    @property
    def output_activation(self) -> str:
        return self.metadata.output_activation

    def __call__(self, tiles) -> jax.Array:
        tiles = np.asarray(tiles)
        if tiles.ndim != 3 or tiles.dtype != np.uint8:
            raise ValueError(f"a predictor takes (B, S, S) uint8 tiles, got {tiles.dtype} {tiles.shape}")
        count = len(tiles)
        if count == self.batch_size:
            return self._forward(self._state, tiles)
        padded = np.zeros((-(-count // self.batch_size) * self.batch_size, *tiles.shape[1:]), dtype=np.uint8)
        padded[:count] = tiles
        starts = range(0, len(padded), self.batch_size)
        chunks = [self._forward(self._state, padded[start : start + self.batch_size]) for start in starts]
        return jnp.concatenate(chunks)[:count]


def load_weights(weights: str | Path) -> tuple[nnx.Module, CheckpointMetadata]:
    """``"authors"`` (the shipped paper checkpoint), an authors' ``.pt`` file, or a project checkpoint directory."""
    if str(weights) == "authors":
        if not AUTHORS_WEIGHTS.is_file():
            raise FileNotFoundError(f"the authors' SCU-Net weights are not at {AUTHORS_WEIGHTS} (they ship in the "
                                    "repository's weights/authors/); pass the .pt file or a checkpoint folder instead")
        weights = AUTHORS_WEIGHTS
    path = Path(weights)
    if path.suffix == ".pt":
        from bacseg.models.authors_weights import authors_model  # torch, only for a .pt file

        return authors_model(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such checkpoint directory")
    _check_checkpoint(path.absolute())  # orbax reads absolute paths only
    try:
        return load_model(path)
    except Exception as error:  # orbax and tensorstore raise many types; all mean unreadable files here
        raise ValueError(f"{path}: the weights cannot be read; the checkpoint may be half-written "
                         f"({_first_line(error)})") from None


def load_predictor(
    weights: str | Path, *, batch_size: int, dtype: str = "float32", clip: tuple[float, float | None] = (0.0, 1.0)
) -> Predictor:
    """A ``Predictor`` from ``weights`` (see ``load_weights``)."""
    model, metadata = load_weights(weights)
    return Predictor(model, metadata, batch_size=batch_size, dtype=dtype, clip=clip)


def _check_checkpoint(path: Path) -> None:
    """One-line errors for a checkpoint that is half-written or holds another network's (or size's) weights."""
    try:
        metadata = read_metadata(path)
    except FileNotFoundError:
        raise
    except Exception as error:
        raise ValueError(f"{path}: unreadable checkpoint metadata, half-written? ({_first_line(error)})") from None
    try:
        with ocp.StandardCheckpointer() as checkpointer:
            stored = _shapes(checkpointer.metadata(path / "state").item_metadata or {})
    except Exception:  # orbax raises many types for a damaged state/; the message below says it all
        stored = {}
    if not stored:
        raise ValueError(f"{path}: no readable weights in state/; the checkpoint is half-written or damaged")
    try:
        network = nnx.eval_shape(lambda: create_model(metadata.model_name, num_classes=metadata.num_classes,
                                                      in_channels=metadata.in_channels))  # fmt: skip
    except KeyError as error:
        raise ValueError(f"{path}: {error.args[0]}") from None
    expected = _shapes(nnx.to_pure_dict(nnx.state(network, (nnx.Param, nnx.BatchStat))))
    if stored != expected:
        missing, unexpected = sorted(expected.keys() - stored.keys()), sorted(stored.keys() - expected.keys())
        reshaped = sorted(k for k in expected.keys() & stored.keys() if expected[k] != stored[k])
        problems = [f"{len(missing)} missing (e.g. {missing[0]})" if missing else "",
                    f"{len(unexpected)} unexpected (e.g. {unexpected[0]})" if unexpected else "",
                    f"{len(reshaped)} of another shape (e.g. {reshaped[0]}: stored {stored[reshaped[0]]}, "
                    f"needed {expected[reshaped[0]]})" if reshaped else ""]  # fmt: skip
        raise ValueError(f"{path}: the weights do not fit a {metadata.model_name} with {metadata.num_classes} "
                         f"class(es) and {metadata.in_channels} input channels: "
                         + "; ".join(p for p in problems if p))


def _shapes(tree) -> dict[str, tuple[int, ...]]:
    """Dotted variable path -> shape, for a tree of arrays or of array metadata."""
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {".".join(_key_name(key) for key in keys): tuple(leaf.shape) for keys, leaf in leaves}


def _key_name(key) -> str:
    return str(getattr(key, "key", getattr(key, "idx", key)))


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
