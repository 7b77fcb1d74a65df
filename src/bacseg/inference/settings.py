"""Sliding-window settings: what the workflow's config gives (``predict`` and the tile grid of ``patches``),
and the authors' recipe under its name.

Settings are a plain dict, checked here key by key; their defaults live in the config schema only. The
project's settings come from a config (``settings_from_config``): the ``predict`` section, with the tiles
cut as the networks were trained (``patches.size``, ``patches.overlap``). The ``authors`` recipe is
AutoSeg.py's: 512 px tiles at stride 480 (32 px overlap), the last tile flush with the edge, tiles with
mean <= 20 or std <= 10 skipped, per-pixel maximum into zeros, batches of 8. The input normalisation
comes with the weights (the checkpoint's metadata; the authors' checkpoint says Normalize(0.2813, 0.1256)).
"""

from __future__ import annotations

from typing import Mapping

from bacseg.inference.stitching import STITCH_MODES

SETTING_TYPES = {
    "tile_size": int,  # window side in pixels
    "overlap": int,  # pixels shared by neighbouring windows (stride = tile_size - overlap)
    "batch_size": int,  # windows per predictor call; every call has this shape, the last batch padded
    "stitch_mode": str,  # one of STITCH_MODES
    "skip_background": bool,  # windows with mean <= background_mean_max or std <= background_std_max not predicted
    "background_mean_max": float,
    "background_std_max": float,
    "fill_value": float,  # what a skipped window counts as
}

RECIPES: dict[str, dict] = {
    "authors": {
        "tile_size": 512, "overlap": 32, "batch_size": 8, "stitch_mode": "max", "skip_background": True,
        "background_mean_max": 20.0, "background_std_max": 10.0, "fill_value": 0.0,
    },
}  # fmt: skip


def settings_from_config(config: Mapping) -> dict:
    """The project's settings from a config (``bacseg.settings.load_config``), as the workflow rule makes them."""
    patches = config["patches"]
    return resolve_settings({**config["predict"], "tile_size": patches["size"], "overlap": patches["overlap"]})


def resolve_settings(settings: Mapping | None = None, recipe: str | None = None) -> dict:
    """``settings`` over the named ``recipe`` (none: ``settings`` must be complete), checked."""
    if recipe is not None and recipe not in RECIPES:
        raise ValueError(f"unknown prediction recipe {recipe!r}; expected one of {sorted(RECIPES)}")
    resolved = {**RECIPES.get(recipe, {}), **dict(settings or {})}
    unknown = sorted(set(resolved) - set(SETTING_TYPES))
    missing = sorted(set(SETTING_TYPES) - set(resolved))
    if unknown or missing:
        raise ValueError(f"predict settings: unknown key(s) {unknown}, missing key(s) {missing}")
    for key, kind in SETTING_TYPES.items():
        value = resolved[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            resolved[key] = value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(f"predict setting {key} must be a {kind.__name__}, got {value!r}")
    checks = {
        "tile_size": resolved["tile_size"] >= 1,
        "overlap": 0 <= resolved["overlap"] < resolved["tile_size"],
        "batch_size": resolved["batch_size"] >= 1,
        "stitch_mode": resolved["stitch_mode"] in STITCH_MODES,
    }
    bad = [f"{key}={resolved[key]!r}" for key, ok in checks.items() if not ok]
    if bad:
        raise ValueError(f"predict settings out of range: {', '.join(bad)} (overlap in [0, tile_size), "
                         f"stitch_mode one of {STITCH_MODES})")
    return resolved
