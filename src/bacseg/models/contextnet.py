"""ContextNet (Poudel et al., "ContextNet: exploring context and detail for semantic segmentation in real-time", 2018).

Port of model/ContextNet.py in xiaoyufenfei/Efficient-Segmentation-Networks with its defaults (``aux=False``,
so the auxiliary head is not built): 874,241 parameters for 1 class.

- detail branch, full resolution: 3x3/2 conv WITHOUT padding (the reference's ``Custom_Conv`` default), then
  three depthwise-separable convs (stride 2, 2, 1), to about 1/8 of the input;
- context branch: the input resized to 1/4 (bilinear, aligned corners), a 3x3/2 conv without padding, then
  MobileNetV2 bottlenecks (expansion 1 for the first, 6 for the rest) to about 1/32;
- feature fusion (context upsampled to the detail map's size), classifier (two depthwise-separable convs,
  dropout 0.1, 1x1 conv), bilinear upsampling with aligned corners to the input size.

Fast-SCNN, by the same authors a year later, is built from the same blocks, so they are imported from
``fastscnn``; only the bottleneck is here, because ContextNet needs an expansion other than Fast-SCNN's 6.
"""

from __future__ import annotations

import jax
from flax import nnx

from bacseg.models.fastscnn import DepthwiseSeparable, FeatureFusion, InvertedResidual
from bacseg.models.layers import ConvBNReLU, conv2d
from bacseg.models.resampling import resize_bilinear
from bacseg.models.registry import register

# (out channels, expansion, blocks, stride of the first block) per bottleneck stage; the input has 32 channels.
CONTEXT_STAGES = ((32, 1, 1, 1), (32, 6, 1, 1), (48, 6, 3, 2), (64, 6, 3, 2), (96, 6, 2, 1), (128, 6, 2, 1))
DROPOUT_RATE = 0.1


def _context_branch(in_channels: int, *, rngs: nnx.Rngs) -> nnx.Sequential:
    layers = [ConvBNReLU(in_channels, 32, 3, stride=2, padding=0, bias=False, rngs=rngs)]
    width = 32
    for out_channels, expansion, blocks, stride in CONTEXT_STAGES:
        for i in range(blocks):
            block_stride = stride if i == 0 else 1
            layers.append(InvertedResidual(width, out_channels, expansion=expansion, stride=block_stride, rngs=rngs))
            width = out_channels
    return nnx.Sequential(*layers)


@register("ContextNet")
class ContextNet(nnx.Module):
    def __init__(self, *, num_classes: int = 1, in_channels: int = 3, rngs: nnx.Rngs):
        self.detail = nnx.Sequential(
            ConvBNReLU(in_channels, 32, 3, stride=2, padding=0, bias=False, rngs=rngs),
            DepthwiseSeparable(32, 64, stride=2, rngs=rngs),
            DepthwiseSeparable(64, 128, stride=2, rngs=rngs),
            DepthwiseSeparable(128, 128, rngs=rngs),
        )
        self.context = _context_branch(in_channels, rngs=rngs)
        self.fusion = FeatureFusion(128, 128, 128, rngs=rngs)
        self.head = nnx.Sequential(
            DepthwiseSeparable(128, 128, rngs=rngs),
            DepthwiseSeparable(128, 128, rngs=rngs),
            nnx.Dropout(DROPOUT_RATE, rngs=rngs),
        )
        self.classifier = conv2d(128, num_classes, 1, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        _, h, w, _ = x.shape
        detail = self.detail(x)
        context = self.context(resize_bilinear(x, (h // 4, w // 4), align_corners=True))
        y = self.classifier(self.head(self.fusion(detail, context)))
        return resize_bilinear(y, (h, w), align_corners=True)
