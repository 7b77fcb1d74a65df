"""The one source of settings: ``config.schema.yaml`` (shipped in this package) gives every key's
default, type and range, for the workflow (the Snakefile validates against this same file) and for
the package used alone (``bacseg --config``, ``PreprocessParams()``, ...).

A section is named by its dotted path in the config: ``"preprocess"``, ``"patches"``, ``"ingest"``,
``"synthetic.A"``. ``resolve`` fills a section's defaults and checks it; a wrong key or value raises
``SettingsError`` naming it. Checks relating two keys (min <= max, ...) stay with the objects built
from a section.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator, validators

SCHEMA_FILE = "config.schema.yaml"


class SettingsError(ValueError):
    """A config section with an unknown key or a bad value; the message names each one."""


def schema_path() -> Path:
    """The schema file (also what the Snakefile validates against)."""
    return Path(str(resources.files("bacseg").joinpath(SCHEMA_FILE)))


@functools.cache
def schema() -> dict:
    return yaml.safe_load(schema_path().read_text())


def section_defaults(name: str) -> dict:
    """Every key of section ``name`` with its default, e.g. ``section_defaults("preprocess")["median_size"]``."""
    return resolve(name, {})


def resolve(name: str, mapping: Mapping | None = None) -> dict:
    """Section ``name`` of a config: ``mapping`` checked against the schema, missing keys filled with defaults.

    Tuples count as lists, so a settings object's own fields can be checked too. Raises SettingsError
    listing every unknown key and bad value, each by its dotted path.
    """
    keys = name.split(".")
    _section_schema(name)  # an unknown section is an error before anything else
    config: dict = _as_json(dict(mapping or {}))
    for key in reversed(keys):
        config = {key: config}
    _fill_and_check(config, f"invalid settings in section {name!r}")
    for key in keys:
        config = config[key]
    return config


def schema_defaults(name: str):
    """Class decorator, under ``@dataclass``: each annotated field of section ``name`` gets its schema
    default (lists as tuples), so a settings class lists names and types only."""

    def apply(cls):
        defaults = as_fields(section_defaults(name))
        for field_name in cls.__annotations__:
            if field_name in defaults:
                setattr(cls, field_name, defaults[field_name])
        return cls

    return apply


def as_fields(section: Mapping) -> dict:
    """A resolved section as settings-object fields: lists become tuples (hashable, immutable)."""
    return {key: tuple(value) if isinstance(value, list) else value for key, value in section.items()}


def load_config(path: Path | str | None) -> dict:
    """A workflow config file (YAML) checked whole against the schema, every default filled; no file: the defaults.

    What ``bacseg --config FILE`` reads, so the CLI runs with the settings the workflow would use."""
    config = {}
    if path is not None:
        path = Path(path)
        try:
            config = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise SettingsError(f"{path}: not valid YAML ({error})") from None
    _fill_and_check(config, f"{path}: invalid config")
    return config


def _section_schema(name: str) -> dict:
    node = schema()
    for key in name.split("."):
        properties = node.get("properties", {})
        if key not in properties:
            raise SettingsError(f"no config section {name!r} (top-level sections: {', '.join(schema()['properties'])})")
        node = properties[key]
    return node


def _fill_and_check(config: dict, problem: str) -> None:
    """Fill ``config``'s defaults in place; raise SettingsError listing every error by its dotted path."""
    errors = sorted(_filling_validator().iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        listing = "\n".join(f"  {'.'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}" for e in errors)
        raise SettingsError(f"{problem}:\n{listing}")


@functools.cache
def _filling_validator() -> Draft202012Validator:
    """A validator that also sets each missing property to its schema default, as Snakemake's validate does."""
    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def fill_defaults(validator, properties, instance, schema_node):
        if isinstance(instance, dict):
            for key, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(key, copy.deepcopy(subschema["default"]))
        yield from check_properties(validator, properties, instance, schema_node)

    filling = validators.extend(Draft202012Validator, {"properties": fill_defaults})
    return filling(schema())


def _as_json(value):
    if isinstance(value, Mapping):
        return {key: _as_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json(item) for item in value]
    return value
