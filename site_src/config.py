"""Frozen build settings and their one loader (site.yml plus command-line overrides)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

import yaml

from site_src.urls import normalise_base_url

CONFIG_FILE = "site.yml"


class ConfigError(ValueError):
    """A setting is wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class Config:
    """Everything a build needs to know besides the corpus itself."""

    root: Path
    content_dir: Path
    templates_dir: Path
    out_dir: Path
    cache_dir: Path
    base_url: str = "/"
    site_url: str = ""
    title: str = "News corpus"
    description: str = "Every outlet's version of the same story, side by side."
    strict: bool = False
    jobs: int = 1
    progress: bool = True
    dask: str = ""  # address of a running Dask scheduler, e.g. tcp://host:8786
    dask_local: int = 0  # start a local Dask cluster of this many worker processes


def load_config(root: Path, **overrides: object) -> Config:
    """Read `site.yml` under root (optional) and apply non-None overrides."""
    root = root.resolve()
    settings: dict[str, object] = {}
    path = root / CONFIG_FILE
    if path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}:1: expected a mapping of settings, e.g. `title: My site`")
        settings.update(data)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(Config)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    config = Config(
        root=root,
        content_dir=root / "content",
        templates_dir=root / "templates",
        out_dir=root / "_site",
        cache_dir=root / ".cache",
        jobs=os.cpu_count() or 1,
    )
    for key in ("content_dir", "templates_dir", "out_dir", "cache_dir"):
        if key in settings:
            settings[key] = (root / str(settings[key])).resolve()
    if "base_url" in settings:
        try:
            settings["base_url"] = normalise_base_url(str(settings["base_url"]))
        except ValueError as error:
            raise ConfigError(str(error)) from error
    config = replace(config, **settings)  # type: ignore[arg-type]
    check_workers(config, path)
    return config


def check_workers(config: Config, path: Path) -> None:
    """Refuse worker settings that cannot work: wrong types, or two Dask choices at once."""
    for name in ("jobs", "dask_local"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{path}: {name} must be a whole number >= 0, not {value!r}")
    if not isinstance(config.dask, str):
        raise ConfigError(f"{path}: dask must be a scheduler address such as "
                          f"tcp://host:8786, not {config.dask!r}")
    if config.dask and config.dask_local:
        raise ConfigError(f"{path}: set either dask (use the running cluster at "
                          f"{config.dask}) or dask_local (start a local cluster of "
                          f"{config.dask_local} workers), not both")
