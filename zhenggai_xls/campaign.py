"""A campaign folder: campaign.yaml + orgs.xlsx (+ templates/).

CONTRACT (other modules rely on it; the implementation is being written).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .orgs import OrgTree


@dataclass(frozen=True)
class FormPlan:
    """One form of the campaign: who reports it and by when."""

    form: str  # spec id
    levels: tuple[str, ...]  # levels that submit it, e.g. ("党支部",)
    deadlines: dict[str, datetime]  # level -> deadline (a date alone means 23:59:59 that day)
    weekly: dict | None = None  # recurrence: {"weekday": 4, "time": "12:00", "from": date, "to": date}

    def periods(self) -> list[str | None]:
        """[None] for a one-off form; the ISO dates of each due day for a weekly one."""
        raise NotImplementedError

    def deadline(self, level: str, period: str | None = None) -> datetime:
        raise NotImplementedError


@dataclass
class Campaign:
    """What is collected, from whom, by when."""

    name: str
    year: int
    forms: dict[str, FormPlan]
    orgs: OrgTree
    folder: Path
    due_soon_days: int = 7
    groupings: tuple[str, ...] = ()  # e.g. ("督导组", "类型")
    as_of: datetime | None = None


def load_campaign(folder: Path | str) -> Campaign:
    """Read and check a campaign folder; ConfigError naming every bad key."""
    raise NotImplementedError


def init_campaign(folder: Path | str, preset: str, year: int | None = None) -> Campaign:
    """Write a complete campaign folder from a preset ('plan-filing' or 'three-meetings')."""
    raise NotImplementedError
