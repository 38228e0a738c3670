"""Rows shared in a RowBlock (how worker processes send them back) read exactly like a DataFrame's rows."""
from __future__ import annotations

import pickle

import pandas as pd
import pytest

from zhenggai_xls.demo import as_of, build_demo
from zhenggai_xls.rollup import inbox_register, rollup
from zhenggai_xls.validate import validate_paths


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's real files: filings, committees' 统计表 (a row per branch), ledgers with dates."""
    return build_demo(tmp_path_factory.mktemp("demo") / "演示")


def _shared(subs):
    """The submissions as a worker sends them back (validation leaves each form's rows in one block)."""
    return pickle.loads(pickle.dumps(subs))


def _framed(subs):
    """The submissions with a DataFrame of their own each (the plain path the shared one must equal)."""
    for sub in subs:
        sub.rows  # noqa: B018 — reading rows cuts the submission's own frame out of the block
    return subs


def _typed(values):
    return [(type(v).__name__, repr(v)) for v in values]  # NA != NA: compare what each value is


def _everything(result):
    return repr((result.as_json(), result.forms, result.statuses, result.overdue, result.provenance,
                 result.superseded, [s.path for s in result.invalid], result.set_aside, result.conflicts,
                 result.findings, result.shortfalls, result.weekly_rates))


def test_shared_rows_give_the_values_dates_and_records_of_the_frame(demo):
    shared = _shared(validate_paths([demo.inbox], campaign=demo.campaign, workers=1))
    plain = _framed(_shared(shared))
    assert any(s._rows is None for s in shared)  # the fast path is taken
    tables = 0
    for a, b in zip(plain, shared):
        assert list(b.row_names()) == list(a.rows.columns) and b.row_count() == len(a.rows)
        for column in a.rows.columns:
            assert _typed(b.row_values(column)) == _typed(a.rows[column].to_numpy(dtype=object).tolist())
            assert b.row_dates(column) == a.row_dates(column)
        assert _typed(b.row_values("no_such_column")) == _typed([None] * len(a.rows))
        frame_records = [dict(zip(a.rows.columns, r)) for r in a.rows.to_numpy(dtype=object).tolist()]
        assert repr(b.records()) == repr(frame_records) == repr(a.records())
        tables += "deadline" in a.rows.columns and a.rows["deadline"].notna().any()
    assert tables >= 10  # real dates were compared, not only blanks


def test_roll_up_of_shared_rows_equals_the_roll_up_of_frames(demo):
    shared = _shared(validate_paths([demo.inbox], campaign=demo.campaign, workers=1))
    plain = _framed(_shared(shared))
    lazy = [s for s in shared if s._rows is None]
    register = inbox_register(demo.inbox)
    one = rollup(plain, demo.campaign, as_of=as_of(demo.campaign.year), register=register)
    two = rollup(shared, demo.campaign, as_of=as_of(demo.campaign.year), register=register)
    assert one.overdue and one.conflicts and one.provenance  # the demo exercises every path
    assert _everything(two) == _everything(one)
    assert lazy and all(s._rows is None for s in lazy)  # the roll-up built no frame of its own


def test_a_shared_submissions_frame_is_its_own_and_edits_are_seen(demo):
    shared = _shared(validate_paths([demo.inbox], campaign=demo.campaign, workers=1))
    plain = _framed(_shared(shared))
    a, b = next((a, b) for a, b in zip(plain, shared) if len(a.rows) >= 2 and "status" in a.rows)
    pd.testing.assert_frame_equal(b.rows, a.rows)  # same values, dtypes and a 0-based index
    edited = "未启动" if a.rows["status"].iloc[1] == "已完成" else "已完成"
    b.rows.loc[1, "status"] = edited
    assert b.row_values("status")[1] == edited and b.records()[1]["status"] == edited
    assert a.rows["status"].iloc[1] != edited  # the edit stays with its submission
    for x, y in zip(plain, shared):  # ... and the others cut from the same block still read their own rows
        if y is not b and "status" in x.rows:
            assert _typed(y.row_values("status")) == _typed(x.rows["status"].to_numpy(dtype=object).tolist())
    b.rows = a.rows.iloc[:1]
    assert b.row_count() == 1 and len(b.records()) == 1
