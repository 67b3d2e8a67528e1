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
import re

import yaml
from pydantic import ValidationError

from kfstack.config.environment import (Components, EnvironmentConfig, KubernetesStateBackend, LocalBackend,
                                        PgBackend, S3Backend)
from kfstack.config.errors import ConfigError, Loc, Problem
from kfstack.config.guardrails import check_guardrails, check_non_development

BASE_FILE = "base.yaml"
ENV_NAME = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
"""An environment name (the file stem): a DNS label, because it names the stack and its state."""


@dataclass
class _Doc:
    """A parsed YAML file: its data and the line (1-based) of every key path."""

    file: str
    data: dict[str, Any]
    lines: dict[Loc, int] = field(default_factory=dict)


MAX_FILE_BYTES = 256 << 10
"""Largest environment file read, in bytes (256 KiB; the shipped files are under 4 KiB).

Checked before the file is read, so a huge file costs one ``stat``."""
MAX_DEPTH = 32
"""Deepest nesting of mappings and lists (the environment model itself nests at most 7 deep)."""
MAX_ALIASES = 100
"""Most ``*alias`` references in one file (the shipped files use none)."""
MAX_NODES = 50_000
"""Most YAML values (scalars, mappings, lists) in one file with every alias expanded.

An alias bomb (``a: &a [x, x]``, ``b: &b [*a, *a]``, …) composes into a few nodes but
expands to billions; its expanded size is computed from the composed nodes without
expanding anything, and refused above this bound. Values written out are counted while
composing, so a file of many small values stops at the bound too. 50 000 values is
~100x the largest shipped environment (base.yaml: ~400)."""


class _Limit(Exception):
    """A resource bound of the loader was hit: (key path, line, reason)."""

    def __init__(self, path: Loc, line: int | None, reason: str) -> None:
        super().__init__(reason)
        self.path, self.line, self.reason = path, line, reason


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses too-deep nesting and too many aliases while composing.

    Composing is recursive (one Python frame per level), so the depth bound also keeps a
    ``[[[[…]]]]`` file from exhausting the interpreter's stack.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str | int] = []
        self._aliases = 0
        self._nodes = 0

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]  # PyYAML's signature
        mark = self.peek_event().start_mark
        if isinstance(parent, yaml.MappingNode):
            step: str | int = index.value if isinstance(index, yaml.ScalarNode) else "?"
        elif isinstance(parent, yaml.SequenceNode):
            step = int(index)
        else:
            step = ""
        path = tuple(self._path[1:]) + ((step,) if parent is not None else ())
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Limit(path, mark.line + 1, f"more than {MAX_ALIASES} YAML aliases (*name); "
                                                  "an environment file needs few or none")
            return super().compose_node(parent, index)
        if len(self._path) > MAX_DEPTH:
            raise _Limit(path, mark.line + 1, f"nested more than {MAX_DEPTH} levels deep")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Limit(path, mark.line + 1, f"more than {MAX_NODES:,} values in one file")
        self._path.append(step)
        try:
            return super().compose_node(parent, index)
        finally:
            self._path.pop()



