"""DeepLabV3 (Chen et al., "Rethinking atrous convolution for semantic image segmentation", 2017) with a
MobileNetV3-Large backbone, as torchvision's ``deeplabv3_mobilenet_v3_large(weights=None,
weights_backbone=None, num_classes=1, aux_loss=False)``: 11,020,337 parameters for 1 class.

Why this backbone: the paper does not say which DeepLabV3 it trained, but it says SegNet (29.4M parameters in
the reference zoo) is its largest model. torchvision's ResNet-50 and ResNet-101 DeepLabV3 have 39.6M and
58.6M parameters, so they cannot be the paper's; the MobileNetV3-Large variant (11.0M) is the DeepLabV3 in
torchvision consistent with that statement (``reference_models.json`` lists all three counts). The
reference zoo (xiaoyufenfei/Efficient-Segmentation-Networks) has no DeepLabV3; a MobileNetV2 DeepLabV3 as in
the VainF DeepLabV3Plus-Pytorch zoo (5.1M) would also fit the statement, but torchvision is the canonical
implementation.

Graph: backbone features at output stride 16 (960 channels) -> ASPP (1x1 conv, three 3x3 convs with
dilation 12, 24, 36, and image pooling, each 256 channels with BN-ReLU; concatenated, 1x1 conv to 256,
BN-ReLU, dropout 0.5) -> 3x3 conv, BN-ReLU -> 1x1 classifier -> bilinear upsampling (half-pixel centres)
to the input size. The head uses PyTorch's default initialisation, the backbone torchvision's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from bacseg.models.layers import ConvBNReLU, batch_norm, conv2d
from bacseg.models.resampling import resize_bilinear
from bacseg.models.mobilenetv3 import OUT_CHANNELS, MobileNetV3LargeFeatures
from bacseg.models.registry import register

ASPP_CHANNELS = 256
ATROUS_RATES = (12, 24, 36)
ASPP_DROPOUT = 0.5


class AtrousConvBNReLU(nnx.Module):
    """3x3 conv (no bias) with dilation and padding ``rate`` -> BN -> ReLU (torchvision's ``ASPPConv``)."""

    def __init__(self, in_channels: int, out_channels: int, rate: int, *, rngs: nnx.Rngs):
        self.conv = conv2d(in_channels, out_channels, 3, dilation=rate, bias=False, rngs=rngs)
        self.bn = batch_norm(out_channels, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return jax.nn.relu(self.bn(self.conv(x)))


class ImagePooling(nnx.Module):
    """Global average pool -> 1x1 conv -> BN -> ReLU, broadcast back to the map's size (``ASPPPooling``).

    torchvision upsamples the 1x1 map bilinearly, which is a broadcast. In train mode its BatchNorm sees one
    value per sample and channel, so it needs a batch of at least 2 (PyTorch raises on batch 1).
    """

    def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
        self.conv_bn_relu = ConvBNReLU(in_channels, out_channels, 1, bias=False, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        pooled = self.conv_bn_relu(jnp.mean(x, axis=(1, 2), keepdims=True))
        return jnp.broadcast_to(pooled, x.shape[:3] + pooled.shape[3:])


class ASPP(nnx.Module):
    """Atrous spatial pyramid pooling: five parallel branches, concatenated, fused by a 1x1 conv + dropout."""

    def __init__(self, in_channels: int, *, rngs: nnx.Rngs):
        c = ASPP_CHANNELS
        self.branches = nnx.List(
            [ConvBNReLU(in_channels, c, 1, bias=False, rngs=rngs)]
            + [AtrousConvBNReLU(in_channels, c, rate, rngs=rngs) for rate in ATROUS_RATES]
            + [ImagePooling(in_channels, c, rngs=rngs)]
        )
        self.project = ConvBNReLU(c * len(self.branches), c, 1, bias=False, rngs=rngs)
        self.dropout = nnx.Dropout(ASPP_DROPOUT, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        features = jnp.concatenate([branch(x) for branch in self.branches], axis=-1)
        return self.dropout(self.project(features))


@register("DeepLabV3")
class DeepLabV3(nnx.Module):
    def __init__(self, *, num_classes: int = 1, in_channels: int = 3, rngs: nnx.Rngs):
        self.backbone = MobileNetV3LargeFeatures(in_channels=in_channels, rngs=rngs)
        self.aspp = ASPP(OUT_CHANNELS, rngs=rngs)
        self.head = ConvBNReLU(ASPP_CHANNELS, ASPP_CHANNELS, 3, bias=False, rngs=rngs)
        self.classifier = conv2d(ASPP_CHANNELS, num_classes, 1, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        y = self.classifier(self.head(self.aspp(self.backbone(x))))
        return resize_bilinear(y, x.shape[1:3], align_corners=False)
