"""Safe YAML reading: duplicate keys are errors, no Python object tags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim.errors import ScenarioError


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML keeps the last one silently).

    Dates stay strings here: the schema parses them, so a bad date is reported with its
    field path like any other bad value.
    """


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key '{key}' (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def read_yaml(path: Path) -> Any:
    """Read one YAML file with the strict safe loader; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found") from None
    except OSError as err:
        raise ScenarioError(path, "", f"cannot read file ({err.strerror})") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f"line {mark.line + 1}" if mark is not None else "yaml"
        problem = (err.problem or err.context or "invalid YAML").strip()
        raise ScenarioError(path, line, problem) from None
    except yaml.YAMLError as err:
        raise ScenarioError(path, "yaml", str(err).splitlines()[0]) from None


def dump_yaml(data: Any) -> str:
    """Dump plain data as block-style YAML with keys in their given order."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
