"""SCU-Net (Guo et al., Med. Phys. 2021) as the authors released it: a slim CGNet encoder, a two-level U-Net decoder.

Follows ``SCUNet`` of Emory-HITI/BAC_segmentation (see ../shared/reference/scunet_architecture.md): 169,711
parameters for 1 class and 3 input channels, the graph that runs in the released forward pass (the unused
``level3_1`` block and ``ConvTranspose2d`` layers are not built). Details that change the numbers:

- encoder: conv-BN-PReLU blocks with BatchNorm eps 1e-3 and one PReLU slope per channel;
- input injection: the image average-pooled with a fixed divisor of 9 (PyTorch's ``count_include_pad``);
- BN-PReLU-dropout (p=0.5) after each injection; the skips are taken *before* it;
- decoder: bilinear upsampling with aligned corners, concat [skip, upsampled], two conv(bias)-BN-PReLU
  with BatchNorm eps 1e-5 and a single shared PReLU slope;
- the output is the raw 1x1 conv (the released forward applies no sigmoid).

The encoder blocks are the CGNet family of ``cg_blocks``. The converter from the authors' state_dict
(``authors_weights``) relies on the attribute names used here.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from bacseg.models.cg_blocks import BNPReLU, ContextGuidedBlockDown, ConvBNPReLU, InputInjection
from bacseg.models.layers import PReLU, batch_norm, conv2d
from bacseg.models.resampling import resize_bilinear
from bacseg.models.registry import register

#: Total downsampling of the encoder: input sides must be multiples of this.
SIDE_MULTIPLE = 8


def upsample2x(x: jax.Array) -> jax.Array:
    """``F.interpolate(scale_factor=2, mode="bilinear", align_corners=True)`` on NHWC."""
    _, h, w, _ = x.shape
    return resize_bilinear(x, (2 * h, 2 * w), align_corners=True)


class DoubleConv(nnx.Module):
    """U-Net's (conv3x3 with bias -> BN eps 1e-5 -> PReLU) x 2, with one shared PReLU slope as in SCU-Net."""

    def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
        self.conv1 = conv2d(in_channels, out_channels, 3, rngs=rngs)
        self.bn1 = batch_norm(out_channels, eps=1e-5, rngs=rngs)
        self.act1 = PReLU(1)
        self.conv2 = conv2d(out_channels, out_channels, 3, rngs=rngs)
        self.bn2 = batch_norm(out_channels, eps=1e-5, rngs=rngs)
        self.act2 = PReLU(1)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = self.act1(self.bn1(self.conv1(x)))
        return self.act2(self.bn2(self.conv2(x)))


class Up(nnx.Module):
    """Upsample the deep map x2 (aligned corners), concatenate [skip, upsampled], DoubleConv.

    The reference pads the upsampled map to the skip's size; with sides that are multiples of 8 the sizes
    always agree, so there is nothing to pad.
    """

    def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
        self.conv = DoubleConv(in_channels, out_channels, rngs=rngs)

    def __call__(self, deep: jax.Array, skip: jax.Array) -> jax.Array:
        return self.conv(jnp.concatenate([skip, upsample2x(deep)], axis=-1))


@register("SCU-Net")
class SCUNet(nnx.Module):
    """SCU-Net: (B, H, W, in_channels) -> raw (B, H, W, num_classes); H and W multiples of 8.

    ``head_before_upsample`` applies the 1x1 output conv before the last bilinear upsampling instead of
    after it. Both are linear and the interpolation weights sum to one, so the result is the same up to
    rounding, for 32x fewer upsampled channels; ``fused.scunet_inference_form`` sets it.
    """

    def __init__(
        self, *, num_classes: int = 1, in_channels: int = 3, rngs: nnx.Rngs, head_before_upsample: bool = False
    ):
        level1_channels, level2_channels, level3_channels = 16, 32, 64
        self.level1 = nnx.Sequential(
            ConvBNPReLU(in_channels, level1_channels, 3, stride=2, rngs=rngs),
            ConvBNPReLU(level1_channels, level1_channels, 3, rngs=rngs),
            ConvBNPReLU(level1_channels, level1_channels, 3, rngs=rngs),
        )
        self.inject_half = InputInjection(1)
        self.inject_quarter = InputInjection(2)
        self.level1_dropout = BNPReLU(level1_channels + in_channels, dropout_rate=0.5, rngs=rngs)
        self.level2 = ContextGuidedBlockDown(
            level1_channels + in_channels, level2_channels, dilation=2, reduction=8, rngs=rngs
        )
        self.level2_dropout = BNPReLU(level2_channels + in_channels, dropout_rate=0.5, rngs=rngs)
        self.level3 = ContextGuidedBlockDown(
            level2_channels + in_channels, level3_channels, dilation=4, reduction=16, rngs=rngs
        )
        self.up1 = Up(level2_channels + level3_channels, level3_channels, rngs=rngs)
        self.up2 = Up(level1_channels + level3_channels, level2_channels, rngs=rngs)
        self.head = conv2d(level2_channels, num_classes, 1, rngs=rngs)
        self.head_before_upsample = head_before_upsample

    def __call__(self, x: jax.Array) -> jax.Array:
        _, h, w, _ = x.shape
        if h % SIDE_MULTIPLE or w % SIDE_MULTIPLE:
            raise ValueError(f"SCU-Net needs input sides that are multiples of {SIDE_MULTIPLE}, got {h}x{w}")
        level1 = self.level1(x)
        level2 = self.level2(self.level1_dropout(jnp.concatenate([level1, self.inject_half(x)], axis=-1)))
        level3 = self.level3(self.level2_dropout(jnp.concatenate([level2, self.inject_quarter(x)], axis=-1)))
        decoded = self.up2(self.up1(level3, level2), level1)
        if self.head_before_upsample:
            return upsample2x(self.head(decoded))
        return self.head(upsample2x(decoded))
