"""Jitted train / eval / predict steps shared by all 13 networks.

A network maps (B, H, W, C) images to raw (B, H, W, num_classes) outputs; ``output_activation`` turns them
into the predictions that the Dice loss and the metrics see ("none": the raw output, as the authors'
paper checkpoint was trained; "sigmoid"). The steps set the model's mode themselves (``train_step``
trains: dropout on, BatchNorm on batch statistics and updating its running statistics; the others
evaluate), so a caller cannot pair a step with the wrong mode.

The ``*_on_tiles`` steps take 8-bit tiles (B, S, S) and boolean masks as the input pipeline holds them
and do augmentation and normalisation inside the compiled step.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from bacseg.models.conventions import apply_output_activation, normalize
from bacseg.training.augment import Augment, augment_batch
from bacseg.training.loss import dice_loss, dice_sums


def create_optimizer(model: nnx.Module, *, learning_rate: float, weight_decay: float = 0.01) -> nnx.Optimizer:
    """AdamW on the parameters, PyTorch's defaults as the authors used (betas 0.9/0.999, eps 1e-8, decay 0.01)."""
    return nnx.Optimizer(model, optax.adamw(learning_rate, weight_decay=weight_decay), wrt=nnx.Param)


def _update(model, optimizer, images, masks, output_activation):
    def loss_of(model):
        return dice_loss(apply_output_activation(model(images), output_activation), masks)

    loss, grads = nnx.value_and_grad(loss_of)(model)
    optimizer.update(model, grads)
    return loss


_train_step = nnx.jit(_update, static_argnames="output_activation")


@partial(nnx.jit, static_argnames=("augment", "normalization", "output_activation"))
def _train_step_on_tiles(model, optimizer, tiles, masks, key, step, augment, normalization, output_activation):
    tiles, masks = augment_batch(jax.random.fold_in(key, step), tiles, masks.astype(jnp.float32), augment)
    return _update(model, optimizer, normalize(tiles, normalization), masks[..., None], output_activation)


@partial(nnx.jit, static_argnames="output_activation")
def _predict(model, images, output_activation):
    return apply_output_activation(model(images), output_activation)


@partial(nnx.jit, static_argnames=("normalization", "output_activation"))
def _evaluate_tiles(model, tiles, masks, cutoff, normalization, output_activation):
    predictions = apply_output_activation(model(normalize(tiles, normalization)), output_activation)[..., 0]
    return jnp.stack(dice_sums(predictions, masks.astype(jnp.float32), axis=(1, 2)), axis=1), predictions > cutoff


def train_step(
    model: nnx.Module, optimizer: nnx.Optimizer, images: jax.Array, masks: jax.Array, *, output_activation: str = "none"
) -> jax.Array:
    """One AdamW step on the Dice loss of a batch, in train mode; returns the loss before the step."""
    model.train()
    return _train_step(model, optimizer, images, masks, output_activation)


def train_step_on_tiles(
    model: nnx.Module,
    optimizer: nnx.Optimizer,
    tiles: jax.Array,
    masks: jax.Array,
    key: jax.Array,
    step: int,
    *,
    augment: Augment,
    normalization: str,
    output_activation: str,
) -> jax.Array:
    """``train_step`` on 8-bit tiles (B, S, S) and boolean masks, augmented with ``fold_in(key, step)``."""
    model.train()
    step = jnp.asarray(step, jnp.uint32)
    return _train_step_on_tiles(model, optimizer, tiles, masks, key, step, augment, normalization, output_activation)


def predict(model: nnx.Module, images: jax.Array, *, output_activation: str = "none") -> jax.Array:
    """Predictions for a batch in eval mode (no dropout, BatchNorm running statistics)."""
    model.eval()
    return _predict(model, images, output_activation)


def evaluate_tiles(
    model: nnx.Module, tiles: jax.Array, masks: jax.Array, *, cutoff: float, normalization: str, output_activation: str
) -> tuple[jax.Array, jax.Array]:
    """Per-sample Dice sums (B, 3: overlap, truth squares, prediction squares) and the masks predicted > cutoff."""
    model.eval()
    return _evaluate_tiles(model, tiles, masks, jnp.float32(cutoff), normalization, output_activation)
