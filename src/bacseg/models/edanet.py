"""EDANet (Lo et al., "Efficient dense modules of asymmetric convolution for real-time semantic segmentation", 2018).

Port of model/EDANet.py in xiaoyufenfei/Efficient-Segmentation-Networks: 681,367 parameters for 1 class.
Two downsamplers to 1/4, a dense block of 5 EDA modules, a downsampler to 1/8, a dense block of 8 modules,
a 1x1 projection and x8 bilinear upsampling with aligned corners (so the input sides must be multiples of 8
for the output to match the input, as in the reference). Each EDA module appends 40 channels to its input
(dense connectivity). The reference's initialisation is kept: conv kernels N(0, 0.02) (biases keep PyTorch's
default), BatchNorm scales N(1, 0.02) and shifts 0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from bacseg.models.initializers import normal_init
from bacseg.models.layers import ConvPoolDownsample, batch_norm, channel_dropout, conv2d, reinit_kernels
from bacseg.models.resampling import resize_bilinear
from bacseg.models.registry import register

GROWTH_RATE = 40
DROPOUT_RATE = 0.02
BLOCK1_DILATIONS = (1, 1, 1, 2, 2)
BLOCK2_DILATIONS = (2, 2, 4, 4, 8, 8, 16, 16)


class _Downsampler(nnx.Module):
    """3x3 stride-2 conv (‖ 2x2 max pool when widening) -> BN -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
        self.conv_pool = ConvPoolDownsample(in_channels, out_channels, bias=True, rngs=rngs)
        self.bn = batch_norm(out_channels, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return jax.nn.relu(self.bn(self.conv_pool(x)))


class EDAModule(nnx.Module):
    """1x1 conv -> (3x1, 1x3) -> (3x1, 1x3 dilated), each stage BN-ReLU, Dropout2d; output [new, input]."""

    def __init__(self, in_channels: int, dilation: int, *, rngs: nnx.Rngs):
        k = GROWTH_RATE
        self.squeeze = conv2d(in_channels, k, 1, rngs=rngs)
        self.bn0 = batch_norm(k, rngs=rngs)
        self.asymmetric = nnx.List([conv2d(k, k, (3, 1), rngs=rngs), conv2d(k, k, (1, 3), rngs=rngs)])
        self.bn1 = batch_norm(k, rngs=rngs)
        self.dilated = nnx.List(
            [
                conv2d(k, k, (3, 1), dilation=(dilation, 1), rngs=rngs),
                conv2d(k, k, (1, 3), dilation=(1, dilation), rngs=rngs),
            ]
        )
        self.bn2 = batch_norm(k, rngs=rngs)
        self.dropout = channel_dropout(DROPOUT_RATE, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        out = jax.nn.relu(self.bn0(self.squeeze(x)))
        out = jax.nn.relu(self.bn1(self.asymmetric[1](self.asymmetric[0](out))))
        out = jax.nn.relu(self.bn2(self.dilated[1](self.dilated[0](out))))
        return jnp.concatenate([self.dropout(out), x], axis=-1)


def _dense_block(in_channels: int, dilations: tuple[int, ...], *, rngs: nnx.Rngs) -> nnx.Sequential:
    return nnx.Sequential(*(EDAModule(in_channels + i * GROWTH_RATE, d, rngs=rngs) for i, d in enumerate(dilations)))


@register("EDANet")
class EDANet(nnx.Module):
    def __init__(self, *, num_classes: int = 1, in_channels: int = 3, rngs: nnx.Rngs):
        block1_out = 60 + GROWTH_RATE * len(BLOCK1_DILATIONS)
        block2_out = 130 + GROWTH_RATE * len(BLOCK2_DILATIONS)
        self.layers = nnx.Sequential(
            _Downsampler(in_channels, 15, rngs=rngs),
            _Downsampler(15, 60, rngs=rngs),
            _dense_block(60, BLOCK1_DILATIONS, rngs=rngs),
            _Downsampler(block1_out, 130, rngs=rngs),
            _dense_block(130, BLOCK2_DILATIONS, rngs=rngs),
        )
        self.project = conv2d(block2_out, num_classes, 1, rngs=rngs)

        reinit_kernels(self, normal_init(0.02), rngs=rngs)
        for _, layer in nnx.iter_modules(self):
            if isinstance(layer, nnx.BatchNorm):
                layer.scale.set_value(1.0 + normal_init(0.02)(rngs.params(), layer.scale.shape))

    def __call__(self, x: jax.Array) -> jax.Array:
        out = self.project(self.layers(x))
        return resize_bilinear(out, (8 * out.shape[1], 8 * out.shape[2]), align_corners=True)
