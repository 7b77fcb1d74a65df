"""MobileNetV3-Large feature extractor as torchvision builds it for DeepLabV3 (``mobilenet_v3_large(dilated=True)``).

Only ``features`` (what DeepLabV3 runs): a 3x3 stride-2 stem, 15 inverted-residual blocks and a 1x1 conv to
960 channels, output stride 16 because the last stage trades its stride for dilation 2. The ImageNet
classifier head is not built. BatchNorm has eps 1e-3 and PyTorch momentum 0.01 (Flax momentum 0.99), and
the initialisation is torchvision's: conv kernels ``kaiming_normal_(mode="fan_out")``, conv biases zero.
Squeeze-excitation uses ``SqueezeExcite`` with a hard-sigmoid gate (torchvision's 1x1 convs on the pooled
map are the same linear maps). Depthwise convs, including stride-2 and dilated 5x5 ones, are ``DepthwiseConv``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
from flax import nnx

from bacseg.models.initializers import variance_scaling
from bacseg.models.depthwise import DepthwiseConv
from bacseg.models.layers import SqueezeExcite, batch_norm, conv2d, reinit_kernels

OUT_CHANNELS = 960


class BlockConfig(NamedTuple):
    in_channels: int
    kernel: int
    expanded: int
    out_channels: int
    use_se: bool
    hard_swish: bool
    stride: int
    dilation: int


# torchvision's mobilenet_v3_large table (width 1.0) with dilated=True: the last stage (C4) has dilation 2.
LARGE_BLOCKS = (
    BlockConfig(16, 3, 16, 16, False, False, 1, 1),
    BlockConfig(16, 3, 64, 24, False, False, 2, 1),
    BlockConfig(24, 3, 72, 24, False, False, 1, 1),
    BlockConfig(24, 5, 72, 40, True, False, 2, 1),
    BlockConfig(40, 5, 120, 40, True, False, 1, 1),
    BlockConfig(40, 5, 120, 40, True, False, 1, 1),
    BlockConfig(40, 3, 240, 80, False, True, 2, 1),
    BlockConfig(80, 3, 200, 80, False, True, 1, 1),
    BlockConfig(80, 3, 184, 80, False, True, 1, 1),
    BlockConfig(80, 3, 184, 80, False, True, 1, 1),
    BlockConfig(80, 3, 480, 112, True, True, 1, 1),
    BlockConfig(112, 3, 672, 112, True, True, 1, 1),
    BlockConfig(112, 5, 672, 160, True, True, 2, 2),
    BlockConfig(160, 5, 960, 160, True, True, 1, 2),
    BlockConfig(160, 5, 960, 160, True, True, 1, 2),
)


def make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's ``_make_divisible``: round to the nearest multiple of ``divisor``, never below 90% of ``value``."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _batch_norm(channels: int, *, rngs: nnx.Rngs) -> nnx.BatchNorm:
    """``nn.BatchNorm2d(eps=0.001, momentum=0.01)``, torchvision's MobileNetV3 norm layer."""
    return batch_norm(channels, eps=1e-3, momentum=0.01, rngs=rngs)


class ConvBNActivation(nnx.Module):
    """Conv (no bias, "same" padding; depthwise when ``depthwise``) -> BN -> activation (None: identity)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        dilation: int = 1,
        depthwise: bool = False,
        activation=None,
        rngs: nnx.Rngs,
    ):
        if depthwise:
            self.conv = DepthwiseConv(in_channels, kernel_size, stride=stride, dilation=dilation, rngs=rngs)
        else:
            self.conv = conv2d(
                in_channels, out_channels, kernel_size, stride=stride, dilation=dilation, bias=False, rngs=rngs
            )
        self.bn = _batch_norm(out_channels, rngs=rngs)
        self.activation = activation

    def __call__(self, x: jax.Array) -> jax.Array:
        y = self.bn(self.conv(x))
        return self.activation(y) if self.activation is not None else y


class InvertedResidual(nnx.Module):
    """[1x1 expand] -> depthwise k x k -> [squeeze-excitation] -> 1x1 project (linear) [+ input].

    The expansion conv exists only when it changes the width; the residual only when stride is 1 and the width
    is unchanged. A dilated block keeps stride 1 (torchvision: ``stride = 1 if dilation > 1``).
    """

    def __init__(self, cfg: BlockConfig, *, rngs: nnx.Rngs):
        act = jax.nn.hard_swish if cfg.hard_swish else jax.nn.relu
        stride = 1 if cfg.dilation > 1 else cfg.stride
        self.expand = (
            ConvBNActivation(cfg.in_channels, cfg.expanded, 1, activation=act, rngs=rngs)
            if cfg.expanded != cfg.in_channels
            else None
        )
        self.depthwise = ConvBNActivation(
            cfg.expanded,
            cfg.expanded,
            cfg.kernel,
            stride=stride,
            dilation=cfg.dilation,
            depthwise=True,
            activation=act,
            rngs=rngs,
        )
        self.se = (
            SqueezeExcite(cfg.expanded, make_divisible(cfg.expanded // 4), gate=jax.nn.hard_sigmoid, rngs=rngs)
            if cfg.use_se
            else None
        )
        self.project = ConvBNActivation(cfg.expanded, cfg.out_channels, 1, rngs=rngs)
        self.residual = cfg.stride == 1 and cfg.in_channels == cfg.out_channels

    def __call__(self, x: jax.Array) -> jax.Array:
        y = self.expand(x) if self.expand is not None else x
        y = self.depthwise(y)
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return x + y if self.residual else y


class MobileNetV3LargeFeatures(nnx.Module):
    """(B, H, W, in_channels) -> (B, H/16, W/16, 960)."""

    def __init__(self, *, in_channels: int = 3, rngs: nnx.Rngs):
        hard_swish = jax.nn.hard_swish
        stem_channels = LARGE_BLOCKS[0].in_channels
        self.stem = ConvBNActivation(in_channels, stem_channels, 3, stride=2, activation=hard_swish, rngs=rngs)
        self.blocks = nnx.List([InvertedResidual(cfg, rngs=rngs) for cfg in LARGE_BLOCKS])
        self.last = ConvBNActivation(LARGE_BLOCKS[-1].out_channels, OUT_CHANNELS, 1, activation=hard_swish, rngs=rngs)
        # torchvision: kaiming_normal_(fan_out) on every Conv2d, squeeze-excitation's 1x1 convs included, zero biases.
        reinit_kernels(
            self,
            variance_scaling(2.0, "fan_out", "normal"),
            rngs=rngs,
            zero_bias=True,
            layer_types=(nnx.Conv, DepthwiseConv, nnx.Linear),
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.last(x)
