"""Load ``environments/base.yaml`` + ``<env>.yaml``, deep-merge, validate.

Merge rule: mappings merge key by key (the environment file wins); any other
value, lists included, is replaced whole. Every key's source file and line is
remembered so that an error names the file that set the bad value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import json

import yaml
from pydantic import ValidationError

from kfstack.config.environment import (Components, EnvironmentConfig, KubernetesStateBackend, LocalBackend,
                                        PgBackend, S3Backend)
from kfstack.config.errors import ConfigError, Loc, Problem
from kfstack.config.guardrails import check_guardrails

BASE_FILE = "base.yaml"


@dataclass
class _Doc:
    """A parsed YAML file: its data and the line (1-based) of every key path."""

    file: str
    data: dict[str, Any]
    lines: dict[Loc, int] = field(default_factory=dict)


def _walk(node: yaml.Node, path: Loc, lines: dict[Loc, int], file: str) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise ConfigError([Problem(file, path + (key,), f"duplicate key (first set on line {seen[key]})",
                                           key_node.start_mark.line + 1)])
            seen[key] = key_node.start_mark.line + 1
            lines[path + (key,)] = key_node.start_mark.line + 1
            _walk(value_node, path + (key,), lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines, file)


def text_line(data: bytes, offset: int) -> int:
    """1-based line number of byte ``offset`` in ``data``."""
    return data.count(b"\n", 0, offset) + 1


def read_yaml(path: Path, display: str) -> _Doc:
    """Parse one environment file.

    Raises ConfigError for a missing file, a YAML syntax error (with its line),
    duplicate keys, an empty file, or a top level that is not a mapping.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(display, (), f"cannot read file: {exc.strerror}")]) from exc
    except UnicodeDecodeError as exc:
        line = text_line(path.read_bytes(), exc.start)
        raise ConfigError([Problem(display, (), f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})", line)]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise ConfigError([Problem(display, (), f"YAML syntax error: {reason}", line)]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(display, (), f"YAML error: {exc}")]) from exc
    if node is None or data is None:
        raise ConfigError([Problem(display, (), "file is empty; an environment file is a YAML mapping")])
    if not isinstance(data, dict):
        raise ConfigError([Problem(display, (), f"top level must be a mapping, got {type(data).__name__}", 1)])
    lines: dict[Loc, int] = {}
    _walk(node, (), lines, display)
    return _Doc(display, data, lines)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``: mappings recursively, everything else replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _locate(loc: Loc, docs: list[_Doc]) -> tuple[str, int | None]:
    """The file (and line) that set ``loc`` or its nearest ancestor; later docs win ties."""
    best: tuple[int, str, int | None] = (-1, docs[-1].file, None)
    for doc in docs:
        for n in range(len(loc), -1, -1):
            if loc[:n] in doc.lines and n > 0:
                if n >= best[0]:
                    best = (n, doc.file, doc.lines[loc[:n]])
                break
    return best[1], best[2]


_BACKENDS: dict[str, type] = {m.model_fields["type"].annotation.__args__[0]: m  # type: ignore[union-attr]
                              for m in (LocalBackend, PgBackend, S3Backend, KubernetesStateBackend)}


def _backend_message(loc: tuple[Any, ...]) -> str | None:
    """A credential (or cluster setting) written into ``backend``: say where it comes from instead."""
    if len(loc) != 3 or loc[0] != "backend" or loc[1] not in _BACKENDS:
        return None
    model, key = _BACKENDS[loc[1]], loc[2]
    if key in model.CREDENTIALS:
        return (f"{key} is a credential and never goes in an environment file: remove it and set "
                f"{model.CREDENTIALS[key]} in the environment at run time")
    if key in getattr(model, "FROM_CLUSTER", {}):
        return f"the kubernetes backend takes {key} from the environment's {model.FROM_CLUSTER[key]}; remove it"
    return None


def _message(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    loc = err["loc"]
    if kind == "extra_forbidden":
        backend = _backend_message(tuple(loc))
        if backend:
            return backend
        if len(loc) == 2 and loc[0] == "components":
            known = ", ".join(Components.model_fields)
            return f"unknown component {loc[1]!r}; known components: {known}"
        return "unknown key (check the spelling; `kfstack schema` prints every key)"
    if kind == "missing":
        return "required key is missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping of keys to values, got {_yaml_type(err.get('input'))}"
    if kind in ("tuple_type", "list_type"):
        return f"must be a list, got {_yaml_type(err.get('input'))}"
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if "input" in err and kind not in ("model_type", "dict_type") and not isinstance(err["input"], (dict, list)):
        msg += f" (got {err['input']!r})"
    return msg


def _yaml_type(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def _clean_loc(loc: Iterable[Any]) -> Loc:
    # The backend's discriminated union adds the tag (backend.<type>.key) to the location; drop it.
    loc = tuple(loc)
    if len(loc) >= 2 and loc[0] == "backend" and loc[1] in _BACKENDS:
        return (loc[0], *loc[2:])
    return loc


Check = Callable[[EnvironmentConfig], list[tuple[Loc, str]]]
"""An extra whole-environment check: returns (key path, message) per problem."""


def load_environment(env_dir: Path, name: str, *, display_root: Path | None = None,
                     checks: Iterable[Check] = ()) -> EnvironmentConfig:
    """Load and validate one environment.

    Args:
        env_dir: folder holding ``base.yaml`` and ``<name>.yaml``.
        name: environment name (file stem); becomes the stack name.
        display_root: paths in error messages are shown relative to this folder.

    Raises:
        ConfigError: every problem found, each naming file, line and key path.
    """
    root = display_root or env_dir.parent

    def show(p: Path) -> str:
        try:
            return str(p.relative_to(root))
        except ValueError:
            return str(p)

    docs: list[_Doc] = []
    problems: list[Problem] = []
    for path in (env_dir / BASE_FILE, env_dir / f"{name}.yaml"):
        try:
            docs.append(read_yaml(path, show(path)))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    env_doc = docs[-1]
    for doc in docs:
        if "name" in doc.data:
            raise ConfigError([Problem(doc.file, ("name",), "the environment name comes from the file name; remove this key",
                                       doc.lines.get(("name",)))])
    merged: dict[str, Any] = {}
    for doc in docs:
        merged = deep_merge(merged, doc.data)
    merged["name"] = name
    try:
        # Strict JSON-mode validation: YAML already typed every scalar, so "3" for an integer or
        # true for a count is an error, while enum values and lists still read naturally.
        env = EnvironmentConfig.model_validate_json(json.dumps(merged, default=str), strict=True)
    except ValidationError as exc:
        for err in exc.errors():
            loc = _clean_loc(err["loc"])
            file, line = _locate(loc, docs)
            if err["type"] == "missing":
                file, line = env_doc.file, None
            problems.append(Problem(file, loc, _message(err), line))
        raise ConfigError(problems) from None
    for loc, message in check_guardrails(env):
        file, line = _locate(loc, docs)
        problems.append(Problem(file, loc, f"guardrail: {message} (environment {name!r} is tier production)", line))
    for check in checks:
        for loc, message in check(env):
            file, line = _locate(loc, docs)
            problems.append(Problem(file, loc, f"{message} (environment {name!r})", line))
    if problems:
        raise ConfigError(problems)
    return env


def environment_names(env_dir: Path) -> list[str]:
    """Names of the environments in ``env_dir``: every ``*.yaml`` but ``base.yaml``, sorted."""
    return sorted(p.stem for p in env_dir.glob("*.yaml") if p.name != BASE_FILE)


def load_environments(env_dir: Path, names: Iterable[str] | None = None, *,
                      display_root: Path | None = None, checks: Iterable[Check] = ()) -> dict[str, EnvironmentConfig]:
    """Load every environment (or ``names``); all must be valid.

    Raises:
        ConfigError: problems from every invalid environment together, so one
            run shows everything to fix; no environment is returned.
    """
    wanted = list(names) if names is not None else environment_names(env_dir)
    if not wanted:
        raise ConfigError([Problem(str(env_dir), (), "no environment files (*.yaml besides base.yaml)")])
    envs: dict[str, EnvironmentConfig] = {}
    problems: list[Problem] = []
    seen: set[str] = set()
    for name in wanted:
        try:
            envs[name] = load_environment(env_dir, name, display_root=display_root, checks=tuple(checks))
        except ConfigError as exc:
            for p in exc.problems:
                key = str(p)
                if key not in seen:  # base.yaml problems show once, not once per environment
                    seen.add(key)
                    problems.append(p)
    if problems:
        raise ConfigError(problems)
    return envs
