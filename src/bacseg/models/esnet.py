"""ESNet (Wang et al., "ESNet: an efficient symmetric network for real-time semantic segmentation", 2019).

Port of model/ESNet.py in xiaoyufenfei/Efficient-Segmentation-Networks: 1,657,901 parameters for 1 class.
Built from ERFNet's down/upsampler blocks and factorised residual unit ("FCU", kernel 3 at 1/2 scale and 5
at 1/4), with three parallel factorised units ("PFCU") at 1/8 scale. In the reference, a PFCU's three
dilated branches all pass through ONE BatchNorm module (``bn2``): one set of parameters and running
statistics, updated once per branch in training. That sharing is kept (torchsummary counts the module
three times and reports 1,659,437; the unique count is the one that matters).
"""

from __future__ import annotations

import jax
from flax import nnx

from bacseg.models.erfnet import BN_EPS, SIDE_MULTIPLE, DownsamplerBlock, NonBottleneck1D, UpsamplerBlock
from bacseg.models.layers import batch_norm, channel_dropout, conv2d, require_side_multiple
from bacseg.models.resampling import ConvTranspose2d
from bacseg.models.registry import register

PFCU_DILATIONS = (2, 5, 9)


class ParallelFactorizedUnit(nnx.Module):
    """PFCU: a 3x1/1x3 pair -> BN -> ReLU, then three dilated 3x1/1x3 branches summed with the input, ReLU.

    Each branch: dilated 3x1 conv -> ReLU -> dilated 1x3 conv -> the shared BN -> channel dropout (0.3).
    """

    def __init__(self, channels: int, *, rngs: nnx.Rngs):
        self.conv_col = conv2d(channels, channels, (3, 1), rngs=rngs)
        self.conv_row = conv2d(channels, channels, (1, 3), rngs=rngs)
        self.bn = batch_norm(channels, eps=BN_EPS, rngs=rngs)
        self.branch_col = nnx.List(
            [conv2d(channels, channels, (3, 1), dilation=(d, 1), rngs=rngs) for d in PFCU_DILATIONS]
        )
        self.branch_row = nnx.List(
            [conv2d(channels, channels, (1, 3), dilation=(1, d), rngs=rngs) for d in PFCU_DILATIONS]
        )
        self.branch_bn = batch_norm(channels, eps=BN_EPS, rngs=rngs)
        self.dropout = channel_dropout(0.3, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        trunk = jax.nn.relu(self.bn(self.conv_row(jax.nn.relu(self.conv_col(x)))))
        out = x
        for conv_col, conv_row in zip(self.branch_col, self.branch_row):
            out = out + self.dropout(self.branch_bn(conv_row(jax.nn.relu(conv_col(trunk)))))
        return jax.nn.relu(out)


@register("ESNet")
class ESNet(nnx.Module):
    def __init__(self, *, num_classes: int = 1, in_channels: int = 3, rngs: nnx.Rngs):
        def fcu(channels, kernel_size, dropout_rate):
            return NonBottleneck1D(channels, kernel_size=kernel_size, dropout_rate=dropout_rate, rngs=rngs)

        layers = [DownsamplerBlock(in_channels, 16, rngs=rngs)]
        layers += [fcu(16, 3, 0.03) for _ in range(3)]
        layers.append(DownsamplerBlock(16, 64, rngs=rngs))
        layers += [fcu(64, 5, 0.03) for _ in range(2)]
        layers.append(DownsamplerBlock(64, 128, rngs=rngs))
        layers += [ParallelFactorizedUnit(128, rngs=rngs) for _ in range(3)]
        layers.append(UpsamplerBlock(128, 64, rngs=rngs))
        layers += [fcu(64, 5, 0.0) for _ in range(2)]
        layers.append(UpsamplerBlock(64, 16, rngs=rngs))
        layers += [fcu(16, 3, 0.0) for _ in range(2)]
        self.layers = nnx.Sequential(*layers)
        self.classifier = ConvTranspose2d(16, num_classes, 2, stride=2, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        require_side_multiple(x, SIDE_MULTIPLE, "ESNet")
        return self.classifier(self.layers(x))
