"""A stage's parsed configuration YAML, kept as JSON in its state directory.

Every stage parses the station registry at each start, and a restart during a storm
(a supervisor bringing back a crashed stage with a backlog waiting) pays it in full:
libyaml reads the text in C, but PyYAML builds the document in Python -- 47 ms for 500
stations and 2.0 s for 10,000 here, against 0.6 ms to decode the same document from
JSON (msgspec). So the document is kept, once parsed, under the SHA-256 of the YAML
text it came from: an edited file has another hash and is parsed again, never served
stale. Only the parse is skipped; every check of the document (pydantic's models, the
registry's own) still runs on what the cache returns.

A document is kept only when JSON gives it back exactly (dates, non-text keys, NaN and
the like do not survive the round trip, and such a document is simply parsed each
time), and the cache is an optimisation only: a directory that cannot be written, or
a cache file that is unreadable or damaged, costs the parse and nothing else.

The hash names the file; it does not vouch for what is in it. A cache file is trusted
as the state directory is: whoever can write there can already change the alert
engine's state and the spool, so the directory must be the service's alone (the
images' volumes are; a shared host directory must be made so). An operator who doubts
it deletes ``cache/``: the next start parses the YAML again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import structlog

from floodwatch.core.config_files import parse_yaml

log = structlog.get_logger("config_cache")

# Part of every key: a change to how YAML is read (parse_yaml's loader, its checks)
# must not be answered from documents parsed the old way.
FORMAT = "floodwatch-yaml-1"


def parse_yaml_cached(text: str, cache_dir: Path | None) -> Any:
    """``parse_yaml(text)``, from ``cache_dir`` when it was parsed before (None: no cache).

    Raises what ``parse_yaml`` raises; never fails because of the cache."""
    if cache_dir is None:
        return parse_yaml(text)
    digest = hashlib.sha256(f"{FORMAT}\n{text}".encode()).hexdigest()
    path = cache_dir / f"yaml-{digest}.json"
    try:
        return msgspec.json.decode(path.read_bytes())
    except FileNotFoundError:
        pass
    except (OSError, msgspec.DecodeError) as exc:  # damaged or unreadable: parse again
        log.warning("ignoring a damaged configuration cache file", path=str(path),
                    error=str(exc))
    document = parse_yaml(text)
    _keep(document, path)
    return document


def _keep(document: Any, path: Path) -> None:
    try:
        encoded = msgspec.json.encode(document)
    except (TypeError, ValueError, OverflowError):  # a type JSON has no word for
        return
    if not same_document(msgspec.json.decode(encoded), document):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader (another stage starting) sees the whole
        # file or none of it.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".yaml-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(encoded)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.debug("configuration cache not written", path=str(path), error=str(exc))


def same_document(copy: Any, original: Any) -> bool:
    """Equal and of the same types throughout (``==`` alone takes 1 for 1.0 and True)."""
    if type(copy) is not type(original):
        return False
    if isinstance(original, dict):
        return copy.keys() == original.keys() and all(
            type(key) is str and same_document(copy[key], value)
            for key, value in original.items())
    if isinstance(original, list):
        return len(copy) == len(original) and all(
            same_document(item, value) for item, value in zip(copy, original, strict=True))
    return bool(copy == original)
