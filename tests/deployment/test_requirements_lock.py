"""The locks say what is installed: requirements.lock (runtime + dev, `make install`) and
requirements-runtime.lock (the image) pin every dependency pyproject.toml declares, by
version and hash, and agree with each other. A dependency added to pyproject.toml without
`make lock` fails here, not on a fresh machine."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def lock(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """Each pinned package: its version and the hashes allowed for it."""
    text = (REPO_ROOT / name).read_text()
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", text):
        pinned = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", entry)
        if pinned:
            pins[canonicalize_name(pinned.group(1))] = (
                pinned.group(2), frozenset(re.findall(r"--hash=sha256:([0-9a-f]{64})", entry)))
    return pins


def requirements(*, dev: bool) -> list[Requirement]:
    declared = PYPROJECT["dependencies"] + (PYPROJECT["optional-dependencies"]["dev"] * dev)
    return [Requirement(line) for line in declared]


def assert_pinned(pins: dict[str, tuple[str, frozenset[str]]],
                  declared: list[Requirement], lock_name: str) -> None:
    for requirement in declared:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in {lock_name}: run `make lock`"
        version, hashes = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock_name} pins {name}=={version}, outside {requirement}: run `make lock`")
        assert hashes, f"{name} has no hash in {lock_name}"


def test_every_declared_dependency_is_locked_by_version_and_hash() -> None:
    assert_pinned(lock("requirements.lock"), requirements(dev=True), "requirements.lock")
    assert_pinned(lock("requirements-runtime.lock"), requirements(dev=False),
                  "requirements-runtime.lock")


def test_the_images_lock_holds_the_same_versions_and_hashes_as_make_installs() -> None:
    full, runtime = lock("requirements.lock"), lock("requirements-runtime.lock")
    assert {name: full.get(name) for name in runtime} == runtime
    assert len(runtime) < len(full)  # no test tools in the image


def test_the_mqtt_codec_is_pinned_exactly() -> None:
    (codec,) = [r for r in requirements(dev=False) if r.name == "mqtt5"]
    (specifier,) = codec.specifier
    assert specifier.operator == "=="
    assert lock("requirements.lock")["mqtt5"][0] == specifier.version
