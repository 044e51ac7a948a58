"""The files a PaaS reads: `app.json` holds only the fields its schema documents, and agrees with the Procfile.

The app.json schema (Heroku's, which Dokku and others read too): top-level `name`,
`description`, `keywords`, `website`, `repository`, `logo`, `success_url`, `scripts`,
`env`, `formation`, `image`, `addons`, `buildpacks`, `environments`, `stack`; an `env`
entry is a string or an object of `description`, `value`, `required`, `generator`
(only `secret`); a `formation` entry is `quantity` and `size`; an addon is a plan
string or an object of `plan`, `as`, `options`; a buildpack is an object with `url`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bench.harness.procfile import procfile_commands
from service.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL = {
    "name", "description", "keywords", "website", "repository", "logo", "success_url", "scripts",
    "env", "formation", "image", "addons", "buildpacks", "environments", "stack",
}  # fmt: skip
ENV_FIELDS = {"description", "value", "required", "generator"}
FORMATION_FIELDS = {"quantity", "size"}
ADDON_FIELDS = {"plan", "as", "options"}
PLATFORM_VARIABLES = {"PORT"}  # set by the platform itself, read by the Procfile's web line


def app_json() -> dict[str, Any]:
    return json.loads((ROOT / "app.json").read_text())  # type: ignore[no-any-return]


def env_entries() -> dict[str, dict[str, Any]]:
    return {name: entry if isinstance(entry, dict) else {"value": entry} for name, entry in app_json()["env"].items()}


def test_only_documented_top_level_fields() -> None:
    assert set(app_json()) <= TOP_LEVEL


def test_name_is_a_string_of_at_most_30_characters() -> None:
    assert re.fullmatch(r"[a-z][a-z0-9-]{2,29}", app_json()["name"])


@pytest.mark.parametrize("name", sorted(app_json()["env"]))
def test_env_entries_use_documented_fields(name: str) -> None:
    assert set(env_entries()[name]) <= ENV_FIELDS


@pytest.mark.parametrize("name", sorted(app_json()["env"]))
def test_env_entries_name_real_settings(name: str) -> None:
    assert name.lower() in ServiceSettings.model_fields or name in PLATFORM_VARIABLES


@pytest.mark.parametrize("name", sorted(app_json()["env"]))
def test_env_values_are_strings(name: str) -> None:
    assert isinstance(env_entries()[name].get("value", ""), str)


def test_api_keys_are_a_generated_secret() -> None:
    assert env_entries()["API_KEYS"]["generator"] == "secret"


def test_generated_values_use_the_only_documented_generator() -> None:
    generators = {entry["generator"] for entry in env_entries().values() if "generator" in entry}
    assert generators <= {"secret"}


def test_the_formation_is_every_procfile_process() -> None:
    assert set(app_json()["formation"]) == set(procfile_commands())


@pytest.mark.parametrize("kind", sorted(procfile_commands()))
def test_formation_entries_use_documented_fields(kind: str) -> None:
    entry = app_json()["formation"][kind]
    assert set(entry) <= FORMATION_FIELDS
    assert isinstance(entry["quantity"], int)


def test_addons_use_documented_fields() -> None:
    assert all(isinstance(a, str) or set(a) <= ADDON_FIELDS for a in app_json()["addons"])


def test_a_redis_addon_provides_redis_url() -> None:
    objects = [a if isinstance(a, dict) else {"plan": a} for a in app_json()["addons"]]
    redis = [a for a in objects if a["plan"].startswith("heroku-redis")]
    assert [a.get("as", "REDIS") for a in redis] == ["REDIS"]  # the add-on sets <as>_URL: REDIS_URL


def test_buildpacks_are_objects_with_a_url() -> None:
    assert all(set(b) == {"url"} for b in app_json()["buildpacks"])


def test_python_version_file_names_the_version_the_makefile_uses() -> None:
    version = (ROOT / ".python-version").read_text().strip()
    assert f"PYTHON ?= python{version}\n" in (ROOT / "Makefile").read_text()
