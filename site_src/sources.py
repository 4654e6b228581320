"""Outlets: read content/sources.yml and resolve an article's `source` to an outlet key."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from site_src.frontmatter import (
    SAFE_ID,
    Bad,
    check_url,
    compose_yaml,
    decode_utf8,
    make_slug,
    text_of,
)
from site_src.model import Problem, Source

SOURCE_FIELDS = ("name", "homepage", "kind")
SOURCE_KINDS = ("wire", "newspaper", "magazine", "broadcaster", "blog", "agency", "other")
SOURCES_FILE = "sources.yml"


def resolve_source(value: str, sources: Mapping[str, Source]) -> tuple[str, str | None]:
    """Return (outlet key, free name or None when the outlet is declared in sources.yml)."""
    if value in sources:
        return value, None
    folded = value.casefold()
    for key in sorted(sources):
        if sources[key].name.casefold() == folded:
            return key, None
    slug = make_slug(value)
    if slug in sources:
        return slug, None
    return slug, value


def load_sources(content_dir: Path) -> tuple[dict[str, Source], list[Problem]]:
    """Read content/sources.yml (outlet key -> name, homepage, kind); return outlets, problems."""
    problems: list[Problem] = []
    return _read_sources(Path(content_dir), problems), problems


def _read_sources(content_dir: Path, problems: list[Problem]) -> dict[str, Source]:
    """Parse sources.yml into outlets by key, appending problems."""
    path = content_dir / SOURCES_FILE
    shown = path.as_posix()
    if not path.exists():
        return {}
    try:
        node = compose_yaml(decode_utf8(path.read_bytes()).replace("\r\n", "\n"), 1)
    except OSError as err:
        problems.append(Problem(shown, 1, f"cannot read the file ({err.strerror}); fix its "
                                "permissions or remove it"))
        return {}
    except Bad as bad:
        problems.append(Problem(shown, bad.line, bad.message))
        return {}
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        problems.append(Problem(shown, 1, "sources.yml must map outlet keys to their details, e.g."
                                " 'ap:' then indented 'name: ...', 'homepage: ...', 'kind: ...'"))
        return {}
    sources: dict[str, Source] = {}
    for key_node, value_node in node.value:
        line = 1 + key_node.start_mark.line
        try:
            source = _parse_source(key_node, value_node)
        except Bad as bad:
            problems.append(Problem(shown, bad.line or line, bad.message))
            continue
        if source.key in sources:
            problems.append(Problem(shown, line, f"outlet '{source.key}' is defined twice; keep "
                                    "one entry"))
            continue
        sources[source.key] = source
        extra = value_node.value if isinstance(value_node, yaml.MappingNode) else []
        for name in (k.value for k, _ in extra if k.value not in SOURCE_FIELDS):
            problems.append(Problem(shown, line, f"unknown field '{name}' in outlet '{source.key}'"
                                    " is ignored; known fields: name, homepage, kind", "warning"))
    return sources


def _parse_source(key_node: yaml.Node, value_node: yaml.Node) -> Source:
    """Validate one sources.yml entry."""
    key = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
    if not SAFE_ID.match(key) or key != key.lower():
        raise Bad(0, f"outlet key '{key}' must be lowercase letters, digits, '-' and '_'; "
                     f"write e.g. '{make_slug(str(key))}:'")
    if isinstance(value_node, yaml.ScalarNode):
        name = text_of(value_node, "the outlet name")
        return Source(key, " ".join((name or key).split()))
    if not isinstance(value_node, yaml.MappingNode):
        raise Bad(0, f"outlet '{key}' must have indented 'name:', 'homepage:' and 'kind:' lines")
    found = {k.value: v for k, v in value_node.value if isinstance(k, yaml.ScalarNode)}
    lines = {k.value: 1 + k.start_mark.line for k, _ in value_node.value}
    name = text_of(found.get("name"), "name")
    if not name or not name.strip():
        raise Bad(lines.get("name", 0), f"outlet '{key}' has no name; add 'name: <the outlet's "
                                        "name as it writes it>'")
    homepage = text_of(found.get("homepage"), "homepage")
    if homepage:
        try:
            homepage = check_url(homepage, "homepage")
        except ValueError as err:
            raise Bad(lines["homepage"], str(err)) from None
    kind = text_of(found.get("kind"), "kind")
    if kind is not None and kind not in SOURCE_KINDS:
        raise Bad(lines["kind"], f"kind '{kind}' is not one of {', '.join(SOURCE_KINDS)}; "
                                 "pick the closest")
    return Source(key, " ".join(name.split()), homepage or None, kind)
