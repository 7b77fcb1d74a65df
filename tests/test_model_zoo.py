"""Every registered network: the paper's parameter count, the output shape, and a train step that learns.

Parametrised over the registry, so a network counts as part of the zoo only once it passes these.
Kept cheap for 13 networks on a 2-core CI machine: each network is built once; shapes come from
tracing (no compile); only the train step and the BatchNorm recalibration pass compile and run, and they are the
programs the smoke run's training compiles (its batch, augmentation, normalisation and optimizer), so the persistent
compilation cache hands them on to the smoke run's training jobs instead of compiling them twice.
"""

import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from bacseg.models import count_params, create_model, model_names
from bacseg.models.conventions import normalize
from bacseg.training import TrainSettings
from bacseg.training.steps import create_optimizer, train_step_on_tiles
from workflow_runs import merged_config

# reference_models.json names the reference implementations; the registry uses the paper's spelling.
REFERENCE_NAME = {"SCU-Net": "SCUNet", "U-Net": "UNet", "DeepLabV3": "DeepLabV3_mobilenetv3large_tv"}
TRAIN_STEPS = 3


SMOKE_CONFIG = merged_config()
SMOKE_TRAIN = TrainSettings.from_mapping(SMOKE_CONFIG["train"])


@pytest.fixture(scope="module", params=model_names())
def network(request):
    """(name, model): built once per network and shared by the tests below."""
    return request.param, create_model(request.param, seed=0)


@pytest.fixture(scope="module")
def reference_counts(reference_dir):
    models = json.loads((reference_dir / "reference_models.json").read_text())["models"]
    return {m["name"]: m["param_count_classes1_used_in_forward_unique"] for m in models}


@pytest.fixture(scope="module")
def smooth_batch():
    """A training batch of the smoke run's shape: 8-bit tiles of a smooth random field (+ noise), and boolean masks,
    foreground where the field is high.

    Smooth, so that every network, down to DeepLabV3's output stride 16, can fit it within a few steps.
    """
    batch, side = SMOKE_TRAIN.batch_size, SMOKE_CONFIG["patches"]["size"]
    field = jax.image.resize(jax.random.uniform(jax.random.key(0), (batch, 8, 8)), (batch, side, side), "linear")
    tiles = 60 + 150 * field + 10 * jax.random.normal(jax.random.key(1), field.shape)
    return np.asarray(jnp.clip(tiles, 0, 255)).astype(np.uint8), np.asarray(field > 0.6)


def test_parameter_count_equals_the_reference(network, reference_counts):
    name, model = network
    assert count_params(model) == reference_counts[REFERENCE_NAME.get(name, name)]


@pytest.mark.parametrize("side", [128, 512])
def test_maps_a_patch_to_one_channel(network, side):
    _, model = network
    model.eval()
    output = nnx.eval_shape(lambda m, x: m(x), model, jax.ShapeDtypeStruct((1, side, side, 3), jnp.float32))
    assert output.shape == (1, side, side, 1)


def test_the_smoke_runs_train_step_lowers_the_dice_loss(network, smooth_batch):
    """The jitted, augmenting train step, with the smoke config's settings, lowers the Dice loss of one batch. Every
    call passes step 0, so each draws the same augmentation (fold_in(key, step)) and sees the same augmented batch."""
    _, model = network
    optimizer = create_optimizer(model, learning_rate=SMOKE_TRAIN.learning_rate, weight_decay=SMOKE_TRAIN.weight_decay)
    step = dict(augment=SMOKE_TRAIN.augment, normalization=SMOKE_TRAIN.normalization,
                output_activation=SMOKE_TRAIN.output_activation)  # fmt: skip
    losses = [float(train_step_on_tiles(model, optimizer, *smooth_batch, jax.random.key(0), 0, **step))
              for _ in range(TRAIN_STEPS)]  # fmt: skip
    assert all(map(np.isfinite, losses)), losses
    assert losses[-1] < losses[0], losses


def test_batch_norm_recalibration_reaches_every_lagging_norm_and_keeps_the_others(network, smooth_batch):
    """Recalibration before validation (the smoke run's: its batch shape, its choice of norms) reaches every lagging
    BatchNorm (one kept outside the module tree would evaluate on stale averages): each running mean and variance
    moves to the batch's statistics, while the norms at PyTorch's default momentum keep theirs exactly. Only
    DeepLabV3 has lagging norms (torchvision MobileNetV3's momentum 0.01)."""
    from bacseg.training.batch_norm import RECALIBRATED, recalibrate_batch_norm

    name, model = network
    which = SMOKE_TRAIN.batch_norm_recalibrate
    norms = [module for _, module in nnx.iter_modules(model) if isinstance(module, nnx.BatchNorm)]
    before = [(norm.mean[...], norm.var[...]) for norm in norms]
    recalibrate_batch_norm(model, [normalize(smooth_batch[0], SMOKE_TRAIN.normalization)], which=which)
    kept = [(jnp.array_equal(norm.mean[...], mean), jnp.array_equal(norm.var[...], var))
            for norm, (mean, var) in zip(norms, before)]  # fmt: skip
    lagging = [RECALIBRATED[which](norm) for norm in norms]
    stale = [n for n, (chosen, (mean, var)) in enumerate(zip(lagging, kept)) if chosen and (mean or var)]
    touched = [n for n, (chosen, (mean, var)) in enumerate(zip(lagging, kept)) if not chosen and not (mean and var)]
    assert not stale, f"{len(stale)} of {sum(lagging)} lagging BatchNorms kept their running statistics"
    assert not touched, f"{len(touched)} BatchNorms at PyTorch's default momentum were recalibrated"
    assert (sum(lagging) > 0) == (name == "DeepLabV3"), sum(lagging)
    assert all(jnp.isfinite(leaf).all() for leaf in jax.tree.leaves(nnx.state(model, nnx.BatchStat)))


def test_importing_the_models_does_not_import_torch():
    # Only the PyTorch port (models.scunet_torch) and reading the authors' released files need torch.
    code = "import sys, bacseg.models, bacseg.models.fused, bacseg.models.authors_weights; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
