"""How fast the org tree builds and matches names on a large district (3,100 orgs).

Run: python bench/bench_orgs.py
"""
from __future__ import annotations

import time

from zhenggai_xls.orgs import Org, OrgTree


def big_tree(towns: int = 100, villages: int = 30) -> list[Org]:
    orgs = [Org("root", "中共重庆市涪陵区委员会", level="区")]
    for i in range(towns):
        orgs.append(Org(f"{i}", f"中共第{i}镇委员会", parent="root", level="党(工)委"))
        orgs += [Org(f"{i}-{j}", f"第{i}镇第{j}村党支部", parent=f"{i}") for j in range(villages)]
    return orgs


def timed(label: str, fn, count: int) -> None:
    start = time.perf_counter()
    fn()
    spent = time.perf_counter() - start
    print(f"{label:<28} {spent * 1000:8.1f} ms  ({spent / count * 1e6:7.1f} µs each)")


def main() -> None:
    orgs = big_tree()
    tree = None

    def build():
        nonlocal tree
        tree = OrgTree(orgs)

    timed("build + check", build, 1)
    branches = [o for o in orgs if o.level == "党支部"]
    timed("match exact name", lambda: [tree.match(o.name) for o in branches], len(branches))
    timed("match 中共…支部委员会（盖章）",
          lambda: [tree.match("中共" + o.name.replace("党支部", "支部委员会") + "（盖章）") for o in branches],
          len(branches))
    timed("match with district prefix", lambda: [tree.match("涪陵区" + o.name) for o in branches], len(branches))
    timed("closest (hint) x300", lambda: [tree.closest(o.name[:-3] + "支") for o in branches[:300]], 300)


if __name__ == "__main__":
    main()
