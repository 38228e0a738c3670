"""pandera schemas derived from the specs, and validating many files of one form in one call.

`validate_extracts` normalises every file's values column by column, puts
all files' table rows in ONE frame (provenance columns `_file`, `_pos`,
`_row`) and all files' header/line values in a second frame (one row per
file), runs each cached schema once with `lazy=True`, and maps the failures
back to file, sheet and A1 cell. pandera's per-call cost is large, so one
call per form, never one per file (DESIGN §4).

Schema per (spec, place, severity): columns with nullable dtypes (`Int64`,
`string`, datetime), `nullable=False` for required fields, and the spec's
rules as dataframe-wide checks named ``rule:<index>``. Warnings are not
collected by lazy validation together with errors, so warning rules form a
second schema. Failures are filtered before they become problems: a cell
that already failed normalising (or a field the locator did not find)
yields no `value.required` and no rule problem.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field, replace
from functools import partial
from itertools import chain
from operator import itemgetter
from typing import Any, Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from . import rules as R
from .normalize import (WHAT_TO_TYPE, Context, Deadline, context_key, is_blank, normalize_cell,
                        normalize_column, normalize_plain_column)
from .problems import Problem, problem
from .spec import Field, Spec
from .submission import Extract, RawCell, RowBlock, Submission

PROVENANCE = ("_file", "_pos", "_row", "_summary")
_SCHEMAS: dict[tuple, tuple[Spec, pa.DataFrameSchema]] = {}


# ---------------------------------------------------------------- schemas


def _dtype(f: Field) -> Any:
    if f.type in ("count", "mark"):
        return "Int64"
    if f.type in ("date", "deadline"):
        return pa.DateTime
    return "string"


def _columns(fields: Sequence[Field], severity: str) -> dict[str, pa.Column]:
    columns: dict[str, pa.Column] = {}
    for f in fields:
        required = f.required and severity == "error"
        if f.type == "deadline":
            columns[f.key] = pa.Column(_dtype(f), nullable=True)
            columns[f"{f.key}_kind"] = pa.Column("string", nullable=not required,
                                                 checks=pa.Check.isin(("date", "立行立改", "长期坚持")))
        else:
            columns[f.key] = pa.Column(_dtype(f), nullable=not required)
    return columns


def place_fields(spec: Spec, place: str) -> tuple[Field, ...]:
    """The fields of the rows frame ("rows") or the header frame ("header")."""
    if place == "rows":
        return spec.table.fields if spec.table else ()
    return tuple(f for f in spec.fields if f.place != "table")


def place_rules(spec: Spec, place: str) -> list[tuple[int, Any]]:
    """(index, rule) of the spec's per-file rules checked on that frame."""
    return [(i, r) for i, r in enumerate(spec.rules)
            if r.kind in R.PER_FILE_KINDS and R.is_row_rule(spec, r) == (place == "rows")]


def build_schema(spec: Spec, place: str, severity: str) -> pa.DataFrameSchema:
    """The pandera schema of one frame of a form, for rules of one severity."""
    columns = _columns(place_fields(spec, place), severity) if severity == "error" else {}
    checks = [pa.Check(partial(R.passes, rule), name=f"rule:{i}", ignore_na=False)
              for i, rule in place_rules(spec, place) if rule.severity == severity]
    return pa.DataFrameSchema(columns, checks=checks, strict=False, name=f"{spec.id}:{place}:{severity}")


def schema_for(spec: Spec, place: str, severity: str) -> pa.DataFrameSchema:
    """`build_schema`, built once per spec object."""
    key = (id(spec), place, severity)
    cached = _SCHEMAS.get(key)
    if cached is None or cached[0] is not spec:
        cached = _SCHEMAS[key] = (spec, build_schema(spec, place, severity))
    return cached[1]


def schema_failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """pandera's failure cases (schema_context, column, check, index …); empty when valid."""
    if not schema.columns and not schema.checks:
        return pd.DataFrame(columns=["column", "check", "index"])
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        return exc.failure_cases
    return pd.DataFrame(columns=["column", "check", "index"])


# ---------------------------------------------------------------- building the frames


