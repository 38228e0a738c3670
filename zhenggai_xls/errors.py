"""The package's exceptions: broken specs and configs, never problems in submitted data."""
from __future__ import annotations


class ZhenggaiError(Exception):
    """Base of every exception the package raises on purpose."""


class SpecError(ZhenggaiError):
    """A form spec (or config) is broken; carries every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ConfigError(SpecError):
    """A campaign config or org tree is broken; carries every problem found."""
