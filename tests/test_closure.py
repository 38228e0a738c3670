"""Closure: the district totals do not depend on the path the branch figures took.

Random trees (区 → 党(工)委 → 党支部) and random 备案表: rolling up every branch
file directly, rolling up the committees' own summaries (each made by a
committee-level roll-up), or any mix of the two gives the same figures, and no
branch row is lost or counted twice.
"""
from hypothesis import given, settings, strategies as st

from rollup_helpers import CATEGORIES, GRADES, STATS_KEYS, at, filing_sub, plan_filing_campaign, stats_row_from_filing, stats_sub
from zhenggai_xls.orgs import Org, OrgTree
from zhenggai_xls.rollup import rollup

AS_OF = at("2012-06-30")
counts = st.integers(min_value=0, max_value=30)


@st.composite
def branch_filing(draw):
    """The figures of one 备案表."""
    return dict(grade=draw(st.sampled_from(sorted(GRADES))), opinions=tuple(draw(counts) for _ in range(4)),
                people=(draw(counts), draw(counts), draw(counts)), content=tuple(draw(counts) for _ in range(5)),
                focus=tuple((draw(st.sampled_from(sorted(CATEGORIES))), f"问题{i}")
                            for i in range(draw(st.integers(0, 4)))))


@st.composite
def campaigns(draw):
    """(tree, {committee: [branch codes]}, {branch: filing kwargs} for branches that reported)."""
    orgs, committees, filed = [Org("D", "某区", level="区")], {}, {}
    for c in range(draw(st.integers(1, 4))):
        code = f"C{c}"
        orgs.append(Org(code, f"第{c}党委", parent="D", level="党(工)委", group=f"第{c % 2}督导组"))
        committees[code] = []
        for b in range(draw(st.integers(1, 5))):
            branch = f"{code}B{b}"
            orgs.append(Org(branch, f"第{c}党委第{b}党支部", parent=code))
            committees[code].append(branch)
            if draw(st.booleans()) or draw(st.booleans()):  # most branches report
                filed[branch] = draw(branch_filing())
    return OrgTree(orgs), committees, filed


def filings(filed, only=None):
    return [filing_sub(f"in/{b}.xlsx", b, **kw) for b, kw in filed.items() if only is None or b in only]


def summaries(campaign, committees, filed, chosen):
    """Each chosen committee's 统计表, made by rolling up its own branches' files."""
    out = []
    for c in chosen:
        result = rollup(filings(filed, committees[c]), campaign, level=c, as_of=AS_OF)
        rows = {b: result.forms["stats"].units[b] for b in committees[c] if b in filed}
        assert result.forms["stats"].totals == _sum(rows.values())
        out.append(stats_sub(f"in/{c}-summary.xlsx", c, rows))
    return out


def _sum(rows):
    total = dict.fromkeys(STATS_KEYS, 0)
    for row in rows:
        for k, v in row.items():
            total[k] = total.get(k, 0) + v
    return total


@settings(max_examples=60, deadline=None)
@given(campaigns(), st.data())
def test_totals_are_path_independent_and_no_row_is_lost_or_doubled(drawn, data):
    tree, committees, filed = drawn
    campaign = plan_filing_campaign(tree)
    hand = {b: stats_row_from_filing(s) for b, s in zip(filed, filings(filed))}

    direct = rollup(filings(filed), campaign, as_of=AS_OF)
    stats = direct.forms["stats"]
    assert stats.totals == _sum(hand.values())
    for b, row in hand.items():
        assert stats.units[b] == row
    for c, branches in committees.items():
        assert stats.units[c] == _sum(hand[b] for b in branches if b in hand)

    via_summaries = rollup(summaries(campaign, committees, filed, committees), campaign, as_of=AS_OF)
    assert via_summaries.forms["stats"].totals == stats.totals
    assert via_summaries.forms["stats"].units == stats.units

    # Any mix: some committees send summaries, some branches send files too (both ways).
    chosen = data.draw(st.lists(st.sampled_from(sorted(committees)), unique=True))
    also = data.draw(st.sets(st.sampled_from(sorted(filed)))) if filed else set()
    direct_files = {b for b in filed if tree.get(b).parent not in chosen} | also
    mixed = rollup(filings(filed, direct_files) + summaries(campaign, committees, filed, chosen), campaign,
                   as_of=AS_OF, by="督导组")
    assert mixed.forms["stats"].totals == stats.totals
    assert mixed.forms["stats"].units == stats.units
    assert mixed.conflicts == []  # the same figures both ways are not a conflict
    counted = sorted(p.unit for p in mixed.provenance if p.form == "stats")
    assert counted == sorted(filed)  # every reported branch exactly once
    assert _sum(mixed.forms["stats"].groups["督导组"].values()) == stats.totals
    cover = mixed.forms["stats"].coverage["D"]
    assert (cover.expected, cover.reported) == (sum(map(len, committees.values())), len(filed))
    assert cover.on_time <= cover.reported <= cover.expected


def test_committee_summary_workbooks_read_back_give_the_district_totals(tmp_path):
    """Real files: each committee's summary workbook, validated as a stats submission, rolls up to
    exactly the district's figures from the branches' own 备案表."""
    from datetime import datetime

    from zhenggai_xls.demo import build_demo
    from zhenggai_xls.report import write_summary
    from zhenggai_xls.validate import validate_paths

    demo = build_demo(tmp_path / "demo")
    campaign, as_of = demo.campaign, datetime(2012, 6, 26, 9)
    filings = [s for s in validate_paths([demo.inbox], campaign=campaign) if s.form == "filing"]
    district = rollup(filings, campaign, as_of=as_of)
    committees = campaign.orgs.children(campaign.orgs.root.code)
    paths = [write_summary(rollup(filings, campaign, level=c.code, as_of=as_of), tmp_path / f"{c.code}.xlsx")
             for c in committees]
    read_back = [s for s in validate_paths(paths, campaign=campaign) if s.form == "stats"]
    assert sorted(s.unit_code for s in read_back if s.valid) == sorted(c.code for c in committees)
    upward = rollup(read_back, campaign, as_of=as_of, register={str(p): as_of for p in paths})
    assert upward.forms["stats"].totals == district.forms["stats"].totals
    assert upward.forms["stats"].units == district.forms["stats"].units
    assert upward.set_aside == [] and upward.conflicts == []
