"""The org tree (组织架构): load, check, walk, and match unit names against it.

CONTRACT (other modules rely on it; the implementation is being written).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LEVELS = ("区", "党(工)委", "党支部")  # top to bottom


@dataclass(frozen=True)
class Org:
    """One party organisation of the tree."""

    code: str
    name: str  # 规范全称
    aliases: tuple[str, ...] = ()
    parent: str | None = None  # parent's code; None for the root
    level: str = "党支部"  # one of LEVELS
    type: str = ""
    group: str = ""  # 督导组
    contact: str = ""
    phone: str = ""
    email: str = ""
    row: int | None = None  # 1-based row in the org-tree file


class OrgTree:
    """The checked tree; raises ConfigError listing every bad row when built."""

    def __init__(self, orgs: list[Org]):
        raise NotImplementedError

    @property
    def root(self) -> Org: ...
    def get(self, code: str) -> Org: ...
    def children(self, code: str) -> list[Org]: ...
    def branches_under(self, code: str) -> list[Org]:
        """Every 党支部 at or below `code`, in tree order."""
    def descendants(self, code: str) -> list[Org]:
        """Every org below `code` (not itself), in tree order (parents before children)."""
    def match(self, name: str) -> tuple[Org, str] | None:
        """The org a typed name means, and the basis: 'name', 'alias' or 'fuzzy'."""
    def by_email(self, address: str) -> Org | None: ...


def load_orgs(path: Path | str) -> OrgTree:
    """Read orgs.xlsx / orgs.csv (columns of sheets/orgs.yaml) and check it."""
    raise NotImplementedError
