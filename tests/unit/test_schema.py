"""Issue 13 item 9: `kfstack schema` accepts what the loader accepts.

Checked with a JSON Schema validator (jsonschema, draft 2020-12) over every shipped
environment file and the bad-input corpus: a corpus file marked ``schema: reject`` breaks a
rule the schema expresses and must be invalid; ``schema: accept`` breaks a rule between
fields (or between files) that only `kfstack validate` can check, and must pass the schema
(so the marks stay honest); ``n/a`` files are refused by the YAML reader itself.
"""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from kfstack.cli import app
from kfstack.config.schema import environment_file_schema
from tests.conftest import ROOT
from tests.unit.test_bad_inputs import FIXTURES, header

import jsonschema  # dev dependency (Pipfile [dev-packages]); a missing one fails, never skips

SHIPPED = sorted((ROOT / "environments").glob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    schema = environment_file_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_cli_prints_the_same_schema():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == environment_file_schema()


def test_schema_has_no_name_key_and_requires_nothing_at_the_top():
    schema = environment_file_schema()
    assert "name" not in schema["properties"] and "required" not in schema
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_file_is_valid(validator, path):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


# Files marked n/a are refused by the YAML reader before any schema could apply (not parameters here).
@pytest.mark.parametrize("fixture", [f for f in FIXTURES if header(f)["schema"] != "n/a"], ids=lambda p: p.name)
def test_corpus_marks_match_the_schema(validator, fixture):
    mark = header(fixture)["schema"]
    errors = list(validator.iter_errors(yaml.safe_load(fixture.read_text())))
    if mark == "reject":
        assert errors, f"{fixture.name}: the loader refuses it, the schema accepts it"
    else:
        assert not errors, f"{fixture.name}: marked accept, but the schema refuses it: {errors[0].message}"


@pytest.mark.parametrize("text", [
    "backend: {type: s3}\n",                      # the rest of an s3 backend may come from the other file
    "components: {istio: {istiod_replicas: 3}}\n",  # one key of a component
    "registry: {host: registry.internal/mirror/}\n",
    "node_pools: [{name: cpu, count: 2}]\n",
], ids=["partial-backend", "one-key", "registry-trailing-slash", "pool"])
def test_partial_files_the_loader_merges_are_valid(validator, text):
    assert list(validator.iter_errors(yaml.safe_load(text))) == []


def test_list_items_keep_their_required_keys(validator):
    assert list(validator.iter_errors({"node_pools": [{"name": "cpu"}]}))
