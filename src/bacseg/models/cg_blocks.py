"""The context-guided (CGNet) block family, shared by CGNet, SCU-Net's encoder and DABNet.

Reference: model/CGNet.py of xiaoyufenfei/Efficient-Segmentation-Networks (Wu et al., "CGNet: a light-weight
context guided network for semantic segmentation"). SCU-Net's released encoder copies these blocks, and
DABNet uses the same conv-BN-PReLU, BN-PReLU and input injection. One implementation, parametrised for
every user:

- ``ConvBNPReLU`` (CBP): conv without bias -> BatchNorm -> PReLU.
- ``BNPReLU``: BatchNorm -> PReLU, optionally followed by element-wise dropout (SCU-Net's "BPD", p=0.5).
- ``ContextGuidedBlockDown``: halves the resolution; CBP 3x3 stride 2 -> local (depthwise 3x3) and
  surrounding (depthwise 3x3, dilated) context -> BN-PReLU on both -> 1x1 reduce -> global context
  (``FGlo``, a squeeze-excitation). No residual.
- ``ContextGuidedBlock``: keeps the resolution; 1x1 CBP to half the channels -> local and surrounding
  context -> BN-PReLU -> global context -> optional residual (``residual=True`` is CGNet's default).
- ``InputInjection``: the input image average-pooled n times (3x3, stride 2, padding 1), with PyTorch's
  ``count_include_pad=True``: the divisor is always 9, padded zeros included.

Knobs: ``bn_eps`` (1e-3 in CGNet and SCU-Net's encoder), ``per_channel_prelu`` (one slope per channel,
as in CGNet, or a single shared slope), ``dilation`` of the surrounding-context conv, ``reduction`` of
the squeeze-excitation, ``residual`` of the regular block. Depthwise convs are ``DepthwiseConv`` (fast on
XLA's CPU backend). Tensors are NHWC, so PyTorch's concatenations along dim 1 are along the last axis here.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from bacseg.models.depthwise import DepthwiseConv
from bacseg.models.layers import PReLU, SqueezeExcite, batch_norm, conv2d


class ConvBNPReLU(nnx.Module):
    """k x k conv (no bias, "same" padding) -> BatchNorm -> PReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        bn_eps: float = 1e-3,
        per_channel_prelu: bool = True,
        rngs: nnx.Rngs,
    ):
        self.conv = conv2d(in_channels, out_channels, kernel_size, stride=stride, bias=False, rngs=rngs)
        self.bn = batch_norm(out_channels, eps=bn_eps, rngs=rngs)
        self.act = PReLU(out_channels if per_channel_prelu else 1)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.act(self.bn(self.conv(x)))


class BNPReLU(nnx.Module):
    """BatchNorm -> PReLU, then element-wise dropout when ``dropout_rate`` > 0 (active in train mode only)."""

    def __init__(
        self,
        channels: int,
        *,
        bn_eps: float = 1e-3,
        per_channel_prelu: bool = True,
        dropout_rate: float = 0.0,
        rngs: nnx.Rngs,
    ):
        self.bn = batch_norm(channels, eps=bn_eps, rngs=rngs)
        self.act = PReLU(channels if per_channel_prelu else 1)
        self.dropout = nnx.Dropout(dropout_rate, rngs=rngs) if dropout_rate > 0 else None

    def __call__(self, x: jax.Array) -> jax.Array:
        x = self.act(self.bn(x))
        return self.dropout(x) if self.dropout is not None else x


class _LocalSurroundingContext(nnx.Module):
    """f_loc (depthwise 3x3) and f_sur (depthwise 3x3, dilated) on the same map, concatenated [loc, sur]."""

    def __init__(self, channels: int, dilation: int, *, rngs: nnx.Rngs):
        self.local = DepthwiseConv(channels, 3, rngs=rngs)
        self.surrounding = DepthwiseConv(channels, 3, dilation=dilation, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return jnp.concatenate([self.local(x), self.surrounding(x)], axis=-1)


class ContextGuidedBlockDown(nnx.Module):
    """Context-guided downsampling block: (H, W, in_channels) -> (H/2, W/2, out_channels), no residual.

    The reference calls its first layer ``conv1x1``, but it is a 3x3 stride-2 conv.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        dilation: int,
        reduction: int,
        bn_eps: float = 1e-3,
        per_channel_prelu: bool = True,
        rngs: nnx.Rngs,
    ):
        prelu = dict(bn_eps=bn_eps, per_channel_prelu=per_channel_prelu, rngs=rngs)
        self.downsample = ConvBNPReLU(in_channels, out_channels, 3, stride=2, **prelu)
        self.context = _LocalSurroundingContext(out_channels, dilation, rngs=rngs)
        self.joint_bn_prelu = BNPReLU(2 * out_channels, **prelu)
        self.reduce = conv2d(2 * out_channels, out_channels, 1, bias=False, rngs=rngs)
        self.global_context = SqueezeExcite(out_channels, out_channels // reduction, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        joint = self.joint_bn_prelu(self.context(self.downsample(x)))
        return self.global_context(self.reduce(joint))


class ContextGuidedBlock(nnx.Module):
    """Context-guided block at constant resolution: in_channels -> out_channels (even), residual optional."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        dilation: int,
        reduction: int,
        residual: bool = True,
        bn_eps: float = 1e-3,
        per_channel_prelu: bool = True,
        rngs: nnx.Rngs,
    ):
        if residual and in_channels != out_channels:
            raise ValueError(
                "a residual context-guided block needs in_channels == out_channels, "
                f"got {in_channels} -> {out_channels}"
            )
        half = out_channels // 2
        prelu = dict(bn_eps=bn_eps, per_channel_prelu=per_channel_prelu, rngs=rngs)
        self.squeeze = ConvBNPReLU(in_channels, half, 1, **prelu)
        self.context = _LocalSurroundingContext(half, dilation, rngs=rngs)
        self.joint_bn_prelu = BNPReLU(2 * half, **prelu)
        self.global_context = SqueezeExcite(2 * half, 2 * half // reduction, rngs=rngs)
        self.residual = residual

    def __call__(self, x: jax.Array) -> jax.Array:
        y = self.global_context(self.joint_bn_prelu(self.context(self.squeeze(x))))
        return x + y if self.residual else y


def avg_pool_3x3_stride2(x: jax.Array) -> jax.Array:
    """``nn.AvgPool2d(3, stride=2, padding=1)`` (count_include_pad=True): window sum over zero padding / 9.

    Output side ceil(n / 2). A mean over valid cells only (``count_include_pad=False``) would differ at the
    borders, so this is a sum-pool, not ``nnx.avg_pool``'s default.
    """
    window_sum = jax.lax.reduce_window(
        x, 0.0, jax.lax.add, (1, 3, 3, 1), (1, 2, 2, 1), ((0, 0), (1, 1), (1, 1), (0, 0))
    )
    return window_sum / 9.0


class InputInjection(nnx.Module):
    """The input image downsampled ``num_halvings`` times by ``avg_pool_3x3_stride2`` (no parameters)."""

    def __init__(self, num_halvings: int):
        self.num_halvings = num_halvings

    def __call__(self, x: jax.Array) -> jax.Array:
        for _ in range(self.num_halvings):
            x = avg_pool_3x3_stride2(x)
        return x
