"""JSON Schema of one environment file (``kfstack schema``), for editors and CI linters.

It accepts what the loader accepts, file by file:

- no ``name`` key (the environment name is the file name);
- no key of a mapping is required in one file, because ``base.yaml`` and ``<env>.yaml`` are
  deep-merged key by key and either may set it; list items are replaced whole, so inside a
  list item (a node pool, a MySQL user) required keys stay required; a backend needs its
  ``type`` tag (except ``local``, the default);
- unknown keys are refused everywhere, including the keys of typed maps (MIG profiles);
- every ``$ref`` is inlined, because the same model can be a merged mapping in one place
  and a list item in another.

Rules between fields (MIG profiles of a product, cron schedules that never fire, wiring
between components, production guardrails) need the merged environment; ``kfstack
validate`` checks them. The bad-input corpus marks which of its files a schema can catch.
"""

from __future__ import annotations

import copy
from typing import Any

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def environment_file_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``environments/*.yaml``, built from :class:`EnvironmentConfig`."""
    from kfstack.config.environment import EnvironmentConfig

    raw = EnvironmentConfig.model_json_schema()
    defs = raw.pop("$defs", {})
    raw["properties"].pop("name", None)
    schema = _rewrite(raw, defs, merged=True)
    schema["$schema"] = SCHEMA_DIALECT
    schema["title"] = "kfstack environment file"
    schema["description"] = ("One file of environments/: base.yaml or <env>.yaml (deep-merged; the environment "
                             "name is the file name). Cross-field rules: `kfstack validate`.")
    return schema


def _rewrite(node: Any, defs: dict[str, Any], *, merged: bool) -> Any:
    """Inline refs; drop ``required`` where files are merged key by key; close typed maps."""
    if isinstance(node, list):
        return [_rewrite(item, defs, merged=merged) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]])
        extra = {k: v for k, v in node.items() if k != "$ref"}
        return _rewrite({**target, **extra}, defs, merged=merged)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "discriminator":
            continue  # an OpenAPI keyword whose mapping points into the removed $defs
        if key in ("items", "prefixItems"):
            out[key] = _rewrite(value, defs, merged=False)  # list items are replaced whole
        elif key == "oneOf":  # a tagged union (backend): only its tag stays required
            out[key] = [_tagged(_rewrite(branch, defs, merged=merged)) for branch in value]
        elif key in ("properties", "patternProperties"):
            out[key] = {k: _rewrite(v, defs, merged=merged) for k, v in value.items()}
        elif key == "default":
            out[key] = value
        else:
            out[key] = _rewrite(value, defs, merged=merged)
    if merged:
        out.pop("required", None)
    if "patternProperties" in out and "properties" not in out:
        out.setdefault("additionalProperties", False)
    return out


def _tagged(branch: dict[str, Any]) -> dict[str, Any]:
    """A union branch requires its ``type`` tag (when the model has no default for it), nothing else."""
    tag = branch.get("properties", {}).get("type", {})
    if "const" in tag and "default" not in tag:
        branch["required"] = ["type"]
    return branch