def _shown(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it (how error messages name files), else as given."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)

def _expanded_sizes(root: yaml.Node) -> dict[int, int]:
    """Number of values under each node (by ``id``) with aliases expanded, without expanding them.

    Each node is visited once (later references reuse its size and height), so the work is
    linear in the composed document and the recursion never goes deeper than MAX_DEPTH.

    Raises _Limit for a value that contains itself (``&a [*a]``), or a document nested more
    than MAX_DEPTH levels once its aliases are expanded, naming the key path.
    """
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    active: set[int] = set()

    def deep(path: Loc, node: yaml.Node) -> _Limit:
        return _Limit(path, node.start_mark.line + 1,
                      f"nested more than {MAX_DEPTH} levels deep once its YAML aliases are expanded")

    def size(node: yaml.Node, path: Loc, depth: int) -> int:
        key = id(node)
        if key in sizes:
            if depth + heights[key] - 1 > MAX_DEPTH + 1:
                raise deep(path, node)
            return sizes[key]
        if key in active:
            raise _Limit(path, node.start_mark.line + 1, "a value contains itself through an alias (recursive YAML)")
        if depth > MAX_DEPTH + 1:
            raise deep(path, node)
        active.add(key)
        total, height = 1, 0
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                step = k.value if isinstance(k, yaml.ScalarNode) else "?"
                total += size(k, path, depth + 1) + size(v, path + (step,), depth + 1)
                height = max(height, heights[id(k)], heights[id(v)])
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                total += size(item, path + (i,), depth + 1)
                height = max(height, heights[id(item)])
        active.discard(key)
        sizes[key], heights[key] = total, height + 1
        return total

    size(root, (), 1)
    return sizes


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document that expands (aliases included) to more than MAX_NODES values.

    Names the deepest key whose own value is over the bound: where the bomb is.
    """
    sizes = _expanded_sizes(root)
    if sizes[id(root)] <= MAX_NODES:
        return
    node, path = root, ()  # type: ignore[var-annotated]
    while True:
        if isinstance(node, yaml.MappingNode):
            children = [(k.value if isinstance(k, yaml.ScalarNode) else "?", v) for k, v in node.value]
        elif isinstance(node, yaml.SequenceNode):
            children = list(enumerate(node.value))
        else:
            children = []
        big = next(((step, child) for step, child in children if sizes[id(child)] > MAX_NODES), None)
        if big is None:
            break
        path, node = path + (big[0],), big[1]
    raise _Limit(path, node.start_mark.line + 1,
                 f"expands to {sizes[id(node)]:,} values through its YAML aliases (limit {MAX_NODES:,}): "
                 "an alias bomb, or aliases nested too deep")


_KEY_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")}
"""Tags a mapping key may resolve to (a date or binary key cannot become a JSON key)."""


def _walk(node: yaml.Node, path: Loc, lines: dict[Loc, int], file: str) -> None:
    # A mapping's key already recorded its own line: a block value (mapping, list) starts on the next one.
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _KEY_TAGS:
                raise ConfigError([Problem(file, path, "a key must be a plain name, not a list, mapping, date or "
                                           "binary value", key_node.start_mark.line + 1)])
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


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n / 1024:.0f} KiB"


def read_yaml(path: Path, display: str) -> _Doc:
    """Parse one environment file, within bounds.

    Raises ConfigError for a missing file, a file over MAX_FILE_BYTES, nesting
    deeper than MAX_DEPTH, more than MAX_ALIASES aliases or more than MAX_NODES
    values once aliases are expanded (each refused before the work it would
    cost), a YAML syntax error (with its line), duplicate or non-scalar keys, an
    empty file, or a top level that is not a mapping.
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError([Problem(display, (), f"refused: file is {_size(size)}; an environment file may "
                                                    f"be at most {_size(MAX_FILE_BYTES)}")])
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)  # a file that grows (or a device) still stops here
    except OSError as exc:
        raise ConfigError([Problem(display, (), f"cannot read file: {exc.strerror}")]) from exc
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError([Problem(display, (), f"refused: file is larger than {_size(MAX_FILE_BYTES)}, the most "
                                                "an environment file may be")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = text_line(raw, exc.start)
        raise ConfigError([Problem(display, (), f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})", line)]) from None
    loader = None
    try:
        loader = _BoundedLoader(text)  # the reader refuses control characters here
        node = loader.get_single_node()
        lines: dict[Loc, int] = {}
        if node is not None:
            _check_expansion(node)
            _walk(node, (), lines, display)  # keys: plain and unique, before PyYAML builds the mapping
        try:
            data = loader.construct_document(node) if node is not None else None
        except (ValueError, TypeError, AttributeError, OverflowError, IndexError, KeyError) as exc:
            # PyYAML's constructors raise plain errors on some malformed tagged values (``!!timestamp x``).
            raise ConfigError([Problem(display, (), f"a tagged YAML value cannot be read ({type(exc).__name__}: "
                                                    f"{exc}); remove the !!tag")]) from None
    except _Limit as exc:
        raise ConfigError([Problem(display, exc.path, f"refused: {exc.reason}", exc.line)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise ConfigError([Problem(display, (), f"YAML syntax error: {reason}", line)]) from exc
    except yaml.reader.ReaderError as exc:
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ConfigError([Problem(display, (), f"control character U+{char:04X} is not allowed in YAML",
                                   text.count("\n", 0, exc.position) + 1)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(display, (), f"YAML error: {exc}")]) from exc
    finally:
        if loader is not None:
            loader.dispose()
    if node is None or data is None:
        raise ConfigError([Problem(display, (), "file is empty; an environment file is a YAML mapping")])
    if not isinstance(data, dict):
        raise ConfigError([Problem(display, (), f"top level must be a mapping, got {type(data).__name__}", 1)])
    return _Doc(display, data, lines)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``: mappings recursively, everything else (lists too) replaced.

    kfstack's one merge rule: environment files over ``base.yaml``, ``kfstack promote``'s
    effective release, ``kfstack check``'s Helm values (Helm's rule too) and the cost inputs.
    Values are kept as given (round-tripped YAML scalars keep their quoting); inputs are not changed.
    """
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


_PATTERN_HELP: dict[tuple[Any, ...], str] = {
    ("registry", "host"): "must be a registry host[:port][/path] as an image reference starts, in lower case, "
                          "e.g. registry.internal:5000/mirror (no https://, no empty path segment like //)",
    ("mig_devices", "[key]"): "is not a MIG profile name such as 1g.10gb, 3g.40gb or 1g.10gb+me",
    ("backup", "schedule"): "must be a cron schedule of 5 fields (minute hour day-of-month month day-of-week) "
                            "or a macro like @daily",
}
"""Plain-words descriptions of patterns whose regular expression would mean nothing to a reader."""


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
    help_key = (loc[-3], loc[-1]) if loc and loc[-1] == "[key]" and len(loc) >= 3 else tuple(loc[-2:])
    if kind == "string_pattern_mismatch" and help_key in _PATTERN_HELP:
        return f"{_PATTERN_HELP[help_key]} (got {err.get('input')!r})"
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
        return _shown(p, root)

    docs: list[_Doc] = []
    problems: list[Problem] = []
    env_file = env_dir / f"{name}.yaml"
    if not re.fullmatch(ENV_NAME, name):
        raise ConfigError([Problem(show(env_file), (), f"the environment name comes from the file name, and {name!r} is "
                                   "not a valid one (lower-case letters, digits and '-', at most 63, starting and "
                                   "ending with a letter or digit: it names the Terraform stack and state); "
                                   "rename the file")])
    if not env_file.exists() and env_file.with_suffix(".yml").exists():
        raise ConfigError([Problem(show(env_file.with_suffix(".yml")), (), f"environment files end in .yaml; rename "
                                   f"it to {name}.yaml")])
    for path in (env_dir / BASE_FILE, env_file):
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
            message = _message(err)
            if loc and loc[-1] == "[key]":  # pydantic's marker for a bad mapping key
                loc = loc[:-1]
                message = f"this key {message}"
            file, line = _locate(loc, docs)
            if err["type"] == "missing":
                file, line = env_doc.file, None
            problems.append(Problem(file, loc, message, line))
        raise ConfigError(problems) from None
    for loc, message in env.components.wiring_problems():
        loc = ("components", *loc)
        file, line = _locate(loc, docs)
        problems.append(Problem(file, loc, message, line))
    if problems:  # guardrails read a consistent environment
        raise ConfigError(problems)
    for loc, message in check_guardrails(env):
        file, line = _locate(loc, docs)
        problems.append(Problem(file, loc, f"guardrail: {message} (environment {name!r} is tier production)", line))
    for loc, message in check_non_development(env):
        file, line = _locate(loc, docs)
        problems.append(Problem(file, loc, f"guardrail: {message} (environment {name!r})", line))
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
    root = display_root or env_dir.parent

    def show(p: Path) -> str:
        return _shown(p, root)

    problems: list[Problem] = []
    if names is None:  # a .yml file is never read: say so instead of ignoring it
        for stray in sorted(env_dir.glob("*.yml")):
            problems.append(Problem(show(stray), (), f"environment files end in .yaml and this one is not read; "
                                                     f"rename it to {stray.stem}.yaml"))
    wanted = list(names) if names is not None else environment_names(env_dir)
    if not wanted and not problems:
        raise ConfigError([Problem(str(env_dir), (), "no environment files (*.yaml besides base.yaml)")])
    envs: dict[str, EnvironmentConfig] = {}
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
    owners: dict[tuple[str, ...], str] = {}
    if names is not None and not problems:
        # Loading a few (kfstack plan prod): the others still must not share their state.
        for other in environment_names(env_dir):
            if other not in envs:
                try:
                    owners[load_environment(env_dir, other, display_root=display_root).state_location[1]] = other
                except ConfigError:
                    pass  # its own problems are reported when it is loaded
    for name, env in envs.items():
        loc, where = env.state_location
        if where in owners:
            problems.append(Problem(show(env_dir / f"{name}.yaml"), loc,
                                    f"environment {name!r} would keep its Terraform state where environment "
                                    f"{owners[where]!r} keeps its own ({where[0]}: {', '.join(where[1:])}); "
                                    "give each environment its own state"))
        else:
            owners[where] = name
    if problems:
        raise ConfigError(problems)
    return envs