def _array(f: Field, values: list[Any]) -> pd.api.extensions.ExtensionArray | np.ndarray:
    dtype = _dtype(f)
    if dtype is pa.DateTime:
        return pd.array(values, dtype="datetime64[ns]")
    return pd.array(values, dtype=dtype)


def _add_column(data: dict[str, Any], f: Field, values: list[Any]) -> None:
    """The frame column(s) of one field: a deadline gives `<key>` (date) and `<key>_kind`."""
    if f.type == "deadline":
        data[f.key] = pd.array([d.date if isinstance(d, Deadline) else None for d in values],
                               dtype="datetime64[ns]")
        data[f"{f.key}_kind"] = pd.array([d.kind if isinstance(d, Deadline) else None for d in values],
                                         dtype="string")
    else:
        data[f.key] = _array(f, values)


def _is_summary(ex: Extract, ctx: Context) -> bool:
    flag = str(ex.metadata.get("summary", "")).strip().lower()
    return ctx.summary or flag in ("1", "true", "yes", "是")


@dataclass
class _Batch:
    """Everything known about a batch of files of one form while validating it."""

    spec: Spec
    extracts: list[Extract]
    contexts: list[Context]
    problems: list[list[Problem]]
    header: pd.DataFrame = None
    header_values: dict[str, list[Any]] = dc_field(default_factory=dict)
    header_bad: list[set[str]] = dc_field(default_factory=list)
    rows: pd.DataFrame = None
    rows_raw: list[dict[str, RawCell]] = dc_field(default_factory=list)
    rows_bad: dict[int, set[str]] = dc_field(default_factory=dict)

    def add(self, file: int, found: Problem) -> None:
        self.problems[file].append(replace(found, sheet=self.extracts[file].sheet))


def _normalize_header(b: _Batch, ctx: Context) -> None:
    """One row per file: header and line fields; each file's year comes from its report date."""
    n = len(b.extracts)
    fields = place_fields(b.spec, "header")
    b.header_bad = [set() for _ in range(n)]
    order = sorted(fields, key=lambda f: f.key != "report_date")  # the report date sets the year
    data: dict[str, Any] = {}
    for f in order:
        raws = [ex.fields.get(f.key) for ex in b.extracts]
        values, found = normalize_column(f, raws, ctx, b.contexts)
        for i, raw in enumerate(raws):
            if raw is None:
                b.header_bad[i].add(f.key)
        for i, p in found.items():
            b.add(i, p)
            if values[i] is None:
                b.header_bad[i].add(f.key)
        b.header_values[f.key] = values
        _add_column(data, f, values)
        if f.key == "report_date":
            b.contexts = [replace(c, year=c.default_year(v)) for c, v in zip(b.contexts, values)]
    b.header = pd.DataFrame({k: data[k] for f in fields for k in (f.key, f"{f.key}_kind") if k in data},
                            index=pd.RangeIndex(n))


def _input_fields(spec: Spec) -> list[Field]:
    """The table fields that make a row non-blank: all but 序号.

    On a preset-row table the preset item counts, so a preset row with blank
    inputs stays in as "not filled" (its required inputs are reported).
    """
    return [f for f in spec.table.fields if f.label != "序号"]


def _row_cells(ex: Extract, pos: int, located: list[tuple[str, str]]) -> dict[str, RawCell]:
    """One row's raw cells; a located column without an entry in the row is a blank cell there."""
    row = ex.rows[pos]
    number = ex.row_numbers[pos] if pos < len(ex.row_numbers) else None
    cells = dict(row)
    for key, letter in located:
        if key not in cells and number is not None:
            cells[key] = RawCell(None, f"{letter}{number}")
    return cells


def _is_filled(raw: RawCell | None) -> bool:
    """A cell that makes its row count: an error, a formula, or a value that is not blank."""
    return raw is not None and (raw.error or raw.formula_without_value or not is_blank(raw.value))


