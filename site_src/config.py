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
    return replace(config, **settings)  # type: ignore[arg-type]
