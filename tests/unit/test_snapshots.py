"""Golden snapshots of every environment's synthesized JSON, and byte-for-byte determinism.

A reviewer sees every change to the output as a diff of tests/snapshots/<env>.json.
Refresh after an intended change with:  pipenv run python -m kfstack.snapshots
"""

from __future__ import annotations

import pytest

from kfstack.snapshots import SNAPSHOT_DIR, synth_to


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    first = synth_to(tmp_path_factory.mktemp("synth-a"))
    second = synth_to(tmp_path_factory.mktemp("synth-b"))
    return first, second


def test_synthesis_is_byte_identical_across_runs(synthesized):
    first, second = synthesized
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], f"{name}: two synth runs differ"


def test_every_environment_matches_its_golden_snapshot(synthesized):
    first, _ = synthesized
    expected = {p.stem for p in SNAPSHOT_DIR.glob("*.json")}
    assert expected == set(first), "snapshot set differs from environments; run python -m kfstack.snapshots"
    for name, data in first.items():
        golden = (SNAPSHOT_DIR / f"{name}.json").read_bytes()
        assert data == golden, (
            f"{name}: synthesized JSON differs from tests/snapshots/{name}.json; review the change, then "
            "refresh with `pipenv run python -m kfstack.snapshots`"
        )
