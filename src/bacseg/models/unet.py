"""U-Net (Ronneberger et al., "U-Net: convolutional networks for biomedical image segmentation", 2015).

Port of model/UNet.py in xiaoyufenfei/Efficient-Segmentation-Networks: 13,395,329 parameters for 1 class,
the paper's U-Net count. Double convs (3x3 conv with bias -> BatchNorm -> ReLU, twice) at five scales with
2x2 max pooling between them; the decoder upsamples bilinearly (aligned corners), pads to the skip's size,
concatenates [skip, upsampled] and applies a double conv; a 1x1 conv gives the classes. The reference also
builds a ``ConvTranspose2d`` in every up block but takes the bilinear path, so that layer is not built here.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from bacseg.models.layers import ConvBNReLU, conv2d
from bacseg.models.resampling import max_pool2d, resize_bilinear
from bacseg.models.registry import register

ENCODER_CHANNELS = (64, 128, 256, 512, 512)
DECODER_CHANNELS = (256, 128, 64, 64)


class DoubleConv(nnx.Module):
    """(3x3 conv -> BatchNorm -> ReLU) twice."""

    def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
        self.first = ConvBNReLU(in_channels, out_channels, 3, rngs=rngs)
        self.second = ConvBNReLU(out_channels, out_channels, 3, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.second(self.first(x))


class Up(nnx.Module):
    """Bilinear 2x upsampling (aligned corners), zero-pad to the skip's size, concat [skip, up], double conv."""

    def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
        self.conv = DoubleConv(in_channels, out_channels, rngs=rngs)

    def __call__(self, x: jax.Array, skip: jax.Array) -> jax.Array:
        x = resize_bilinear(x, (2 * x.shape[1], 2 * x.shape[2]), align_corners=True)
        extra_h, extra_w = skip.shape[1] - x.shape[1], skip.shape[2] - x.shape[2]
        x = jnp.pad(x, ((0, 0), (extra_h // 2, extra_h - extra_h // 2), (extra_w // 2, extra_w - extra_w // 2), (0, 0)))
        return self.conv(jnp.concatenate([skip, x], axis=-1))


@register("U-Net")
class UNet(nnx.Module):
    def __init__(self, *, num_classes: int = 1, in_channels: int = 3, rngs: nnx.Rngs):
        widths = (in_channels, *ENCODER_CHANNELS)
        self.encoder = nnx.List([DoubleConv(c_in, c_out, rngs=rngs) for c_in, c_out in zip(widths, widths[1:])])
        # Each up block sees the upsampled map concatenated with the skip of the same scale.
        skips = ENCODER_CHANNELS[-2::-1]
        below = (ENCODER_CHANNELS[-1], *DECODER_CHANNELS[:-1])
        self.decoder = nnx.List(
            [Up(skip + up, out, rngs=rngs) for skip, up, out in zip(skips, below, DECODER_CHANNELS)]
        )
        self.classifier = conv2d(DECODER_CHANNELS[-1], num_classes, 1, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        skips = []
        for i, stage in enumerate(self.encoder):
            x = stage(x if i == 0 else max_pool2d(x, 2))
            skips.append(x)
        skips.pop()  # the bottom of the U feeds the decoder directly
        for up in self.decoder:
            x = up(x, skips.pop())
        return self.classifier(x)
