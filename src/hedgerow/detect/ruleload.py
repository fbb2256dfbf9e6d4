"""Load and validate YAML rule files; errors name the file, the line and the key in one line.

Rule files are the ``*.yaml``/``*.yml`` files of a folder (recursively), except those inside a
``cases`` folder, which hold the rule's test inputs and expected alerts.

Example:
    >>> rules = load_rules([builtin_rules_dir()])
    >>> any(r.id == "scan.horizontal.telnet" for r in rules)
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from hedgerow.detect.ruleschema import Rule, RuleFile

RULE_SUFFIXES = (".yaml", ".yml")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RuleError(ValueError):
    """A rule file is not valid; the message is one line: ``file:line: key: problem``."""


def builtin_rules_dir() -> Path:
    """The folder of rules shipped inside the package."""
    return Path(str(resources.files("hedgerow.detect") / "rules"))


def rule_files(path: Path) -> list[Path]:
    """The rule files under ``path`` (a file or folder), sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise RuleError(f"{path}: no such rule file or folder")
    return sorted(
        p
        for p in path.rglob("*")
        if p.suffix in RULE_SUFFIXES and p.is_file() and "cases" not in p.relative_to(path).parts
    )


def load_rules(paths: Iterable[Path]) -> list[Rule]:
    """Every rule in the given files/folders; a later rule with the same id replaces an earlier."""
    by_id: dict[str, Rule] = {}
    for root in paths:
        for file in rule_files(Path(root)):
            for rule in load_rule_file(file):
                by_id[rule.id] = rule
    return list(by_id.values())


def _parse(text: str) -> tuple[yaml.Node | None, object]:
    """The YAML node tree (for line numbers) and the data built from it, in one parse
    (with libyaml's parser when PyYAML has it)."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def load_rule_file(path: Path) -> list[Rule]:
    """Parse and validate one rule file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read: {exc}") from None
    try:
        node, data = _parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RuleError(f"{path}{where}: YAML syntax: {problem}") from None
    if isinstance(data, list):
        data = {"rules": data}
    try:
        return RuleFile.model_validate(data).rules
    except ValidationError as exc:
        errors = exc.errors()
        # a misspelt key shows up twice (unknown key + required key missing): name the typo
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = _loc_for_yaml(err["loc"], data)
        line = _line_of(node, loc)
        key = _key_name(loc)
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise RuleError(f"{path}:{line}: {key}: {_message(err)}{more}") from None


def validate_rules(rules: Sequence[Any]) -> list[Rule]:
    """Validate already-parsed rule dicts (for programmatic use)."""
    adapter: TypeAdapter[list[Rule]] = TypeAdapter(list[Rule])
    return adapter.validate_python(list(rules))


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    return str(err["msg"]).removeprefix("Value error, ")


def _loc_for_yaml(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """Drop pydantic's union tags (e.g. ``threshold``) that have no YAML counterpart."""
    out: list[Any] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and part == "in_" and "in" in cur:
            out.append("in")
            cur = cur["in"]
        elif isinstance(cur, list) and isinstance(part, int) and part < len(cur):
            out.append(part)
            cur = cur[part]
        elif (
            isinstance(cur, dict)
            and isinstance(part, str)
            and part not in ("threshold", "beacon", "p2p", "intel")
        ):
            out.append(part)
            break
    return tuple(out)


def _key_name(loc: tuple[Any, ...]) -> str:
    parts = []
    for part in loc:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts).lstrip(".") or "(top)"


def _line_of(node: Any, loc: tuple[Any, ...]) -> int:
    """Line (1-based) of the YAML node at ``loc``; the deepest node found if a key is absent."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
