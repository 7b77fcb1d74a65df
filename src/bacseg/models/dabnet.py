"""DABNet (Li et al., "DABNet: depth-wise asymmetric bottleneck for real-time semantic segmentation", 2019).

Port of model/DABNet.py in xiaoyufenfei/Efficient-Segmentation-Networks with its defaults (3 + 6 DAB
modules): 751,981 parameters for 1 class. The stem and input injection are CGNet's (``cg_blocks``); each
stage's output is concatenated with the stage's first map and the pooled input; a 1x1 classifier at 1/8 of
the input is upsampled bilinearly (half-pixel centres). PyTorch's default initialisation (none overridden).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from bacseg.models.cg_blocks import BNPReLU, ConvBNPReLU, InputInjection
from bacseg.models.depthwise import DepthwiseConv
from bacseg.models.layers import ConvPoolDownsample, conv2d
from bacseg.models.resampling import resize_bilinear
from bacseg.models.registry import register

STAGE1_DILATIONS = (2, 2, 2)
STAGE2_DILATIONS = (4, 4, 8, 8, 16, 16)


class _DepthwiseBNPReLU(nnx.Module):
    """Depthwise conv (no bias) -> BN-PReLU."""

    def __init__(self, channels: int, kernel_size: tuple[int, int], dilation: tuple[int, int], *, rngs: nnx.Rngs):
        self.conv = DepthwiseConv(channels, kernel_size, dilation=dilation, rngs=rngs)
        self.bn_prelu = BNPReLU(channels, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.bn_prelu(self.conv(x))


class DABModule(nnx.Module):
    """Depth-wise asymmetric bottleneck with a residual connection.

    BN-PReLU -> 3x3 conv to half the channels -> two factorised depthwise branches, 3x1 then 1x3, one plain
    and one dilated by ``dilation`` -> their sum -> BN-PReLU -> 1x1 conv back to ``channels`` -> + input.
    """

    def __init__(self, channels: int, dilation: int, *, rngs: nnx.Rngs):
        half = channels // 2
        self.pre_bn_prelu = BNPReLU(channels, rngs=rngs)
        self.squeeze = ConvBNPReLU(channels, half, 3, rngs=rngs)
        self.local = nnx.Sequential(
            _DepthwiseBNPReLU(half, (3, 1), (1, 1), rngs=rngs), _DepthwiseBNPReLU(half, (1, 3), (1, 1), rngs=rngs)
        )
        self.dilated = nnx.Sequential(
            _DepthwiseBNPReLU(half, (3, 1), (dilation, 1), rngs=rngs),
            _DepthwiseBNPReLU(half, (1, 3), (1, dilation), rngs=rngs),
        )
        self.post_bn_prelu = BNPReLU(half, rngs=rngs)
        self.expand = conv2d(half, channels, 1, bias=False, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        out = self.squeeze(self.pre_bn_prelu(x))
        return x + self.expand(self.post_bn_prelu(self.local(out) + self.dilated(out)))


class _Downsample(nnx.Module):
    """3x3 stride-2 conv (‖ 2x2 max pool when widening) -> BN-PReLU."""

    def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
        self.conv_pool = ConvPoolDownsample(in_channels, out_channels, bias=False, rngs=rngs)
        self.bn_prelu = BNPReLU(out_channels, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.bn_prelu(self.conv_pool(x))


@register("DABNet")
class DABNet(nnx.Module):
    def __init__(self, *, num_classes: int = 1, in_channels: int = 3, rngs: nnx.Rngs):
        self.stem = nnx.Sequential(
            ConvBNPReLU(in_channels, 32, 3, stride=2, rngs=rngs),
            ConvBNPReLU(32, 32, 3, rngs=rngs),
            ConvBNPReLU(32, 32, 3, rngs=rngs),
        )
        self.injections = nnx.List([InputInjection(n) for n in (1, 2, 3)])
        self.stem_bn_prelu = BNPReLU(32 + in_channels, rngs=rngs)

        self.stage1_down = _Downsample(32 + in_channels, 64, rngs=rngs)
        self.stage1 = nnx.Sequential(*(DABModule(64, d, rngs=rngs) for d in STAGE1_DILATIONS))
        self.stage1_bn_prelu = BNPReLU(128 + in_channels, rngs=rngs)

        self.stage2_down = _Downsample(128 + in_channels, 128, rngs=rngs)
        self.stage2 = nnx.Sequential(*(DABModule(128, d, rngs=rngs) for d in STAGE2_DILATIONS))
        self.stage2_bn_prelu = BNPReLU(256 + in_channels, rngs=rngs)

        self.classifier = conv2d(256 + in_channels, num_classes, 1, bias=False, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        half, quarter, eighth = (inject(x) for inject in self.injections)
        out = self.stem_bn_prelu(jnp.concatenate([self.stem(x), half], axis=-1))
        first = self.stage1_down(out)
        out = self.stage1_bn_prelu(jnp.concatenate([self.stage1(first), first, quarter], axis=-1))
        first = self.stage2_down(out)
        out = self.stage2_bn_prelu(jnp.concatenate([self.stage2(first), first, eighth], axis=-1))
        return resize_bilinear(self.classifier(out), x.shape[1:3], align_corners=False)
