"""The base of the settings sections (settings_backends.py, settings_api.py, ...).

A section is a mixin of ``floodwatch.core.settings.Settings`` and is only ever validated
as part of it, so pydantic need not build a validator for each section on its own:
``defer_build`` leaves that undone. Every process imports the settings at start; this
halves what the split costs there (CPU to import them, bytecode cached, 5 runs each: 8.8 ms
as one class, 15.6 ms with each section building its own validator, 12.4 ms deferred).
``Settings`` turns it off again for itself.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SettingsSection(BaseModel):
    """A section of ``Settings``: its fields and their own checks."""

    model_config = ConfigDict(defer_build=True)