def _file_cells(ex: Extract, fields: Sequence[Field]) -> tuple[list[dict[str, RawCell]], list[RawCell | None]]:
    """(rows, their raw cells of `fields` row after row): a located column without an entry in a
    row is a blank cell there; None for a field the file lacks. Read row after row, in the order
    the cells lie in memory, not once per column."""
    keys = [f.key for f in fields]
    if len(keys) > 1:
        try:
            return ex.rows, list(chain.from_iterable(map(itemgetter(*keys), ex.rows)))
        except KeyError:
            pass
    located = [(f.key, ex.columns[f.key]) for f in fields if f.key in ex.columns]
    wanted = frozenset(key for key, _ in located)
    rows = [row if wanted.issubset(row) else _row_cells(ex, pos, located) for pos, row in enumerate(ex.rows)]
    return rows, [row.get(key) for row in rows for key in keys]


def _filled_rows(flat: list[RawCell | None], values: list[Any] | None, count: int, inputs: list[int]) -> list[bool]:
    """Which of the `count` rows of `flat` have a filled input cell (offsets `inputs` in a row).

    With `values` (every cell present and plain) the first input decides most rows at once."""
    if not count:
        return []
    width = len(flat) // count
    filled, rest = [False] * count, inputs
    if values is not None and inputs and width:
        first = values[inputs[0]::width]
        try:  # each distinct value judged once (its text's hash is kept for normalising it next)
            judged = dict.fromkeys(first)
        except TypeError:  # an unhashable value
            judged = None
        if judged is not None:
            for value in judged:
                judged[value] = not is_blank(value)
            filled = list(map(judged.__getitem__, first))
            rest = inputs[1:]
    for r in [r for r, f in enumerate(filled) if not f]:
        filled[r] = any(_is_filled(flat[r * width + k]) for k in rest)
    return filled


def _normalize_rows(b: _Batch, ctx: Context) -> None:
    """All files' table rows in one frame, blank rows left out."""
    spec = b.spec
    fields = place_fields(spec, "rows")
    keys = [f.key for f in fields]
    n = len(keys)
    # Required inputs first: most rows are seen to be filled at the first one.
    inputs = [keys.index(f.key) for f in sorted(_input_fields(spec), key=lambda f: not f.required)] \
        if spec.table else []
    files, positions, excel_rows, flat = [], [], [], []
    b.rows_raw = []
    for i, ex in enumerate(b.extracts):
        rows, cells = _file_cells(ex, fields)
        files += [i] * len(rows)
        positions += range(len(rows))
        numbers = ex.row_numbers
        excel_rows += numbers[:len(rows)] + [0] * (len(rows) - len(numbers))
        b.rows_raw += rows
        flat += cells
    try:  # every cell present, none an error value or a formula without one: the common case
        values = list(map(itemgetter(0), flat))
        plain = not any(map(itemgetter(2), flat)) and not any(map(itemgetter(3), flat))
    except TypeError:  # a row without a cell of a column (the locator reported it missing)
        values, plain = None, False
    filled = _filled_rows(flat, values if plain else None, len(files), inputs)
    if not all(filled):  # blank rows left out
        kept = [r for r, f in enumerate(filled) if f]
        files, positions, excel_rows = ([seq[r] for r in kept] for seq in (files, positions, excel_rows))
        b.rows_raw = [b.rows_raw[r] for r in kept]
        flat = [flat[r * n + k] for r in kept for k in range(n)]
        values = [values[r * n + k] for r in kept for k in range(n)] if plain else None
    file_index = np.asarray(files, dtype=np.int64)
    # Files whose contexts normalise alike (same year, not a summary): one context for every row.
    alike = len({context_key(c) for c in b.contexts}) <= 1
    contexts = None if alike else [b.contexts[i] for i in files]
    ctx = b.contexts[0] if alike and b.contexts else ctx
    data: dict[str, Any] = {
        "_file": file_index, "_pos": np.asarray(positions, dtype=np.int64),
        "_row": np.asarray(excel_rows, dtype=np.int64),
        "_summary": np.asarray([c.summary for c in b.contexts], dtype=bool)[file_index],
    }
    for k, f in enumerate(fields):
        raws = flat[k::n]
        if plain:
            column, found = normalize_plain_column(f, values[k::n], raws, ctx, contexts)
        else:
            column, found = normalize_column(f, raws, ctx, contexts)
            for j in (j for j, raw in enumerate(raws) if raw is None):
                b.rows_bad.setdefault(j, set()).add(f.key)
        for j, p in found.items():
            b.add(files[j], p)
            if column[j] is None:
                b.rows_bad.setdefault(j, set()).add(f.key)
        _add_column(data, f, column)
    # Row rules may name header fields (ledger: 完成时间 not after 填报日期): broadcast them.
    table_keys = {f.key for f in fields}
    for _, rule in place_rules(spec, "rows"):
        for key in rule.fields():
            for col in (key, f"{key}_kind"):
                if key not in table_keys and col in b.header and col not in data:
                    data[col] = b.header[col].array.take(file_index)
    b.rows = pd.DataFrame(data, index=pd.RangeIndex(len(files)))


