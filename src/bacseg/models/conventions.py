"""How a network is fed and read: the input normalisation and the output activation.

Both are recorded in every checkpoint's metadata, so training, whole-image prediction and
quantification use a checkpoint the way it was trained.

Normalisations turn 8-bit tiles (B, H, W) into float32 network input (B, H, W, 3), the grey value
repeated over three channels as the authors fed their RGB-shaped networks:
- ``authors``: ``/255`` then torchvision's Normalize(0.2813, 0.1256), what the released checkpoint saw;
- ``patch_zero_mean``: ``/255``, minus each tile's own mean, divided by the authors' SD 0.1256 (so the
  scale matches theirs); it removes brightness offsets between images and exams.

Output activations turn the raw network output into the per-pixel prediction the Dice loss and the
metrics see: ``none`` (the raw output, as the authors' paper checkpoint was trained by Dice) or
``sigmoid`` (the paper's text).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

AUTHORS_MEAN, AUTHORS_STD = 0.2813, 0.1256


def _authors(tiles: jax.Array) -> jax.Array:
    return (tiles / 255.0 - AUTHORS_MEAN) / AUTHORS_STD


def _patch_zero_mean(tiles: jax.Array) -> jax.Array:
    scaled = tiles / 255.0
    return (scaled - scaled.mean(axis=(1, 2), keepdims=True)) / AUTHORS_STD


NORMALIZATIONS = {"authors": _authors, "patch_zero_mean": _patch_zero_mean}
OUTPUT_ACTIVATIONS = {"none": lambda raw: raw, "sigmoid": jax.nn.sigmoid}


def _lookup(table: dict, name: str, what: str):
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}; expected one of {sorted(table)}") from None


def normalize(tiles: jax.Array, normalization: str, channels: int = 3) -> jax.Array:
    """8-bit tiles (B, H, W) -> float32 network input (B, H, W, channels)."""
    function = _lookup(NORMALIZATIONS, normalization, "normalization")
    normalized = function(jnp.asarray(tiles, dtype=jnp.float32))
    return jnp.repeat(normalized[..., None], channels, axis=-1)


def apply_output_activation(raw: jax.Array, output_activation: str) -> jax.Array:
    return _lookup(OUTPUT_ACTIVATIONS, output_activation, "output_activation")(raw)
