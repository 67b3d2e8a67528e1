"""kfstack.versions: the one version pattern and order (settings, promotion, check, vendor use it)."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from kfstack.model import Version
from kfstack.versions import bare, compare_versions, is_version, newest, same_version, version_key


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("1.10.0", "1.9.2", 1), ("26.03", "26.3", 0), ("v2.16.0", "2.16.0", 0), ("4.44", "4.45", -1),
    ("1.0.0-rc.1", "1.0.0", -1), ("1.0.0-rc.2", "1.0.0-rc.10", -1), ("1.21", "1.21.0", 0),
    ("1.0.0-alpha", "1.0.0-alpha.1", -1), ("1.0.0-alpha.beta", "1.0.0-beta", -1), ("1.0.0+build.7", "1.0.0", 0)])
def test_compare_versions(a, b, expected):
    assert compare_versions(a, b) == expected
    assert compare_versions(b, a) == -expected


def test_newest_puts_a_prerelease_before_its_release_and_ignores_stray_tags():
    # A split-on-dots key (the old chart locator's) ranked 1.0.0-rc.1 above 1.0.0 and 1.9.0 above 1.10.0.
    assert newest(["1.0.0-rc.1", "1.0.0", "0.9.9"]) == "1.0.0"
    assert newest(["v1.9.0", "v1.10.0"]) == "v1.10.0"
    assert newest(["latest", "1.2.3"]) == "1.2.3"
    with pytest.raises(ValueError):
        newest([])


@pytest.mark.parametrize("text", ["1.19.4", "v2.16.0", "26.03", "0.0.1-standin", "1.0.0-rc.1"])
def test_versions_accepted(text):
    assert is_version(text)
    assert TypeAdapter(Version).validate_python(text) == text


@pytest.mark.parametrize("text", ["1", "latest", "1.2.3.4", "V1.2.3", " 1.2.3", "1.2.3+build"])
def test_versions_refused(text):
    assert not is_version(text)
    with pytest.raises(ValidationError, match="is not a version"):
        TypeAdapter(Version).validate_python(text)


def test_version_key_names_the_bad_value():
    with pytest.raises(ValueError, match="'latest' is not a version"):
        version_key("latest")


def test_leading_v():
    assert bare("v1.19.4") == "1.19.4" and bare("1.19.4") == "1.19.4" and bare("vv1") == "v1"
    assert same_version("v1.0.4", "1.0.4") and same_version("1.0.4", "v1.0.4")
    assert not same_version("1.21", "1.21.0")  # spelling, not precedence: Helm sees two chart versions
