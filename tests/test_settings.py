"""The config schema is the one source of settings: every stage's settings object agrees with it."""

import re
from dataclasses import asdict, fields
from pathlib import Path

import pytest

from bacseg import settings
from bacseg.ingest import IngestOptions
from bacseg.patches import PatchParams
from bacseg.preprocess import THRESHOLD_METHODS, PreprocessParams
from bacseg.synthetic.config import COHORTS, CohortConfig

REPO = Path(__file__).resolve().parents[1]
NOT_CONFIG_KEYS = {"cohort", "seed", "workers"}  # IngestOptions fields set by the caller, not the config


def _listed(values: dict) -> dict:
    return {key: list(value) if isinstance(value, tuple) else value for key, value in values.items()}


@pytest.mark.parametrize(
    "section, settings_object",
    [("preprocess", PreprocessParams()), ("patches", PatchParams()), ("ingest", IngestOptions())],
    ids=["preprocess", "patches", "ingest"],
)
def test_settings_objects_have_the_schema_keys_and_defaults(section, settings_object):
    own = {key: value for key, value in asdict(settings_object).items() if key not in NOT_CONFIG_KEYS}
    assert _listed(own) == settings.section_defaults(section)


@pytest.mark.parametrize("cohort", COHORTS)
def test_synthetic_cohort_config_has_the_schema_keys(cohort):
    defaults = settings.section_defaults(f"synthetic.{cohort}")
    assert {f.name for f in fields(CohortConfig)} == set(defaults)
    assert _listed(asdict(CohortConfig.from_dict(cohort, {}))) == defaults


@pytest.mark.parametrize("section", ["preprocess", "patches", "ingest", "synthetic.A", "synthetic.B", "synthetic.C"])
def test_every_default_satisfies_the_schema(section):
    defaults = settings.section_defaults(section)
    assert settings.resolve(section, defaults) == defaults
    assert all(key in defaults for key in settings._section_schema(section)["properties"])


def test_threshold_methods_are_the_schema_choices():
    choices = settings._section_schema("preprocess")["properties"]["mask_threshold"]["anyOf"][0]["enum"]
    assert set(choices) == set(THRESHOLD_METHODS)


def test_the_paper_validation_share_gives_its_134_of_661_images():
    assert round(settings.section_defaults("ingest")["val_fraction"] * 661) == 134


def test_bad_keys_and_values_raise_naming_them():
    with pytest.raises(settings.SettingsError, match="multiple of 32"):
        PatchParams(size=500)
    with pytest.raises(settings.SettingsError, match="overlap"):
        PatchParams(size=64, overlap=64)
    with pytest.raises(settings.SettingsError, match="median_sze"):
        PreprocessParams.from_mapping({"median_sze": 5})
    with pytest.raises(settings.SettingsError, match=r"preprocess\.contrast"):
        PreprocessParams(contrast="histeq")
    with pytest.raises(settings.SettingsError, match=r"ingest\.on_error"):
        IngestOptions(on_error="ignore")
    with pytest.raises(settings.SettingsError, match=r"synthetic\.C\.exams_per_subject"):
        CohortConfig.from_dict("C", {"exams_per_subject": [6, 5]})
    with pytest.raises(settings.SettingsError, match="no config section 'training'"):
        settings.resolve("training", {})


def test_resolve_fills_defaults_and_keeps_given_values():
    resolved = settings.resolve("synthetic.B", {"n_subjects": 3})
    assert resolved["n_subjects"] == 3 and resolved["bac_fraction"] == 1.0
    assert settings.resolve("patches", {"size": 256})["overlap"] == settings.section_defaults("patches")["overlap"]


SHIPPED_CONFIGS = [REPO / "config.yaml", *sorted((REPO / "workflow" / "configs").glob("*.yaml"))]


@pytest.mark.parametrize("path", SHIPPED_CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load_with_every_section_filled(path):
    config = settings.load_config(path)
    PreprocessParams.from_mapping(config["preprocess"])
    PatchParams.from_mapping(config["patches"])
    IngestOptions.from_mapping(config["ingest"])
    assert set(config["synthetic"]) == set(COHORTS)


def test_the_snakefile_validates_against_the_package_schema():
    named = re.findall(r'validate\(config, Path\(workflow\.basedir\) / "([^"]+)"\)', (REPO / "Snakefile").read_text())
    assert [(REPO / path).resolve() for path in named] == [settings.schema_path().resolve()]


def test_the_schema_lists_the_registered_networks():
    """The workflow learns network names from the config; its choices and default are the registry's, in order."""
    from bacseg.models import model_names

    models = settings.schema()["properties"]["models"]
    assert models["items"]["enum"] == model_names()
    assert models["default"] == model_names()


def test_train_and_predict_sections_are_what_their_stages_take():
    """The schema's train section fills TrainSettings exactly; its predict section with the patch grid fills
    the sliding window's settings exactly (no key missing or unknown on either side)."""
    from bacseg.inference.settings import SETTING_TYPES, settings_from_config
    from bacseg.training.settings import TrainSettings

    TrainSettings.from_mapping(settings.section_defaults("train"))
    resolved = settings_from_config(settings.load_config(None))
    assert set(resolved) == set(SETTING_TYPES)
