"""Read a YAML config so that no file can stall the DAG processor or be silently misread.

`yaml.safe_load` alone constructs anything a document describes: ten nested aliases expand to a
billion values (minutes of CPU, gigabytes of memory, every integration hidden behind the DAG
processor's import timeout), and a key written twice is taken with the last value winning. Here the
document is first composed into its node graph (aliases stay references, so composing is cheap),
measured and checked, and only then constructed:

- the file is at most `MAX_FILE_BYTES` (an integration config is a few kilobytes);
- expanding its aliases visits at most `MAX_NODES` nodes, nested at most `MAX_DEPTH` deep;
- a key repeated in one mapping is an error naming the key and both lines.

Safe tags only (SafeLoader): no Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 50_000
MAX_DEPTH = 64
MERGE_KEY = "tag:yaml.org,2002:merge"


@dataclass
class UnsafeYamlError(Exception):
    """A document refused before it was constructed; `line` is 1-based when known."""

    message: str
    hint: str
    line: int | None = None

    def __str__(self) -> str:
        return self.message


def load_yaml(text: str) -> Any:
    """The document's value, or UnsafeYamlError / yaml.YAMLError (syntax) when refused."""
    size = len(text.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        raise UnsafeYamlError(
            f"the file is {size:,} bytes, more than the {MAX_FILE_BYTES:,} a config may have",
            "an integration config is a few kilobytes: check that this is the right file",
        )
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_node_graph(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def check_node_graph(root: yaml.Node) -> None:
    """Refuse repeated keys and documents whose alias expansion is too large or too deep."""
    visited = 0
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        visited += 1
        if visited > MAX_NODES:
            raise UnsafeYamlError(
                f"the document expands to more than {MAX_NODES:,} values (through its aliases)",
                "remove the aliases (*name) that repeat large parts of the file",
                _line(node),
            )
        if depth > MAX_DEPTH:
            raise UnsafeYamlError(
                f"the document is nested more than {MAX_DEPTH} levels deep",
                "an integration config needs a few levels: check the indentation and brackets",
                _line(node),
            )
        if isinstance(node, yaml.MappingNode):
            _refuse_repeated_keys(node)
            stack.extend((value, depth + 1) for pair in node.value for value in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)


def _refuse_repeated_keys(node: yaml.MappingNode) -> None:
    first_line: dict[tuple[str, str], int | None] = {}
    for key_node, _value in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == MERGE_KEY:
            continue
        key = (str(key_node.tag), str(key_node.value))
        if key in first_line:
            raise UnsafeYamlError(
                f"the key {key_node.value!r} appears twice in the same mapping (lines "
                f"{first_line[key]} and {_line(key_node)}); YAML would keep only the last value",
                "keep one of them (merge their contents if both matter)",
                _line(key_node),
            )
        first_line[key] = _line(key_node)


def _line(node: yaml.Node) -> int | None:
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else None
