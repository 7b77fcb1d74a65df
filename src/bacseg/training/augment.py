"""Online augmentation of 8-bit grey tiles and their masks (paper II.B), run inside the jitted train step.

Vertical and horizontal flips, rotation by 90 or 270 degrees, brightness and contrast as torchvision's
``ColorJitter`` draws them. The paper also lists saturation: on a grey image repeated over three channels
saturation (and hue) change nothing, so there is none here. Every sample draws its own transform from a
JAX key, so a given key augments a batch the same way on every run, and a resumed run draws exactly the
transforms an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from bacseg import settings


@dataclasses.dataclass(frozen=True)
class Augment:
    flip: bool  # vertical and horizontal flip, each with probability 1/2
    rot90: bool  # with probability 1/2 rotate, by 90 or by 270 degrees (1/4 each); square tiles only
    brightness: float  # multiply by a factor uniform in [max(0, 1 - b), 1 + b] (0: off)
    contrast: float  # scale the deviations from the tile's mean by a factor uniform in [max(0, 1 - c), 1 + c]

    def __post_init__(self):
        settings.resolve("train.augment", dataclasses.asdict(self))  # the ranges are the config schema's


def _jitter_factor(key: jax.Array, strength: float) -> jax.Array:
    return jax.random.uniform(key, minval=max(0.0, 1.0 - strength), maxval=1.0 + strength)


def _augment_one(key: jax.Array, tile: jax.Array, mask: jax.Array, augment: Augment):
    flip_v, flip_h, rotate, bright, contrast = jax.random.split(key, 5)
    if augment.flip:
        for axis, flip_key in ((0, flip_v), (1, flip_h)):
            flipped = jax.random.bernoulli(flip_key)
            tile, mask = (jnp.where(flipped, jnp.flip(a, axis), a) for a in (tile, mask))
    if augment.rot90:
        turn = jax.random.randint(rotate, (), 0, 4)  # 0, 1: unrotated; 2: 90 degrees; 3: 270 degrees
        tile, mask = (jnp.where(turn == 2, jnp.rot90(a, 1), jnp.where(turn == 3, jnp.rot90(a, 3), a))
                      for a in (tile, mask))
    if augment.brightness:
        tile = jnp.clip(tile * _jitter_factor(bright, augment.brightness), 0.0, 255.0)
    if augment.contrast:
        mean = tile.mean()
        tile = jnp.clip((tile - mean) * _jitter_factor(contrast, augment.contrast) + mean, 0.0, 255.0)
    return tile, mask


def augment_batch(key: jax.Array, tiles: jax.Array, masks: jax.Array, augment: Augment) -> tuple[jax.Array, jax.Array]:
    """Tiles (B, S, S) on the 0-255 scale (float32 out, unrounded) and masks (B, S, S), each sample its own draw."""
    tiles = jnp.asarray(tiles, jnp.float32)
    keys = jax.random.split(key, tiles.shape[0])
    return jax.vmap(lambda k, t, m: _augment_one(k, t, m, augment))(keys, tiles, masks)
