"""FPENet (Liu & Yin, "Feature pyramid encoding network for real-time semantic segmentation", 2019).

Port of model/FPENet.py in xiaoyufenfei/Efficient-Segmentation-Networks with its defaults (width 16, 4 scales,
no squeeze-excitation): 114,531 parameters for 1 class, the fewest of the paper's networks. An encoder of
feature-pyramid-encoding blocks at 1/2, 1/4 and 1/8, two mutual-embedding upsampling (MEU) modules back to
1/2, a 1x1 projection and x2 bilinear upsampling with aligned corners. As in the reference, only the first
block of a stage expands its channels (t=4); the others use t=1. Conv kernels are initialised as the
reference does, ``kaiming_normal_(mode="fan_out", nonlinearity="relu")``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from bacseg.models.initializers import variance_scaling
from bacseg.models.depthwise import DepthwiseConv
from bacseg.models.layers import batch_norm, conv2d, reinit_kernels
from bacseg.models.resampling import resize_bilinear
from bacseg.models.registry import register

DILATIONS = (1, 2, 4, 8)  # one per channel group ("scale") of an FPE block
WIDTHS = (16, 32, 64)
BLOCKS_PER_STAGE = (1, 3, 9)


class FPEBlock(nnx.Module):
    """Residual bottleneck whose 3x3 stage is a pyramid of depthwise convs over channel groups.

    1x1 conv (stride ``stride``) to ``in * expansion`` channels -> BN-ReLU -> split into 4 groups; group s
    gets a depthwise 3x3 conv with dilation DILATIONS[s] on (its input + the previous group's output), then
    BN-ReLU -> concatenate -> 1x1 conv -> BN -> + shortcut (1x1 strided conv + BN when the shape changes) -> ReLU.
    """

    def __init__(self, in_channels: int, out_channels: int, *, stride: int = 1, expansion: int = 1, rngs: nnx.Rngs):
        bottleneck = in_channels * expansion
        group = bottleneck // len(DILATIONS)
        self.expand = conv2d(in_channels, bottleneck, 1, stride=stride, bias=False, rngs=rngs)
        self.expand_bn = batch_norm(bottleneck, rngs=rngs)
        self.pyramid = nnx.List([DepthwiseConv(group, 3, dilation=d, rngs=rngs) for d in DILATIONS])
        self.pyramid_bns = nnx.List([batch_norm(group, rngs=rngs) for _ in DILATIONS])
        self.project = conv2d(bottleneck, out_channels, 1, bias=False, rngs=rngs)
        self.project_bn = batch_norm(out_channels, rngs=rngs)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nnx.Sequential(
                conv2d(in_channels, out_channels, 1, stride=stride, bias=False, rngs=rngs),
                batch_norm(out_channels, rngs=rngs),
            )
        else:
            self.shortcut = None

    def __call__(self, x: jax.Array) -> jax.Array:
        out = jax.nn.relu(self.expand_bn(self.expand(x)))
        groups = jnp.split(out, len(DILATIONS), axis=-1)
        ys = []
        for group, conv, bn in zip(groups, self.pyramid, self.pyramid_bns):
            ys.append(jax.nn.relu(bn(conv(group if not ys else group + ys[-1]))))
        out = self.project_bn(self.project(jnp.concatenate(ys, axis=-1)))
        identity = self.shortcut(x) if self.shortcut is not None else x
        return jax.nn.relu(out + identity)


class MEUModule(nnx.Module):
    """Mutual embedding upsampling: fuses a deep map into a shallower, larger one.

    Both are projected to ``out_channels`` (1x1 conv + BN). The shallow map is weighted by channel attention
    from the deep map (sigmoid(relu(1x1 conv(global mean)))); the deep map, upsampled (aligned corners), is
    weighted by spatial attention from the shallow map (sigmoid(scalar 1x1 conv(channel mean))). Output: sum.
    """

    def __init__(self, high_channels: int, low_channels: int, out_channels: int, *, rngs: nnx.Rngs):
        self.low_proj = conv2d(low_channels, out_channels, 1, bias=False, rngs=rngs)
        self.low_bn = batch_norm(out_channels, rngs=rngs)
        self.spatial_attention = conv2d(1, 1, 1, bias=False, rngs=rngs)
        self.high_proj = conv2d(high_channels, out_channels, 1, bias=False, rngs=rngs)
        self.high_bn = batch_norm(out_channels, rngs=rngs)
        self.channel_attention = conv2d(out_channels, out_channels, 1, bias=False, rngs=rngs)

    def __call__(self, high: jax.Array, low: jax.Array) -> jax.Array:
        low = self.low_bn(self.low_proj(low))
        spatial = jax.nn.sigmoid(self.spatial_attention(jnp.mean(low, axis=-1, keepdims=True)))
        high = self.high_bn(self.high_proj(high))
        channel = jax.nn.sigmoid(jax.nn.relu(self.channel_attention(jnp.mean(high, axis=(1, 2), keepdims=True))))
        high_up = resize_bilinear(high, low.shape[1:3], align_corners=True)
        return channel * low + spatial * high_up


def _stage(
    in_channels: int, out_channels: int, blocks: int, *, stride: int, expansion: int, rngs: nnx.Rngs
) -> nnx.List:
    first = FPEBlock(in_channels, out_channels, stride=stride, expansion=expansion, rngs=rngs)
    return nnx.List([first] + [FPEBlock(out_channels, out_channels, rngs=rngs) for _ in range(blocks - 1)])


@register("FPENet")
class FPENet(nnx.Module):
    def __init__(self, *, num_classes: int = 1, in_channels: int = 3, rngs: nnx.Rngs):
        w1, w2, w3 = WIDTHS
        b1, b2, b3 = BLOCKS_PER_STAGE
        self.stem = conv2d(in_channels, w1, 3, stride=2, bias=False, rngs=rngs)
        self.stem_bn = batch_norm(w1, rngs=rngs)
        self.stage1 = _stage(w1, w1, b1, stride=1, expansion=1, rngs=rngs)
        self.stage2 = _stage(w1, w2, b2, stride=2, expansion=4, rngs=rngs)
        self.stage3 = _stage(w2, w3, b3, stride=2, expansion=4, rngs=rngs)
        self.meu1 = MEUModule(w3, w2, w3, rngs=rngs)
        self.meu2 = MEUModule(w3, w1, w2, rngs=rngs)
        self.classifier = conv2d(w2, num_classes, 1, rngs=rngs)
        reinit_kernels(self, variance_scaling(2.0, "fan_out", "normal"), rngs=rngs)

    @staticmethod
    def _run_stage(blocks: nnx.List, x: jax.Array) -> jax.Array:
        """The stage's blocks in sequence, plus a skip from the first block's output to the last's."""
        first = blocks[0](x)
        out = first
        for block in blocks[1:]:
            out = block(out)
        return first + out if len(blocks) > 1 else out

    def __call__(self, x: jax.Array) -> jax.Array:
        x1 = self._run_stage(self.stage1, jax.nn.relu(self.stem_bn(self.stem(x))))
        x2 = self._run_stage(self.stage2, x1)
        x3 = self._run_stage(self.stage3, x2)
        out = self.classifier(self.meu2(self.meu1(x3, x2), x1))
        return resize_bilinear(out, (2 * out.shape[1], 2 * out.shape[2]), align_corners=True)