# ---------------------------------------------------------------- failures -> problems


def _labels(spec: Spec) -> dict[str, str]:
    return {f.key: f.full_label for f in spec.fields}


def _field_key(column: Any) -> str:
    column = str(column)
    return column[: -len("_kind")] if column.endswith("_kind") else column


def _header_view(b: _Batch, i: int, labels: dict[str, str]) -> R.RowView:
    values = {k: v[i] for k, v in b.header_values.items()}
    for k, v in list(values.items()):
        if isinstance(v, Deadline):
            values[k], values[f"{k}_kind"] = v.date, v.kind
    return R.RowView(b.extracts[i].sheet, values, b.extracts[i].fields, b.header_bad[i], labels)


def _row_view(b: _Batch, j: int, record: dict[str, Any], labels: dict[str, str]) -> R.RowView:
    i = int(record["_file"])
    head = _header_view(b, i, labels)
    raws = {**b.extracts[i].fields, **b.rows_raw[j]}
    return R.RowView(b.extracts[i].sheet, {**head.values, **record}, raws,
                     head.bad | b.rows_bad.get(j, set()), labels)


def _required(b: _Batch, view: R.RowView, file: int, key: str) -> None:
    if key in view.bad or key not in view.raws:
        return  # failed normalising, or the locator reported the field missing
    f = b.spec.field(key)
    what = "或".join(f"“{v}”" for v in f.choice_values) if f.choices else WHAT_TO_TYPE[f.type]
    b.add(file, problem("value.required", cell=view.cell(key), field=f.full_label,
                        value=view.typed(key), what=what))


def _apply_failures(b: _Batch, place: str, failures: pd.DataFrame) -> None:
    """Turn pandera's failure cases of one frame into problems at the right cells."""
    failures = failures[["column", "check", "index"]].dropna(subset=["index"])
    if failures.empty:
        return
    failures = failures.assign(check=failures["check"].astype(str), index=failures["index"].astype(int))
    is_rule = failures["check"].str.startswith("rule:")
    # A dataframe-wide check reports every column of a failing row: once per row is enough.
    rule_cases = failures[is_rule].drop_duplicates(["check", "index"])
    null_cases = failures[failures["check"] == "not_nullable"].drop_duplicates(["column", "index"])
    labels = _labels(b.spec)
    rules = dict(place_rules(b.spec, place))
    frame = b.rows if place == "rows" else b.header
    needed = sorted(set(rule_cases["index"]) | set(null_cases["index"]))
    records = dict(zip(needed, frame.iloc[needed].to_dict("records")))

    def view(j: int) -> R.RowView:
        return _row_view(b, j, records[j], labels) if place == "rows" else _header_view(b, j, labels)

    def file_of(j: int) -> int:
        return int(records[j]["_file"]) if place == "rows" else j

    for column, j in null_cases[["column", "index"]].itertuples(index=False):
        _required(b, view(j), file_of(j), _field_key(column))
    for check, j in rule_cases[["check", "index"]].itertuples(index=False):
        b.problems[file_of(j)].extend(R.explain(rules[int(check[5:])], view(j)))


def _validate_frames(b: _Batch) -> None:
    for place, frame in (("header", b.header), ("rows", b.rows)):
        if frame is None or frame.empty:
            continue
        for severity in ("error", "warning"):
            _apply_failures(b, place, schema_failures(schema_for(b.spec, place, severity), frame))


