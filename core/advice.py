"""What residents are told to do, per alert type and level: one file (setting
FLOODWATCH_ADVICE, shipped as ``config/advice.yaml``) read by notify for residents'
posts and by the alert engine for CAP's ``instruction``, so a post and a CAP message
never advise differently. Neither stage imports the other: this is the shared part.

An alert type's ``advice`` for a level applies from that level up, until a higher
level has its own; ``all_clear`` is what a lowered or cleared alert advises.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from floodwatch.core.config_files import YamlSyntaxError, first_error, parse_yaml
from floodwatch.core.registry import Names


class AdviceError(Exception):
    """The advice file is missing or invalid (one line, naming the file and field)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# The registry's two-language text (ja and en, neither empty): the same shape.
Text = Names


class TypeAdvice(_Model):
    advice: dict[int, Text] = {}  # from that level up
    all_clear: Text


class Advice(_Model):
    """``alerts.<alert_type>``: the advice of each alert type residents are told of."""

    alerts: dict[str, TypeAdvice]

    def advice_for(self, alert_type: str, level: int) -> Text | None:
        """The advice for ``level``: that of the highest level at or below it."""
        given = self.alerts.get(alert_type)
        if given is None:
            return None
        covering = [at for at in given.advice if at <= level]
        return given.advice[max(covering)] if covering else None

    def all_clear_for(self, alert_type: str) -> Text | None:
        given = self.alerts.get(alert_type)
        return None if given is None else given.all_clear

    def problems(self, act_levels: dict[str, int]) -> list[str]:
        """What a channel telling residents of these alert types at these levels would
        miss: an act level without advice, an alert type without an all-clear."""
        found = []
        for alert_type, act in act_levels.items():
            if alert_type not in self.alerts:
                found.append(f"alerts.{alert_type}: missing (no all_clear advice)")
            elif self.advice_for(alert_type, act) is None:
                found.append(f"alerts.{alert_type}.advice: no advice for act level {act}")
        return found

    @classmethod
    def from_yaml_text(cls, text: str, source: str = "<advice>") -> Advice:
        try:
            document = parse_yaml(text)
        except YamlSyntaxError as exc:
            raise AdviceError(f"{source}: not valid YAML: {exc}") from exc
        try:
            return cls.model_validate(document or {})
        except ValidationError as exc:
            raise AdviceError(f"{source}: {first_error(exc)}") from exc

    @classmethod
    def load(cls, path: Path) -> Advice:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise AdviceError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        return cls.from_yaml_text(text, source=str(path))
