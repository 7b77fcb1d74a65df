"""Training's input side without a network: augmentation, batch order, settings, the work directory record."""

import json

import jax
import numpy as np
import pytest

from bacseg.settings import SettingsError, section_defaults
from bacseg.training.augment import Augment, augment_batch
from bacseg.training.input_pipeline import epoch_batches, padded_batches
from bacseg.training.settings import TrainSettings
from bacseg.training.state import claim_workdir

GEOMETRY_ONLY = Augment(flip=True, rot90=True, brightness=0.0, contrast=0.0)


def settings_mapping(**overrides) -> dict:
    augment = {"flip": True, "rot90": True, "brightness": 0.2, "contrast": 0.2}
    return {"epochs": 2, "batch_size": 4, "learning_rate": 1e-3, "weight_decay": 0.01, "output_activation": "sigmoid",
            "normalization": "patch_zero_mean", "cutoff": 0.5, "augment": augment, "steps_per_epoch": None,
            "validation_batch_size": 8, "empty": "zero", **overrides}  # fmt: skip


def _batch(n=64, size=8):
    tiles = np.random.default_rng(0).integers(0, 256, (n, size, size)).astype(np.uint8)
    return tiles, tiles > 200


def _transforms(tile):
    """The named images of ``tile`` under the flips and the two rotations augmentation may apply."""
    named = {}
    for rotation, turns in (("", 0), ("rot90", 1), ("rot270", 3)):
        for flips in ((), (0,), (1,), (0, 1)):
            image = np.flip(np.rot90(tile, turns), flips) if flips else np.rot90(tile, turns)
            named.setdefault(image.tobytes(), f"{rotation} flip{flips}")
    return named


def test_flips_and_rotations_move_tile_and_mask_together_and_vary_per_sample():
    tiles, masks = _batch()
    out_tiles, out_masks = map(np.asarray, augment_batch(jax.random.key(0), tiles, masks, GEOMETRY_ONLY))
    drawn = set()
    for tile, out_tile, out_mask in zip(tiles, out_tiles, out_masks):
        named = _transforms(tile.astype(np.float32))
        assert out_tile.tobytes() in named, "only flips and rotations by 90/270 (no other geometry)"
        drawn.add(named[out_tile.tobytes()])
        np.testing.assert_array_equal(out_mask, out_tile > 200)
    assert len(drawn) >= 6, f"64 samples drew only {drawn}"


def test_rotation_alone_is_by_90_or_270_degrees_never_180():
    tiles, masks = _batch()
    out_tiles, _ = augment_batch(jax.random.key(1), tiles, masks, Augment(False, True, 0.0, 0.0))
    seen = {"none": 0, "90": 0, "270": 0}
    for tile, out in zip(tiles, np.asarray(out_tiles)):
        assert not np.array_equal(out, np.rot90(tile, 2)), "rotated by 180 degrees"
        for name, turns in (("none", 0), ("90", 1), ("270", 3)):
            seen[name] += np.array_equal(out, np.rot90(tile, turns))
    assert sum(seen.values()) == len(tiles) and min(seen.values()) > 5, seen