def _check_total_rows(b: _Batch) -> None:
    spec = b.spec
    if not spec.table:
        return
    counted = [f.key for f in spec.table.fields if f.type in ("count", "mark")]
    sums = b.rows.groupby("_file")[counted].sum() if counted and not b.rows.empty else None
    bad_files: dict[int, set[str]] = {}
    for j, keys in b.rows_bad.items():
        bad_files.setdefault(int(b.rows["_file"].iat[j]), set()).update(keys)
    for i, ex in enumerate(b.extracts):
        if not ex.total_row:
            continue
        file_sums = {}
        for key in counted:
            if key in bad_files.get(i, set()) or key not in ex.columns:
                file_sums[key] = None
            else:
                file_sums[key] = int(sums.at[i, key]) if sums is not None and i in sums.index else 0
        norm = partial(normalize_cell, ctx=b.contexts[i])
        b.problems[i].extend(R.total_row_problems(spec, ex.total_row, file_sums, ex.sheet, norm))


# ---------------------------------------------------------------- submissions


def _headers(b: _Batch) -> list[dict[str, Any]]:
    """Each file's header dict: a deadline as its date plus `<key>_kind`; built column by column."""
    deadlines = {f.key for f in place_fields(b.spec, "header") if f.type == "deadline"}
    columns: dict[str, list[Any]] = {}
    for key, values in b.header_values.items():
        if key in deadlines:
            columns[key] = [v.date if isinstance(v, Deadline) else v for v in values]
            columns[f"{key}_kind"] = [v.kind if isinstance(v, Deadline) else None for v in values]
        else:
            columns[key] = values
    keys = list(columns)
    return [dict(zip(keys, values)) for values in zip(*columns.values())] if keys else [{} for _ in b.extracts]


def _submissions(b: _Batch) -> list[Submission]:
    spec = b.spec
    keep = [c for c in b.rows.columns if c not in PROVENANCE and c in _row_columns(spec)] + ["_row"]
    # One block of rows for the batch; each file's rows are a span of it (rows were added file by
    # file), cut into a DataFrame of its own only when something asks for one.
    block = RowBlock(b.rows[keep])
    bounds = np.searchsorted(b.rows["_file"].to_numpy(), np.arange(len(b.extracts) + 1)).tolist()
    unit_key = _unit_key(spec)
    out = []
    for i, (ex, header) in enumerate(zip(b.extracts, _headers(b))):
        unit_name = header.get(unit_key) if unit_key else None
        sub = Submission(
            path=ex.path, form=spec.id, sheet=ex.sheet, unit_name=unit_name, header=header, rows=None,
            cells={k: raw.cell for k, raw in ex.fields.items()}, columns=dict(ex.columns),
            problems=list(ex.problems) + sorted(b.problems[i], key=R.sort_key),
        )
        sub.share_rows(block, bounds[i], bounds[i + 1])
        out.append(sub)
    return out


def _row_columns(spec: Spec) -> set[str]:
    keys = set()
    for f in place_fields(spec, "rows"):
        keys.add(f.key)
        if f.type == "deadline":
            keys.add(f"{f.key}_kind")
    return keys


def _unit_key(spec: Spec) -> str | None:
    """The field naming the unit: a body field with role unit (filing's 党支部), else the header's."""
    units = [f for f in spec.fields if f.role == "unit" and f.place != "table"]
    body = [f for f in units if f.place == "line"]
    return (body or units or [None])[0].key if (body or units) else None


def validate_extracts(spec: Spec, extracts: list[Extract], ctx: Context | None = None) -> list[Submission]:
    """Normalise and validate many files of one form in one pass; one Submission per Extract."""
    ctx = ctx or Context()
    extracts = list(extracts)
    contexts = [replace(ctx, summary=_is_summary(ex, ctx)) for ex in extracts]
    b = _Batch(spec, extracts, contexts, [[] for _ in extracts])
    _normalize_header(b, ctx)
    _normalize_rows(b, ctx)
    _validate_frames(b)
    _check_total_rows(b)
    return _submissions(b)
