"""LinkNet (Chaurasia and Culurciello, "LinkNet: exploiting encoder representations for efficient semantic
segmentation", 2017).

Port of the ``LinkNet`` class of model/LinkNet.py in xiaoyufenfei/Efficient-Segmentation-Networks (a
ResNet18-like encoder built from scratch, no pretrained weights; the file's ``LinkNetImprove`` is not the
one used): 11,533,377 parameters for 1 class. Stem 7x7/2 conv -> BN -> ReLU -> 3x3/2 max pool; four encoder
stages of two residual blocks; four decoders (1x1 reduce to a quarter, 3x3 transposed conv, 1x1 expand,
each with BN and ReLU), each decoder's output added to the encoder map of its scale; then a 3x3/2
transposed conv, a 3x3 conv and a 2x2/2 transposed conv to the classes at full resolution.
"""

from __future__ import annotations

import jax
from flax import nnx

from bacseg.models.layers import ConvBNReLU, batch_norm, conv2d, require_side_multiple
from bacseg.models.resampling import ConvTranspose2d, max_pool2d
from bacseg.models.registry import register

STAGE_CHANNELS = (64, 128, 256, 512)
#: The decoders crop to their skip's size, so only the stem's two halvings must be exact.
SIDE_MULTIPLE = 4


class ResidualBlock(nnx.Module):
    """ResNet basic block: 3x3 conv -> BN -> ReLU -> 3x3 conv -> BN, + the input (through 1x1 conv + BN when
    strided), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int = 1, rngs: nnx.Rngs):
        self.conv1 = conv2d(in_channels, out_channels, 3, stride=stride, bias=False, rngs=rngs)
        self.bn1 = batch_norm(out_channels, rngs=rngs)
        self.conv2 = conv2d(out_channels, out_channels, 3, bias=False, rngs=rngs)
        self.bn2 = batch_norm(out_channels, rngs=rngs)
        # As in the reference, only a strided block projects its shortcut (the channel counts change with it).
        if stride > 1:
            self.shortcut_conv = conv2d(in_channels, out_channels, 1, stride=stride, bias=False, rngs=rngs)
            self.shortcut_bn = batch_norm(out_channels, rngs=rngs)
        else:
            self.shortcut_conv = self.shortcut_bn = None

    def __call__(self, x: jax.Array) -> jax.Array:
        out = self.bn2(self.conv2(jax.nn.relu(self.bn1(self.conv1(x)))))
        shortcut = x if self.shortcut_conv is None else self.shortcut_bn(self.shortcut_conv(x))
        return jax.nn.relu(out + shortcut)


class Decoder(nnx.Module):
    """1x1 conv to in/4 -> 3x3 transposed conv (stride 1 or 2) -> centre crop to the skip's size -> 1x1 conv,
    each conv followed by BN and ReLU."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int, rngs: nnx.Rngs):
        mid = in_channels // 4
        self.reduce = ConvBNReLU(in_channels, mid, 1, bias=False, rngs=rngs)
        self.upsample = ConvTranspose2d(
            mid, mid, 3, stride=stride, padding=1, output_padding=stride - 1, bias=False, rngs=rngs
        )
        self.upsample_bn = batch_norm(mid, rngs=rngs)
        self.expand = ConvBNReLU(mid, out_channels, 1, bias=False, rngs=rngs)

    def __call__(self, x: jax.Array, skip: jax.Array) -> jax.Array:
        x = jax.nn.relu(self.upsample_bn(self.upsample(self.reduce(x))))
        return self.expand(center_crop(x, skip.shape[1], skip.shape[2]))


def center_crop(x: jax.Array, height: int, width: int) -> jax.Array:
    """The central (height, width) window of an NHWC map (the reference's ``center_crop``)."""
    top, left = (x.shape[1] - height) // 2, (x.shape[2] - width) // 2
    return x[:, top : top + height, left : left + width]


@register("LinkNet")
class LinkNet(nnx.Module):
    def __init__(self, *, num_classes: int = 1, in_channels: int = 3, rngs: nnx.Rngs):
        self.stem = ConvBNReLU(in_channels, STAGE_CHANNELS[0], 7, stride=2, bias=False, rngs=rngs)
        widths = (STAGE_CHANNELS[0], *STAGE_CHANNELS)
        self.encoders = nnx.List(
            [
                nnx.Sequential(
                    ResidualBlock(c_in, c_out, stride=1 if i == 0 else 2, rngs=rngs),
                    ResidualBlock(c_out, c_out, rngs=rngs),
                )
                for i, (c_in, c_out) in enumerate(zip(widths, widths[1:]))
            ]
        )
        # Decoder i maps stage i's width back to stage i-1's (the stem's for the first), at that stage's scale.
        self.decoders = nnx.List(
            [
                Decoder(c_out, c_in, stride=1 if i == 0 else 2, rngs=rngs)
                for i, (c_in, c_out) in enumerate(zip(widths, widths[1:]))
            ]
        )
        self.head_upsample = ConvTranspose2d(STAGE_CHANNELS[0], 32, 3, stride=2, padding=1, output_padding=1, rngs=rngs)
        self.head_upsample_bn = batch_norm(32, rngs=rngs)
        self.head_conv = ConvBNReLU(32, 32, 3, rngs=rngs)
        self.classifier = ConvTranspose2d(32, num_classes, 2, stride=2, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        require_side_multiple(x, SIDE_MULTIPLE, "LinkNet")
        x = max_pool2d(self.stem(x), 3, stride=2, padding=1)
        features = [x]
        for encoder in self.encoders:
            features.append(encoder(features[-1]))
        y = features.pop()
        for decoder in reversed(self.decoders):
            skip = features.pop()
            y = skip + decoder(y, skip)
        y = jax.nn.relu(self.head_upsample_bn(self.head_upsample(y)))
        return self.classifier(self.head_conv(y))
