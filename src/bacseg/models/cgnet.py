"""CGNet (Wu et al., "CGNet: a light-weight context guided network for semantic segmentation", 2018).

Port of model/CGNet.py in xiaoyufenfei/Efficient-Segmentation-Networks with its defaults (M=3, N=21, no
dropout before the classifier): 491,698 parameters for 1 class. Three stages at 1/2, 1/4 and 1/8 of the
input, each stage's output concatenated with its first block's output and an average-pooled copy of the
input ("input injection"), a 1x1 classifier at 1/8, then bilinear upsampling (half-pixel centres) to the
input size. The blocks live in ``cg_blocks`` (SCU-Net's encoder uses the same ones).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from bacseg.models.cg_blocks import BNPReLU, ContextGuidedBlock, ContextGuidedBlockDown, ConvBNPReLU, InputInjection
from bacseg.models.initializers import variance_scaling
from bacseg.models.layers import conv2d, reinit_kernels
from bacseg.models.resampling import resize_bilinear
from bacseg.models.registry import register

STAGE2_BLOCKS = 3  # the reference's M
STAGE3_BLOCKS = 21  # the reference's N


@register("CGNet")
class CGNet(nnx.Module):
    def __init__(self, *, num_classes: int = 1, in_channels: int = 3, rngs: nnx.Rngs):
        self.stem = nnx.Sequential(
            ConvBNPReLU(in_channels, 32, 3, stride=2, rngs=rngs),
            ConvBNPReLU(32, 32, 3, rngs=rngs),
            ConvBNPReLU(32, 32, 3, rngs=rngs),
        )
        self.inject_half = InputInjection(1)
        self.inject_quarter = InputInjection(2)
        self.stage1_bn_prelu = BNPReLU(32 + in_channels, rngs=rngs)

        self.stage2_down = ContextGuidedBlockDown(32 + in_channels, 64, dilation=2, reduction=8, rngs=rngs)
        self.stage2 = nnx.Sequential(
            *(ContextGuidedBlock(64, 64, dilation=2, reduction=8, rngs=rngs) for _ in range(STAGE2_BLOCKS - 1))
        )
        self.stage2_bn_prelu = BNPReLU(128 + in_channels, rngs=rngs)

        self.stage3_down = ContextGuidedBlockDown(128 + in_channels, 128, dilation=4, reduction=16, rngs=rngs)
        self.stage3 = nnx.Sequential(
            *(ContextGuidedBlock(128, 128, dilation=4, reduction=16, rngs=rngs) for _ in range(STAGE3_BLOCKS - 1))
        )
        self.stage3_bn_prelu = BNPReLU(256, rngs=rngs)
        self.classifier = conv2d(256, num_classes, 1, bias=False, rngs=rngs)

        # The reference redraws every conv kernel with kaiming_normal_ (fan_in, gain sqrt 2); Linear layers keep
        # PyTorch's default.
        reinit_kernels(self, variance_scaling(2.0, "fan_in", "normal"), rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        out = self.stage1_bn_prelu(jnp.concatenate([self.stem(x), self.inject_half(x)], axis=-1))
        first = self.stage2_down(out)
        out = self.stage2_bn_prelu(jnp.concatenate([self.stage2(first), first, self.inject_quarter(x)], axis=-1))
        first = self.stage3_down(out)
        out = self.stage3_bn_prelu(jnp.concatenate([first, self.stage3(first)], axis=-1))
        return resize_bilinear(self.classifier(out), x.shape[1:3], align_corners=False)
