"""Safe YAML reading: duplicate keys are errors, no Python object tags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim.core.errors import ScenarioError

#: PyYAML's safe loader, on libyaml's parser where PyYAML was built with it (about ten times
#: faster at reading the facts registry; the same documents, with libyaml's error messages).
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeBase):  # type: ignore[valid-type,misc]
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


#: Deepest nesting of mappings and lists a file may have (scenarios need fewer than ten).
MAX_DEPTH = 64
#: Most values a file may hold once its aliases are expanded (``*name`` repeats what
#: ``&name`` marks: a few lines can otherwise stand for billions of values).
MAX_VALUES = 1_000_000


def read_yaml(path: Path) -> Any:
    """Read one YAML file with the strict safe loader; errors name the file and line.

    A file must be UTF-8 text, nested at most :data:`MAX_DEPTH` deep and hold at most
    :data:`MAX_VALUES` values with its aliases expanded.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found") from None
    except IsADirectoryError:
        raise ScenarioError(path, "", "expected a file, found a folder") from None
    except OSError as err:
        raise ScenarioError(path, "", f"cannot read file ({err.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        lineno = data[: err.start].count(b"\n") + 1
        raise ScenarioError(
            path,
            f"line {lineno}",
            f"expected UTF-8 text, found byte 0x{data[err.start]:02x} (a binary file, or text "
            "saved in another encoding such as Latin-1: save it as UTF-8)",
        ) from None
    try:
        value = yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}" if mark is not None else "yaml"
        problem = (err.problem or err.context or "invalid YAML").strip()
        if "maximum nesting depth" in problem:  # libyaml's own limit, deeper than ours
            raise ScenarioError(path, "", _too_deep()) from None
        raise ScenarioError(path, where, problem) from None
    except yaml.YAMLError as err:
        raise ScenarioError(path, "yaml", str(err).splitlines()[0]) from None
    except RecursionError:
        raise ScenarioError(path, "", _too_deep()) from None
    except (ValueError, TypeError, OverflowError) as err:  # a tagged value that cannot be built
        raise ScenarioError(path, "yaml", f"cannot read a value: {err}") from None
    shape = _shape_problem(value)
    if shape is not None:
        raise ScenarioError(path, "", shape)
    return value


def read_value(text: str) -> Any:
    """A value written on the command line (``--set path=VALUE``), read as YAML the way files
    are (dates stay strings for the schema to check).

    Raises:
        ValueError: the text is not a YAML value, or is nested too deeply.
    """
    try:
        value = yaml.load(text, Loader=_StrictLoader)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as err:
        if "maximum nesting depth" in str(err):
            raise ValueError(_too_deep()) from None
        raise ValueError(str(err).splitlines()[0] if str(err) else "invalid YAML") from None
    except RecursionError:
        raise ValueError(_too_deep()) from None
    problem = _shape_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _too_deep() -> str:
    return f"expected mappings and lists nested at most {MAX_DEPTH} deep, found deeper"


def _shape_problem(value: Any) -> str | None:
    """Why a loaded document is refused (too deep, or too many values), or None."""
    stack = [(value, 0)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            return (
                f"expected at most {MAX_VALUES:,} values with aliases (*name) expanded, "
                "found more"
            )
        if isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                return _too_deep()
            items = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in items)
    return None


def dump_yaml(data: Any) -> str:
    """Dump plain data as block-style YAML with keys in their given order."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
