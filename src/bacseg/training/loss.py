"""The soft Dice loss, as the authors trained SCU-Net."""

from __future__ import annotations

import jax
import jax.numpy as jnp

DICE_EPS = 1e-6


def dice_loss(predictions: jax.Array, masks: jax.Array) -> jax.Array:
    """``1 - 2 sum(y p) / (sum(y^2) + sum(p^2) + 1e-6)``, summed over the whole batch, not per image.

    ``predictions`` are what the caller's output activation made of the network output (the paper
    checkpoint used none: Dice on the raw output); ``masks`` are the targets in [0, 1], same shape.
    """
    if predictions.shape != masks.shape:
        raise ValueError(f"dice_loss: predictions {predictions.shape} and masks {masks.shape} differ in shape")
    overlap = jnp.sum(predictions * masks)
    return 1.0 - 2.0 * overlap / (jnp.sum(masks * masks) + jnp.sum(predictions * predictions) + DICE_EPS)
