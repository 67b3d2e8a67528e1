"""Comment-preserving edits of the YAML files kfstack rewrites: environment files and ``sources.lock``.

``kfstack promote`` (an environment's ``release`` block) and ``kfstack vendor --update-lock``
(digests and rendered parts in ``sources.lock``) load the file with ruamel.yaml's round-trip
loader, change values in the loaded document, and dump it: comments, blank lines, key order,
quoting (``"26.03"``) and flow style (``- {name: ..., digest: ...}``) stay as written, and a
file dumped unchanged is byte-for-byte the file read (``tests/unit/test_yamledit.py`` checks
every shipped environment file and ``sources.lock``).

Layout of kfstack's YAML (:func:`dump`): mappings indented by 2, list items by 4 with the dash
at 2 (``  - name: x``), lines never re-wrapped, ``None`` written as ``null``.

Trailing comments: ruamel stores the comment lines that follow a block on the block's last
line (or at the end of its last list), although they introduce whatever comes next. Code that
replaces a block, or appends to it, moves them with :func:`take_tail` / :func:`put_tail`, or
calls :func:`replace`, so they stay in front of the next key.

A leaf module: it imports nothing from kfstack.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Hashable, Iterable, Mapping

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

Node = CommentedMap | CommentedSeq


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 4096  # never re-wrap long lines
    y.representer.add_representer(type(None),
                                  lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null"))
    return y


def load(text: str) -> Any:
    """The round-trip document of ``text`` (``CommentedMap``/``CommentedSeq``; None for an empty text).

    Raises:
        ruamel.yaml.YAMLError: ``text`` is not YAML.
    """
    return _yaml().load(text)


def load_file(path: Path) -> Any:
    """:func:`load` of a UTF-8 file."""
    return load(Path(path).read_text(encoding="utf-8"))


def dump(document: Any) -> str:
    """The text of a round-trip document, in kfstack's layout (module docstring)."""
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


def flow_mapping(pairs: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> CommentedMap:
    """A mapping written on one line, ``{name: x, digest: y}``, keys in the given order."""
    out = CommentedMap(pairs)
    out.fa.set_flow_style()
    return out


def block_sequence(items: Iterable[Any]) -> CommentedSeq:
    """A list written one item per line (``- item``); an empty one is written ``[]``."""
    out = CommentedSeq(items)
    if out:
        out.fa.set_block_style()
    else:
        out.fa.set_flow_style()
    return out


def _last_chain(parent: Node, key: Hashable) -> list[tuple[Node, Hashable]]:
    """(container, key) from ``parent[key]`` down to its last line's item (flow collections are one line)."""
    chain: list[tuple[Node, Hashable]] = [(parent, key)]
    node = parent[key]
    while isinstance(node, (CommentedMap, CommentedSeq)) and len(node) and not node.fa.flow_style():
        last = len(node) - 1 if isinstance(node, CommentedSeq) else list(node)[-1]
        chain.append((node, last))
        node = node[last]
    return chain


def _slot(container: Node) -> int:
    """Index of the comment after an item in ``ca.items``: 0 in a list, 2 in a mapping (ruamel's layout)."""
    return 0 if isinstance(container, CommentedSeq) else 2


def take_tail(parent: Node, key: Hashable) -> str:
    """Detach and return the comment and blank lines after ``parent[key]``'s last line.

    The last line's own end-of-line comment stays. Returns "" when nothing follows.
    """
    chain = _last_chain(parent, key)
    container, last = chain[-1]
    tail = ""
    entry = container.ca.items.get(last)
    if entry and entry[_slot(container)] is not None:
        token = entry[_slot(container)]
        first, newline, rest = token.value.partition("\n")
        token.value = first + newline
        tail = rest
    for node, _ in reversed(chain[1:]):  # comments at the end of nested lists, innermost first
        if node.ca.end:
            tail += "".join(" " * (token.column or 0) + token.value for token in node.ca.end)
            node.ca.end = []
    return tail


def put_tail(parent: Node, key: Hashable, tail: str) -> None:
    """Attach ``tail`` (from :func:`take_tail`) after ``parent[key]``'s (new) last line."""
    if not tail:
        return
    container, last = _last_chain(parent, key)[-1]
    entry = container.ca.items.setdefault(last, [None, None, None, None])
    slot = _slot(container)
    if entry[slot] is None:
        entry[slot] = CommentToken("\n", CommentMark(0), None)
    entry[slot].value = entry[slot].value.rstrip("\n") + "\n" + tail


def replace(parent: CommentedMap, key: Hashable, value: Any) -> None:
    """Set ``parent[key] = value`` (appending the key when absent), keeping the comment lines that
    followed the old value, or the mapping's old last key, where they were: before the next key."""
    anchor = key if key in parent else (list(parent)[-1] if len(parent) else None)
    tail = take_tail(parent, anchor) if anchor is not None else ""
    parent[key] = value
    put_tail(parent, key, tail)


def insert_before(mapping: CommentedMap, before: Hashable, key: Hashable, value: Any) -> None:
    """Add ``key: value`` to ``mapping`` just before key ``before``; at the end when ``before`` is absent."""
    if before in mapping:
        mapping.insert(list(mapping).index(before), key, value)
    else:
        replace(mapping, key, value)


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` atomically (temporary file in the same folder, then rename), keeping
    its permissions; a failure leaves the old file untouched."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["block_sequence", "dump", "flow_mapping", "insert_before", "load", "load_file", "put_tail", "replace",
           "take_tail", "write_text"]
