"""Fast-SCNN (Poudel et al., "Fast-SCNN: fast semantic segmentation network", 2019).

Port of model/FastSCNN.py in xiaoyufenfei/Efficient-Segmentation-Networks with its defaults (``aux=False``,
so the auxiliary head is not built; the forward returns one map): 1,135,729 parameters for 1 class.

- learning to downsample (to 1/8): 3x3/2 conv WITHOUT padding (the reference's ``_ConvBNReLU`` default),
  then two depthwise-separable convs with stride 2;
- global feature extractor: MobileNetV2 inverted residuals (expansion 6) to 1/32, then pyramid pooling
  (adaptive average pools to 1, 2, 3 and 6 bins, 1x1 conv, bilinear back, concatenated with the input);
- feature fusion: the global features upsampled to 1/8, depthwise conv, 1x1 conv; added to a 1x1 conv of
  the 1/8 features;
- classifier: two depthwise-separable convs, dropout 0.1, 1x1 conv, bilinear upsampling to the input size.

Every bilinear resize uses aligned corners, as in the reference. Depthwise convs are ``DepthwiseConv``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from bacseg.models.depthwise import DepthwiseConv
from bacseg.models.layers import ConvBNReLU, batch_norm, conv2d
from bacseg.models.resampling import resize_bilinear
from bacseg.models.registry import register

EXPANSION = 6
BLOCKS_PER_STAGE = 3
PYRAMID_BINS = (1, 2, 3, 6)


class DepthwiseBNReLU(nnx.Module):
    """3x3 depthwise conv (no bias) -> BN -> ReLU (the reference's ``_DWConv``)."""

    def __init__(self, channels: int, *, stride: int = 1, rngs: nnx.Rngs):
        self.conv = DepthwiseConv(channels, 3, stride=stride, rngs=rngs)
        self.bn = batch_norm(channels, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return jax.nn.relu(self.bn(self.conv(x)))


class DepthwiseSeparable(nnx.Module):
    """Depthwise 3x3 -> BN -> ReLU -> pointwise 1x1 -> BN -> ReLU (the reference's ``_DSConv``)."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int = 1, rngs: nnx.Rngs):
        self.depthwise = DepthwiseBNReLU(in_channels, stride=stride, rngs=rngs)
        self.pointwise = ConvBNReLU(in_channels, out_channels, 1, bias=False, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.pointwise(self.depthwise(x))


class InvertedResidual(nnx.Module):
    """MobileNetV2 block: 1x1 expand -> 3x3 depthwise (strided) -> 1x1 project + BN, no activation; identity
    shortcut when the stride is 1 and the width is unchanged."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int, expansion: int = EXPANSION, rngs: nnx.Rngs):
        hidden = in_channels * expansion
        self.expand = ConvBNReLU(in_channels, hidden, 1, bias=False, rngs=rngs)
        self.depthwise = DepthwiseBNReLU(hidden, stride=stride, rngs=rngs)
        self.project = conv2d(hidden, out_channels, 1, bias=False, rngs=rngs)
        self.project_bn = batch_norm(out_channels, rngs=rngs)
        self.use_shortcut = stride == 1 and in_channels == out_channels

    def __call__(self, x: jax.Array) -> jax.Array:
        out = self.project_bn(self.project(self.depthwise(self.expand(x))))
        return x + out if self.use_shortcut else out


def _adaptive_pool_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) averaging matrix of ``nn.AdaptiveAvgPool2d`` along one axis.

    Bin i covers [floor(i * n_in / n_out), ceil((i + 1) * n_in / n_out)); bins may overlap, and when n_out
    > n_in (6 bins of a 4-pixel map at 128x128 input) some inputs feed several bins.
    """
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        start, end = (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def adaptive_avg_pool(x: jax.Array, bins: int) -> jax.Array:
    """``nn.AdaptiveAvgPool2d(bins)`` for NHWC, as two small matmuls."""
    _, h, w, _ = x.shape
    x = jnp.einsum("oh,bhwc->bowc", jnp.asarray(_adaptive_pool_matrix(h, bins), x.dtype), x)
    return jnp.einsum("pw,bowc->bopc", jnp.asarray(_adaptive_pool_matrix(w, bins), x.dtype), x)


class PyramidPooling(nnx.Module):
    """Concat [x, upsampled 1x1 conv of each adaptive pool] -> 1x1 conv; every conv with BN and ReLU."""

    def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
        self.branches = nnx.List(
            [ConvBNReLU(in_channels, in_channels // 4, 1, bias=False, rngs=rngs) for _ in PYRAMID_BINS]
        )
        self.fuse = ConvBNReLU(2 * in_channels, out_channels, 1, bias=False, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        size = x.shape[1:3]
        pyramid = [
            resize_bilinear(conv(adaptive_avg_pool(x, bins)), size, align_corners=True)
            for conv, bins in zip(self.branches, PYRAMID_BINS)
        ]
        return self.fuse(jnp.concatenate([x, *pyramid], axis=-1))


class FeatureFusion(nnx.Module):
    """ReLU(BN(1x1 conv(high-res)) + BN(1x1 conv(depthwise(upsampled low-res)))); both 1x1 convs have a bias."""

    def __init__(self, high_channels: int, low_channels: int, out_channels: int, *, rngs: nnx.Rngs):
        self.low_depthwise = DepthwiseBNReLU(low_channels, rngs=rngs)
        self.low_conv = conv2d(out_channels, out_channels, 1, rngs=rngs)
        self.low_bn = batch_norm(out_channels, rngs=rngs)
        self.high_conv = conv2d(high_channels, out_channels, 1, rngs=rngs)
        self.high_bn = batch_norm(out_channels, rngs=rngs)

    def __call__(self, high: jax.Array, low: jax.Array) -> jax.Array:
        low = resize_bilinear(low, high.shape[1:3], align_corners=True)
        low = self.low_bn(self.low_conv(self.low_depthwise(low)))
        return jax.nn.relu(self.high_bn(self.high_conv(high)) + low)


def _bottleneck_stage(in_channels: int, out_channels: int, stride: int, rngs: nnx.Rngs) -> list[InvertedResidual]:
    """Three inverted residuals; the first one strides and changes the width."""
    return [
        InvertedResidual(
            in_channels if i == 0 else out_channels, out_channels, stride=stride if i == 0 else 1, rngs=rngs
        )
        for i in range(BLOCKS_PER_STAGE)
    ]


@register("FastSCNN")
class FastSCNN(nnx.Module):
    def __init__(self, *, num_classes: int = 1, in_channels: int = 3, rngs: nnx.Rngs):
        self.downsample = nnx.Sequential(
            ConvBNReLU(in_channels, 32, 3, stride=2, padding=0, bias=False, rngs=rngs),
            DepthwiseSeparable(32, 48, stride=2, rngs=rngs),
            DepthwiseSeparable(48, 64, stride=2, rngs=rngs),
        )
        self.global_features = nnx.Sequential(
            *_bottleneck_stage(64, 64, 2, rngs),
            *_bottleneck_stage(64, 96, 2, rngs),
            *_bottleneck_stage(96, 128, 1, rngs),
            PyramidPooling(128, 128, rngs=rngs),
        )
        self.fusion = FeatureFusion(64, 128, 128, rngs=rngs)
        self.head = nnx.Sequential(
            DepthwiseSeparable(128, 128, rngs=rngs),
            DepthwiseSeparable(128, 128, rngs=rngs),
            nnx.Dropout(0.1, rngs=rngs),
        )
        self.classifier = conv2d(128, num_classes, 1, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        high = self.downsample(x)
        y = self.classifier(self.head(self.fusion(high, self.global_features(high))))
        return resize_bilinear(y, x.shape[1:3], align_corners=True)
