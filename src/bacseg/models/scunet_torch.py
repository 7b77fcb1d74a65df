"""A small PyTorch port of SCU-Net: the reference for parity tests and the speed comparison.

The module names repeat the authors' ``SCUNet`` (Emory-HITI/BAC_segmentation), so the released state_dicts
load into it by name once the unused tensors (``level3_1``, the decoder's ``ConvTranspose2d``) and the
DataParallel ``module.`` prefix are dropped (``authors_weights.authors_state_dict`` does that). Only the
graph of the released forward pass is built. NCHW, like the original. Torch is imported here only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvBNPReLU(nn.Module):
    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)
        self.act = nn.PReLU(cout)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class BNPReLUDropout(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, eps=1e-3)
        self.act = nn.PReLU(channels)
        self.dp = nn.Dropout(p=0.5)

    def forward(self, x):
        return self.dp(self.act(self.bn(x)))


class _Wrapped(nn.Module):
    """A conv held as ``.conv``: the authors' ``ChannelWiseConv`` / ``Conv`` / ``outconv`` key layout."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.conv = conv

    def forward(self, x):
        return self.conv(x)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int):
        super().__init__()
        squeezed = channels // reduction
        self.fc = nn.Sequential(nn.Linear(channels, squeezed), nn.ReLU(), nn.Linear(squeezed, channels), nn.Sigmoid())

    def forward(self, x):
        return x * self.fc(x.mean(dim=(2, 3)))[:, :, None, None]


class ContextGuidedDown(nn.Module):
    def __init__(self, cin: int, cout: int, dilation: int, reduction: int):
        super().__init__()
        self.conv1x1 = ConvBNPReLU(cin, cout, 3, stride=2)
        self.F_loc = _Wrapped(nn.Conv2d(cout, cout, 3, padding=1, groups=cout, bias=False))
        self.F_sur = _Wrapped(nn.Conv2d(cout, cout, 3, padding=dilation, dilation=dilation, groups=cout, bias=False))
        self.bn = nn.BatchNorm2d(2 * cout, eps=1e-3)
        self.act = nn.PReLU(2 * cout)
        self.reduce = _Wrapped(nn.Conv2d(2 * cout, cout, 1, bias=False))
        self.F_glo = SqueezeExcite(cout, reduction)

    def forward(self, x):
        x = self.conv1x1(x)
        joint = self.act(self.bn(torch.cat([self.F_loc(x), self.F_sur(x)], 1)))
        return self.F_glo(self.reduce(joint))


class _DoubleConv(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.PReLU(),
            nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.PReLU(),
        )  # fmt: skip

    def forward(self, x):
        return self.conv(x)


class Up(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = _DoubleConv(cin, cout)

    def forward(self, deep, skip):
        deep = F.interpolate(deep, scale_factor=2, mode="bilinear", align_corners=True)
        return self.conv(torch.cat([skip, deep], 1))


def _inject(x, halvings: int):
    for _ in range(halvings):
        x = F.avg_pool2d(x, 3, stride=2, padding=1)
    return x


class SCUNetTorch(nn.Module):
    """(B, in_channels, H, W) -> raw (B, classes, H, W)."""

    def __init__(self, classes: int = 1, in_channels: int = 3):
        super().__init__()
        self.level1_0 = ConvBNPReLU(in_channels, 16, 3, stride=2)
        self.level1_1 = ConvBNPReLU(16, 16, 3)
        self.level1_2 = ConvBNPReLU(16, 16, 3)
        self.b1 = BNPReLUDropout(16 + in_channels)
        self.level2_0 = ContextGuidedDown(16 + in_channels, 32, dilation=2, reduction=8)
        self.b2 = BNPReLUDropout(32 + in_channels)
        self.level3_0 = ContextGuidedDown(32 + in_channels, 64, dilation=4, reduction=16)
        self.up3 = Up(96, 64)
        self.up4 = Up(80, 32)
        self.outc = _Wrapped(nn.Conv2d(32, classes, 1))

    def forward(self, x):
        level1 = self.level1_2(self.level1_1(self.level1_0(x)))
        level2 = self.level2_0(self.b1(torch.cat([level1, _inject(x, 1)], 1)))
        level3 = self.level3_0(self.b2(torch.cat([level2, _inject(x, 2)], 1)))
        decoded = self.up4(self.up3(level3, level2), level1)
        return self.outc(F.interpolate(decoded, scale_factor=2, mode="bilinear", align_corners=True))
