"""SegNet (Badrinarayanan et al., "SegNet: a deep convolutional encoder-decoder architecture for image segmentation").

Port of model/SegNet.py in xiaoyufenfei/Efficient-Segmentation-Networks: 29,443,585 parameters for 1 class,
the largest of the paper's models. A VGG16-style encoder of five stages (3x3 conv with bias -> BatchNorm ->
ReLU, then 2x2 max pooling that remembers where each maximum was) and a mirror-image decoder that
max-unpools into those positions before its convs. The last conv (3x3, to the classes) has no BatchNorm and
no activation.

Max-unpooling is written without scatter: pooling records a one-hot "switch" map (1 where the window's
maximum was), and unpooling multiplies it with the nearest-neighbour upsampled decoder map. Both passes are
element-wise, so the backward pass is cheap on the CPU, and the result equals ``F.max_unpool2d`` with
``F.max_pool2d``'s indices (first maximum in row-major window order wins ties, as in PyTorch).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from bacseg.models.layers import ConvBNReLU, conv2d
from bacseg.models.registry import register

# (channels, convs) of the five encoder stages; the decoder mirrors them.
STAGES = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def _interleave_2x2(top_left, top_right, bottom_left, bottom_right) -> jax.Array:
    """Four (B, h, w, C) maps -> one (B, 2h, 2w, C) map, each 2x2 window made of one pixel of each."""
    b, h, w, c = top_left.shape
    top = jnp.stack([top_left, top_right], axis=3)
    bottom = jnp.stack([bottom_left, bottom_right], axis=3)
    return jnp.stack([top, bottom], axis=2).reshape(b, 2 * h, 2 * w, c)


def _pad_to(x: jax.Array, height: int, width: int) -> jax.Array:
    """Zero rows/columns at the bottom/right up to (height, width): the odd row/column 2x2 pooling drops."""
    return jnp.pad(x, ((0, 0), (0, height - x.shape[1]), (0, width - x.shape[2]), (0, 0)))


def max_pool_with_switches(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """2x2 / stride 2 max pooling (floor mode) and the one-hot map of where each window's maximum was.

    The switch map has ``x``'s shape; within each window exactly one entry is 1, the first maximum in
    row-major order (PyTorch's ``return_indices`` choice). A trailing odd row/column is all zeros. The
    pooled value is read through the switch, so on tied maxima the gradient goes to that one entry, as in
    PyTorch (``jnp.max`` would share it between the tied entries).
    """
    _, h, w, _ = x.shape
    x_even = x[:, : h // 2 * 2, : w // 2 * 2]
    corners = [x_even[:, i::2, j::2] for i in (0, 1) for j in (0, 1)]
    window_max = jnp.max(jnp.stack(corners), axis=0)
    already_taken = jnp.zeros(window_max.shape, bool)
    switches = []
    for corner in corners:
        is_first_max = (corner == window_max) & ~already_taken
        already_taken = already_taken | is_first_max
        switches.append(is_first_max.astype(x.dtype))
    pooled = sum(switch * corner for switch, corner in zip(switches, corners))
    return pooled, _pad_to(_interleave_2x2(*switches), h, w)


def max_unpool(x: jax.Array, switches: jax.Array) -> jax.Array:
    """``F.max_unpool2d(x, indices, 2, 2, output_size)``: each value back where its window's maximum was."""
    b, h, w, c = x.shape
    upsampled = jnp.broadcast_to(x[:, :, None, :, None, :], (b, h, 2, w, 2, c)).reshape(b, 2 * h, 2 * w, c)
    return switches * _pad_to(upsampled, switches.shape[1], switches.shape[2])


def _conv_stack(widths: list[int], rngs: nnx.Rngs) -> nnx.Sequential:
    """ConvBNReLU (3x3) layers through ``widths``: [a, b, c] is a->b then b->c."""
    return nnx.Sequential(*[ConvBNReLU(c_in, c_out, 3, rngs=rngs) for c_in, c_out in zip(widths, widths[1:])])


@register("SegNet")
class SegNet(nnx.Module):
    def __init__(self, *, num_classes: int = 1, in_channels: int = 3, rngs: nnx.Rngs):
        stage_inputs = [in_channels] + [channels for channels, _ in STAGES[:-1]]
        self.encoder = nnx.List(
            [_conv_stack([c_in] + [channels] * convs, rngs) for (channels, convs), c_in in zip(STAGES, stage_inputs)]
        )
        # Decoder stage k mirrors encoder stage k: its convs keep the width, the last one narrows to the
        # stage's input width; in stage 1 that last conv is the classifier (no BatchNorm, no ReLU).
        first_channels, first_convs = STAGES[0]
        decoder = [_conv_stack([first_channels] * first_convs, rngs)]
        decoder += [
            _conv_stack([channels] * convs + [c_in], rngs)
            for (channels, convs), c_in in zip(STAGES[1:], stage_inputs[1:])
        ]
        self.decoder = nnx.List(decoder[::-1])
        self.classifier = conv2d(first_channels, num_classes, 3, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        switches = []
        for stage in self.encoder:
            x, stage_switches = max_pool_with_switches(stage(x))
            switches.append(stage_switches)
        for stage, stage_switches in zip(self.decoder, reversed(switches)):
            x = stage(max_unpool(x, stage_switches))
        return self.classifier(x)
