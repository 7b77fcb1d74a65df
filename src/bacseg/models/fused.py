"""The inference form of a trained SCU-Net: same parameters, same outputs, less work per patch.

Rewrites, each exact up to float rounding (``tests/test_scunet.py`` checks the outputs agree):
- every BatchNorm that directly follows a conv is folded into that conv's kernel and bias (in eval mode a
  BatchNorm is a per-channel affine map); the two BatchNorms that follow a concatenation with the input
  injection have no conv before them and stay;
- the 1x1 output conv runs before the last bilinear upsampling (``SCUNet.head_before_upsample``).
The depthwise convs are already shifted multiply-adds (``depthwise.DepthwiseConv``), and XLA's YNNPACK
backend is switched off by ``runtime.configure_jax``: the other two measured speed-ups.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from bacseg.models.depthwise import DepthwiseConv
from bacseg.models.scunet import SCUNet


class Identity(nnx.Module):
    """Takes the place of a BatchNorm whose affine map now lives in the preceding conv."""

    def __call__(self, x: jax.Array) -> jax.Array:
        return x


def fold_batch_norm(conv: nnx.Conv | DepthwiseConv, bn: nnx.BatchNorm, channels: slice = slice(None)) -> None:
    """Fold ``bn``'s running-statistics affine map (its ``channels`` part) into ``conv``, in place.

    ``bn(conv(x)) = g * (W x + b - mean) + beta`` with ``g = scale / sqrt(var + eps)``, so the folded conv
    has kernel ``g * W`` (scaled per output channel, the kernel's last axis) and bias ``g * (b - mean) + beta``.
    """
    gain = bn.scale[...][channels] * jax.lax.rsqrt(bn.var[...][channels] + bn.epsilon)
    shift = bn.bias[...][channels] - gain * bn.mean[...][channels]
    kernel = conv.kernel[...]
    bias = conv.bias[...] if conv.bias is not None else jnp.zeros(kernel.shape[-1], kernel.dtype)
    conv.kernel = nnx.Param(kernel * gain)
    conv.bias = nnx.data(nnx.Param(gain * bias + shift))  # nnx.data: a bias-free conv held None as static
    if isinstance(conv, nnx.Conv):
        conv.use_bias = True


def scunet_inference_form(model: SCUNet) -> SCUNet:
    """An eval-only copy of ``model`` with the rewrites above; ``model`` itself is left as it is."""
    fused = nnx.clone(model)
    fused.eval()
    for block in (*fused.level1.layers, fused.level2.downsample, fused.level3.downsample):
        fold_batch_norm(block.conv, block.bn)
        block.bn = Identity()
    for level in (fused.level2, fused.level3):
        joint_bn = level.joint_bn_prelu.bn
        half = level.context.local.kernel.shape[-1]
        fold_batch_norm(level.context.local, joint_bn, slice(0, half))
        fold_batch_norm(level.context.surrounding, joint_bn, slice(half, None))
        level.joint_bn_prelu.bn = Identity()
    for up in (fused.up1, fused.up2):
        fold_batch_norm(up.conv.conv1, up.conv.bn1)
        fold_batch_norm(up.conv.conv2, up.conv.bn2)
        up.conv.bn1, up.conv.bn2 = Identity(), Identity()
    fused.head_before_upsample = True
    return fused


def inference_form(model: nnx.Module) -> nnx.Module:
    """The fastest eval-mode form of any registered network: SCU-Net's rewrites, other networks as they are."""
    if isinstance(model, SCUNet):
        return scunet_inference_form(model)
    model.eval()
    return model
