"""ERFNet (Romera et al., "ERFNet: efficient residual factorized ConvNet for real-time semantic segmentation").

Port of model/ERFNet.py in xiaoyufenfei/Efficient-Segmentation-Networks: 2,063,021 parameters for 1 class.
The encoder's own 1x1 ``output_conv`` (129 parameters) only runs when the reference encoder is used alone,
so it is not built. The blocks here are shared with ESNet, which is assembled from the same three units:

- ``DownsamplerBlock``: [3x3/2 conv to (out - in) channels, 2x2 max pool of the input] concatenated ->
  BN -> ReLU.
- ``UpsamplerBlock``: 3x3/2 transposed conv (output padding 1) -> BN -> ReLU.
- ``NonBottleneck1D``: factorised residual unit, (k x 1 conv -> ReLU -> 1 x k conv -> BN -> ReLU) then the
  same pair dilated, BN, channel dropout, + input, ReLU. k = 3 in ERFNet; ESNet's "FCU" is this unit with
  k = 3 or 5.

BatchNorm eps is 1e-3 throughout, dropout is ``Dropout2d`` (whole channels) and is omitted where the
reference's probability is 0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from bacseg.models.layers import batch_norm, channel_dropout, conv2d, require_side_multiple
from bacseg.models.resampling import ConvTranspose2d, max_pool2d
from bacseg.models.registry import register

BN_EPS = 1e-3
#: Three halvings and three doublings: other sides would come back a different size.
SIDE_MULTIPLE = 8


class DownsamplerBlock(nnx.Module):
    """Halve the resolution: concat [3x3/2 conv (out - in channels), 2x2 max pool] -> BN -> ReLU.

    Needs even sides (the networks check theirs are multiples of 8). ESNet's copy of this block zero-pads
    the pooled map for odd sides, where ERFNet's fails; on even sides the two are the same.
    """

    def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
        self.conv = conv2d(in_channels, out_channels - in_channels, 3, stride=2, rngs=rngs)
        self.bn = batch_norm(out_channels, eps=BN_EPS, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return jax.nn.relu(self.bn(jnp.concatenate([self.conv(x), max_pool2d(x, 2)], axis=-1)))


class UpsamplerBlock(nnx.Module):
    """Double the resolution: 3x3/2 transposed conv (padding 1, output padding 1) -> BN -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
        self.conv = ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=1, output_padding=1, rngs=rngs)
        self.bn = batch_norm(out_channels, eps=BN_EPS, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return jax.nn.relu(self.bn(self.conv(x)))


class NonBottleneck1D(nnx.Module):
    """Residual unit of two factorised (k x 1 then 1 x k) convs, the second pair dilated; channel dropout."""

    def __init__(self, channels: int, *, dropout_rate: float, dilation: int = 1, kernel_size: int = 3, rngs: nnx.Rngs):
        k = kernel_size
        self.conv_col_1 = conv2d(channels, channels, (k, 1), rngs=rngs)
        self.conv_row_1 = conv2d(channels, channels, (1, k), rngs=rngs)
        self.bn1 = batch_norm(channels, eps=BN_EPS, rngs=rngs)
        self.conv_col_2 = conv2d(channels, channels, (k, 1), dilation=(dilation, 1), rngs=rngs)
        self.conv_row_2 = conv2d(channels, channels, (1, k), dilation=(1, dilation), rngs=rngs)
        self.bn2 = batch_norm(channels, eps=BN_EPS, rngs=rngs)
        self.dropout = channel_dropout(dropout_rate, rngs=rngs) if dropout_rate > 0 else None

    def __call__(self, x: jax.Array) -> jax.Array:
        out = jax.nn.relu(self.bn1(self.conv_row_1(jax.nn.relu(self.conv_col_1(x)))))
        out = self.bn2(self.conv_row_2(jax.nn.relu(self.conv_col_2(out))))
        if self.dropout is not None:
            out = self.dropout(out)
        return jax.nn.relu(out + x)


@register("ERFNet")
class ERFNet(nnx.Module):
    def __init__(self, *, num_classes: int = 1, in_channels: int = 3, rngs: nnx.Rngs):
        encoder = [DownsamplerBlock(in_channels, 16, rngs=rngs), DownsamplerBlock(16, 64, rngs=rngs)]
        encoder += [NonBottleneck1D(64, dropout_rate=0.03, rngs=rngs) for _ in range(5)]
        encoder.append(DownsamplerBlock(64, 128, rngs=rngs))
        encoder += [
            NonBottleneck1D(128, dropout_rate=0.3, dilation=dilation, rngs=rngs)
            for _ in range(2)
            for dilation in (2, 4, 8, 16)
        ]
        decoder = [UpsamplerBlock(128, 64, rngs=rngs)]
        decoder += [NonBottleneck1D(64, dropout_rate=0.0, rngs=rngs) for _ in range(2)]
        decoder.append(UpsamplerBlock(64, 16, rngs=rngs))
        decoder += [NonBottleneck1D(16, dropout_rate=0.0, rngs=rngs) for _ in range(2)]
        self.encoder = nnx.Sequential(*encoder)
        self.decoder = nnx.Sequential(*decoder)
        self.classifier = ConvTranspose2d(16, num_classes, 2, stride=2, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        require_side_multiple(x, SIDE_MULTIPLE, "ERFNet")
        return self.classifier(self.decoder(self.encoder(x)))
