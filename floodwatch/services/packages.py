"""Finding the server binaries, and installing Debian's packages when they are missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from floodwatch.services.process import ServiceError

# binary -> Debian package that provides it
REQUIRED_BINARIES: dict[str, str] = {
    "mosquitto": "mosquitto",
    "mosquitto_pub": "mosquitto-clients",
    "mosquitto_sub": "mosquitto-clients",
    "influxd": "influxdb",
}

# Daemons live in sbin, which is not on every user's PATH.
_SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"]
)


def find_binary(name: str) -> Path | None:
    found = shutil.which(name, path=_SEARCH_PATH)
    return Path(found) if found else None


def require_binary(name: str) -> Path:
    path = find_binary(name)
    if path is None:
        package = REQUIRED_BINARIES.get(name, name)
        raise ServiceError(
            f"{name} is not installed (Debian package {package!r}); "
            "run 'floodwatch services install'"
        )
    return path


def missing_packages() -> list[str]:
    return sorted(
        {package for binary, package in REQUIRED_BINARIES.items() if find_binary(binary) is None}
    )


def install_missing() -> list[str]:
    """apt-get install what is missing; returns the packages installed."""
    packages = missing_packages()
    if not packages:
        return []
    apt = shutil.which("apt-get")
    if apt is None:
        raise ServiceError(f"missing {', '.join(packages)} and no apt-get to install them")
    prefix: list[str] = []
    if os.geteuid() != 0:
        sudo = shutil.which("sudo")
        if sudo is None:
            raise ServiceError(f"missing {', '.join(packages)}: run as root or install sudo")
        prefix = [sudo, "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # An install must not start the system's own daemons on 1883/8086 where a
    # policy-rc.d says no; where services do start, ours use other ports anyway.
    commands = ([*prefix, apt, "update", "-qq"], [*prefix, apt, "install", "-y", "-qq", *packages])
    for argv in commands:
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise ServiceError(f"{' '.join(argv[-3:])} failed: {' / '.join(tail)}")
    still = missing_packages()
    if still:
        raise ServiceError(f"installed, but still missing: {', '.join(still)}")
    return packages