def test_augmentation_is_a_function_of_the_key():
    tiles, masks = _batch()
    augment = Augment(flip=True, rot90=True, brightness=0.3, contrast=0.3)
    first, again, other = (np.asarray(augment_batch(jax.random.key(k), tiles, masks, augment)[0]) for k in (5, 5, 6))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_brightness_and_contrast_stay_in_range_and_scale_by_their_factors():
    tiles = np.full((256, 4, 4), 100, np.uint8)
    tiles[:, 0, 0] = 50
    masks = np.zeros(tiles.shape, bool)
    bright, _ = augment_batch(jax.random.key(2), tiles, masks, Augment(False, False, 0.5, 0.0))
    factors = np.asarray(bright)[:, 1, 1] / 100
    assert 0.5 <= factors.min() < 0.6 and 1.4 < factors.max() <= 1.5
    np.testing.assert_allclose(np.asarray(bright)[:, 0, 0], 50 * factors, rtol=1e-5)
    contrasted, _ = augment_batch(jax.random.key(3), tiles, masks, Augment(False, False, 0.0, 0.5))
    contrasted = np.asarray(contrasted)
    np.testing.assert_allclose(contrasted.mean(axis=(1, 2)), tiles.mean(axis=(1, 2)), rtol=1e-5)
    spread = (contrasted[:, 1, 1] - contrasted[:, 0, 0]) / 50
    assert 0.5 <= spread.min() < 0.6 and 1.4 < spread.max() <= 1.5
    unchanged, _ = augment_batch(jax.random.key(4), tiles, masks, Augment(False, False, 0.0, 0.0))
    np.testing.assert_array_equal(np.asarray(unchanged), tiles)
    saturated, _ = augment_batch(jax.random.key(4), np.full((64, 2, 2), 250, np.uint8), masks[:64, :2, :2],
                                 Augment(False, False, 0.5, 0.0))  # fmt: skip
    assert np.asarray(saturated).max() == 255


def test_an_epoch_is_a_seeded_shuffle_of_every_patch_in_fixed_size_batches():
    batches = epoch_batches(10, 4, 3, seed=7, epoch=1)
    assert batches.shape == (3, 4)
    assert set(batches[:, :].ravel()[:10]) == set(range(10)), "one full shuffle first"
    np.testing.assert_array_equal(batches, epoch_batches(10, 4, 3, seed=7, epoch=1))
    assert not np.array_equal(batches, epoch_batches(10, 4, 3, seed=7, epoch=2))
    assert not np.array_equal(batches, epoch_batches(10, 4, 3, seed=8, epoch=1))
    assert epoch_batches(3, 8, 2, seed=0, epoch=1).shape == (2, 8), "more steps than patches wrap around"
    assert epoch_batches(10, 4, 0, seed=0, epoch=1).shape == (0, 4), "no steps (BatchNorm recalibration off)"


def test_validation_batches_cover_each_patch_once_with_the_last_padded():
    batches = padded_batches(10, 4)
    assert [len(indices) for indices, _ in batches] == [4, 4, 4]
    assert [real for _, real in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([indices[:real] for indices, real in batches]), np.arange(10))


@pytest.mark.parametrize(
    "mapping, named",
    [
        (settings_mapping(learning_rat=1.0), "'learning_rat' was unexpected"),
        (settings_mapping(augment={"flip": True, "rotate": True}), "'rotate' was unexpected"),
        (settings_mapping(output_activation="relu"), "train.output_activation"),
        (settings_mapping(augment={"flip": True, "rot90": True, "brightness": 1.5, "contrast": 0}),
         "augment.brightness"),
        (settings_mapping(steps_per_epoch=0), "train.steps_per_epoch"),
    ],
)
def test_settings_name_the_key_that_is_wrong(mapping, named):
    with pytest.raises(SettingsError, match=named):
        TrainSettings.from_mapping(mapping)


def test_settings_missing_keys_come_from_the_config_schema():
    defaults = section_defaults("train")
    settings = TrainSettings.from_mapping({"epochs": 3, "augment": {"flip": False}})
    assert settings.epochs == 3 and settings.batch_size == defaults["batch_size"]
    assert settings.augment == Augment(**{**defaults["augment"], "flip": False})
    assert TrainSettings.from_mapping(json.loads(json.dumps(settings.as_dict()))) == settings
    with pytest.raises(SettingsError, match="train.augment.contrast"):
        Augment(flip=True, rot90=True, brightness=0.0, contrast=-1.0)


def test_a_workdir_refuses_a_run_with_other_settings_naming_them(tmp_path):
    run = {"model_name": "SCU-Net", "seed": 0, "settings": settings_mapping()}
    claim_workdir(tmp_path, run)
    claim_workdir(tmp_path, run)  # the same run again: fine
    other = {**run, "seed": 1, "settings": settings_mapping(batch_size=8)}
    with pytest.raises(ValueError, match=r"different seed, settings\.batch_size") as error:
        claim_workdir(tmp_path, other)
    assert str(tmp_path) in str(error.value)
