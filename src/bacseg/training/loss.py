"""The soft Dice loss, as the authors trained SCU-Net."""

from __future__ import annotations

import jax
import jax.numpy as jnp

DICE_EPS = 1e-6


def dice_loss_from_sums(overlap, truth_squares, prediction_squares):
    """``1 - 2 overlap / (truth_squares + prediction_squares + 1e-6)``: the loss from its three sums."""
    return 1.0 - 2.0 * overlap / (truth_squares + prediction_squares + DICE_EPS)


def dice_sums(predictions: jax.Array, masks: jax.Array, axis=None) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``sum(y p)``, ``sum(y^2)``, ``sum(p^2)`` over ``axis`` (None: everything)."""
    if predictions.shape != masks.shape:
        raise ValueError(f"dice_loss: predictions {predictions.shape} and masks {masks.shape} differ in shape")
    return (jnp.sum(predictions * masks, axis), jnp.sum(masks * masks, axis), jnp.sum(predictions * predictions, axis))


def dice_loss(predictions: jax.Array, masks: jax.Array) -> jax.Array:
    """``1 - 2 sum(y p) / (sum(y^2) + sum(p^2) + 1e-6)``, summed over the whole batch, not per image.

    ``predictions`` are what the caller's output activation made of the network output (the paper
    checkpoint used none: Dice on the raw output); ``masks`` are the targets in [0, 1], same shape.
    """
    return dice_loss_from_sums(*dice_sums(predictions, masks))
