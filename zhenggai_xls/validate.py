"""Validate submitted files: read each, find its forms, check them in batches, recognise the unit.

`read_and_locate` is the per-file step: a top-level function of the path
returning a picklable `Located`, so it can later run in a process pool.
Validation then runs ONCE per form for every file of that form (pandera's
per-call cost is large), and unit recognition and the period follow.
One bad file never stops the others; no exception escapes for a file's content.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor, TimeoutError
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pandas as pd

from .campaign import Campaign
from .locate import has_data, locate
from .normalize import Context
from .orgs import OrgTree
from .problems import RULES, Problem, problem
from .read import Limits, ReadError, read_workbook
from .rules import check_across_periods, date_value
from .schema import validate_extracts
from .sniff import is_system_name
from .spec import Spec, find_spec, load_specs
from .status import aligned
from .submission import Extract, Submission

REGISTER_STEM = "收件登记"  # the intake register, written beside the files
FEEDBACK_SUFFIX = "_反馈"  # feedback copies written by `validate --feedback`
WEEK_FIELDS = ("week_end", "week_start")  # a form with these is reported per week


# ---------------------------------------------------------------- which files


def is_own_output(path: Path) -> bool:
    """Hidden, lock and Windows' folder files, the intake register and feedback copies are not submissions."""
    return is_system_name(path.name) or path.stem == REGISTER_STEM or path.stem.endswith(FEEDBACK_SUFFIX)


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """The files to validate: folders walked recursively in name order, our own outputs left out."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(f for f in _files_under(p) if not is_own_output(f))
        else:
            out.append(p)
    return out


def _files_under(folder: Path) -> list[Path]:
    """Files below `folder` in path order, hidden files and folders (and what is in them) left out.
    One scandir per folder: rglob + sort + relative_to cost ~0.15 ms per file, 0.6 s per 4,000."""
    found: list[tuple[tuple[str, ...], str]] = []
    todo: list[tuple[tuple[str, ...], str]] = [((), str(folder))]
    while todo:
        parts, where = todo.pop()
        try:
            with os.scandir(where) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        todo.append(((*parts, entry.name), entry.path))
                    elif entry.is_file():
                        found.append(((*parts, entry.name), entry.path))
        except OSError:  # a folder we may not read: like rglob, go on without it
            continue
    found.sort()
    return [Path(path) for _, path in found]


# ---------------------------------------------------------------- one file


@dataclass
class Located:
    """What reading one file and finding its forms gave: Extracts, or the Problem that stops it."""

    path: Path
    extracts: list[Extract] = field(default_factory=list)
    problem: Problem | None = None


@contextmanager
def collection_paused():
    """Hold off cyclic garbage collection while many small objects are built at once (one file's
    cells, one batch's rows, the summary workbook's cells, a whole run's submissions): they would
    trigger full collections again and again (a third of the time on a 100,000-row ledger, a tenth of
    writing a 300,000-cell summary). Reference counting still frees everything as usual; collection
    resumes right after (a worker process forked meanwhile keeps it off: it lives for the run only)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_and_locate(path: Path | str, form: str | None = None, limits: Limits | None = None) -> Located:
    """Read one file and find its forms; never raises for what the file holds."""
    with collection_paused():
        return _read_and_locate(Path(path), form, limits)


def _read_and_locate(path: Path, form: str | None, limits: Limits | None) -> Located:
    specs = load_specs()
    try:
        workbook = read_workbook(path, limits or Limits())
    except ReadError as exc:
        return Located(path, problem=exc.problem)
    except Exception as exc:  # noqa: BLE001 — the reader's last guard: one bad file never stops the run
        return Located(path, problem=problem("file.corrupt", detail=type(exc).__name__))
    try:
        found = locate(workbook, specs, form)
    except Exception as exc:  # noqa: BLE001 — a file laid out beyond what the locator expects
        return Located(path, problem=problem("file.corrupt", detail=f"无法识别表格结构：{type(exc).__name__}"))
    if isinstance(found, Problem):
        return Located(path, problem=found)
    return Located(path, extracts=found)


# ---------------------------------------------------------------- many files


def validate_paths(paths: Iterable[Path | str], *, form: str | None = None, orgs: OrgTree | None = None,
                   campaign: Campaign | None = None, ctx: Context | None = None,
                   limits: Limits | None = None, progress: Callable[[int], None] | None = None,
                   workers: int | None = None) -> list[Submission]:
    """Validate files and folders; one Submission per form found (rejected ones carry the reason).

    Files are read and validated in chunks, in worker processes on every core
    when there are enough of them (`workers`: how many, default one per core);
    the result is the same, in the same order, however many run.
    `progress(n)` is called as files are read, n the number of files newly read.
    """
    specs = load_specs()
    form_id = find_spec(form, specs).id if form else None  # SpecError (a usage error) for a bad name
    if campaign is not None:
        orgs = orgs or campaign.orgs
        ctx = ctx or Context(year=campaign.year, as_of=date_value(campaign.as_of))
    job = _Job(form_id, limits, orgs, ctx or Context())
    subs: list[Submission] = []
    with collection_paused():  # here and in the workers forked meanwhile: everything lives to the end
        for _, done in _run_chunks(job, expand_paths(paths), workers, progress):
            subs.extend(done)
        _check_across_periods(subs, specs)
    return subs


def validate_located(located: list[Located], specs: Mapping[str, Spec], *, orgs: OrgTree | None = None,
                     ctx: Context | None = None) -> list[Submission]:
    """Validate what `read_and_locate` found, one batch per form, keeping the files' order."""
    subs = _validate_located(located, specs, orgs, ctx)
    _check_across_periods(subs, specs)
    return subs


def _validate_located(located: list[Located], specs: Mapping[str, Spec], orgs: OrgTree | None,
                      ctx: Context | None) -> list[Submission]:
    """All but the checks across periods, which need every file of a unit (validate_paths runs them last)."""
    slots: list[Submission | tuple[str, int]] = []
    batches: dict[str, list[Extract]] = {}
    for item in located:
        if item.problem is not None:
            slots.append(Submission(path=item.path, problems=[item.problem], rejected=True))
            continue
        for ex in item.extracts:
            spec = specs[ex.form]
            if has_data(ex, spec):
                batches.setdefault(ex.form, []).append(ex)
                slots.append((ex.form, len(batches[ex.form]) - 1))
            else:
                slots.append(_unfilled(ex, spec, orgs))
    done = {form: _validate_batch(specs[form], extracts, ctx) for form, extracts in batches.items()}
    for form, subs in done.items():
        for sub, ex in zip(subs, batches[form]):
            recognise_unit(sub, ex, specs[form], orgs)
            sub.period = period_of(sub, specs[form])
    return [done[s[0]][s[1]] if isinstance(s, tuple) else s for s in slots]


def _check_across_periods(subs: list[Submission], specs: Mapping[str, Spec]) -> None:
    """Week-to-week checks over every validated file of each form, in input order."""
    by_form: dict[str, list[Submission]] = {}
    for sub in subs:
        if sub.form and not sub.rejected:
            by_form.setdefault(sub.form, []).append(sub)
    for form, form_subs in by_form.items():
        for sub, found in check_across_periods(specs[form], form_subs):
            sub.problems.append(found)


# ---------------------------------------------------------------- chunks and worker processes

# Starting the workers costs ~0.1 s, and each chunk ~0.1 s of fixed pandera work per form:
# below POOL_MIN_FILES files one process does it all, and each worker gets few, large chunks.
POOL_MIN_FILES = 120
CHUNKS_PER_WORKER = 2
CHUNK_MAX = 1000  # files: bounds the memory a chunk's Extracts take before they are validated


@dataclass(frozen=True)
class _Job:
    """What every chunk of one run needs besides its paths (handed to each worker once)."""

    form: str | None
    limits: Limits | None
    orgs: OrgTree | None
    ctx: Context


def _validate_chunk(job: _Job, paths: list[Path], tick: Callable[[], None]) -> list[Submission]:
    """Read, locate and validate one chunk of files (here or in a worker); `tick` after each file read."""
    located = []
    with collection_paused():  # the chunk's cells all live until it is validated: nothing to collect
        for path in paths:
            located.append(read_and_locate(path, job.form, job.limits))
            tick()
    return _validate_located(located, load_specs(), job.orgs, job.ctx)


_WORKER: tuple[_Job, Any, Any] | None = None  # in a worker process: the run's job, files read, the stop flag


class _Stopped(Exception):
    """The run was given up (Ctrl-C): a worker drops the rest of its chunk."""


def _start_worker(job: _Job, counter: Any, stop: Any) -> None:
    global _WORKER
    _WORKER = (job, counter, stop)


def _worker_tick() -> None:
    _, counter, stop = _WORKER
    if stop.value:
        raise _Stopped
    with counter.get_lock():
        counter.value += 1


def _worker_chunk(paths: list[Path]) -> list[Submission]:
    if _WORKER[2].value:  # a chunk queued before the run was given up: not one file of it read
        raise _Stopped
    # The submissions of one form share one RowBlock of rows: pickled once for all of them.
    return _validate_chunk(_WORKER[0], paths, _worker_tick)


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _chunks(paths: list[Path], count: int) -> list[list[Path]]:
    """`paths` in `count` chunks of about equal size (more when a chunk would exceed CHUNK_MAX)."""
    size = max(1, min(CHUNK_MAX, -(-len(paths) // max(count, 1))))
    return [paths[i:i + size] for i in range(0, len(paths), size)]


def _run_chunks(job: _Job, paths: list[Path], workers: int | None, progress: Callable[[int], None] | None):
    """(chunk, its submissions) in input order; in worker processes when there are enough files.
    `progress(n)` is told of every n files read meanwhile."""
    tell = progress or (lambda n: None)
    workers = cpu_count() if workers is None else max(1, workers)
    if workers == 1 or len(paths) < POOL_MIN_FILES:
        for chunk in _chunks(paths, 1):
            yield chunk, _validate_chunk(job, chunk, lambda: tell(1))
        return
    # fork: workers start at once with everything imported; spawn would import pandas again in each
    fork = "fork" in multiprocessing.get_all_start_methods() and sys.platform == "linux"
    context = multiprocessing.get_context("fork" if fork else None)
    counter, stop = context.Value("q", 0), context.Value("b", 0, lock=False)
    chunks = _chunks(paths, workers * CHUNKS_PER_WORKER)
    told = done = 0
    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                 initargs=(job, counter, stop)) as pool:
            futures = [pool.submit(_worker_chunk, chunk) for chunk in chunks]
            try:
                for chunk, future in zip(chunks, futures):
                    while True:
                        try:
                            subs = future.result(timeout=0.2)
                            break
                        except TimeoutError:
                            told += _tell_read(counter, told, tell)
                    told += _tell_read(counter, told, tell)
                    done += 1
                    yield chunk, subs
            except BaseException:  # Ctrl-C, or the caller stopped: leaving the pool waits for every chunk,
                stop.value = 1  # so each one, begun or not, stops at its next file
                raise
    except BrokenProcessPool:  # a worker died (killed, out of memory): the rest in this process
        tell(sum(map(len, chunks[:done])) - told)
        for chunk in chunks[done:]:
            yield chunk, _validate_chunk(job, chunk, lambda: tell(1))


def _tell_read(counter: Any, told: int, tell: Callable[[int], None]) -> int:
    """Report the files read since last time; return how many that was."""
    new = counter.value - told
    if new > 0:
        tell(new)
    return max(new, 0)


def _validate_batch(spec: Spec, extracts: list[Extract], ctx: Context | None) -> list[Submission]:
    """One validation call for the whole batch; should it fail, file by file so only the culprit is lost."""
    try:
        with collection_paused():
            return validate_extracts(spec, extracts, ctx)
    except Exception:  # noqa: BLE001 — one bad file never stops the others
        return [_validate_one(spec, ex, ctx) for ex in extracts]


def _validate_one(spec: Spec, ex: Extract, ctx: Context | None) -> Submission:
    try:
        return validate_extracts(spec, [ex], ctx)[0]
    except Exception as exc:  # noqa: BLE001
        found = problem("file.corrupt", sheet=ex.sheet, detail=f"校验时无法处理表格内容：{type(exc).__name__}")
        return Submission(path=ex.path, form=spec.id, sheet=ex.sheet, problems=[found], rejected=True)


def _unfilled(ex: Extract, spec: Spec, orgs: OrgTree | None) -> Submission:
    """A blank template sent back: rejected, with the unit still recognised when possible."""
    typed = {k: raw.value for k, raw in ex.fields.items() if raw.value not in (None, "")}
    header_only = any(spec.field(k).place == "header" for k in typed)
    message = ("只填写了表头（填报单位等），表格中没有填写任何数据。" if header_only
               else "表格是空白模板，没有填写任何数据。")
    sub = Submission(path=ex.path, form=spec.id, sheet=ex.sheet, cells={k: r.cell for k, r in ex.fields.items()},
                     columns=dict(ex.columns), rejected=True,
                     problems=[problem("file.unfilled", sheet=ex.sheet, message=message)])
    sub.header = {k: str(v).strip() for k, v in typed.items()}
    recognise_unit(sub, ex, spec, orgs, report=False)
    return sub


# ---------------------------------------------------------------- the unit


def _unit_fields(spec: Spec) -> list[str]:
    """Fields naming the reporting unit: 填报单位 first, then a body field such as 党支部规范全称."""
    units = [f for f in spec.fields if f.role == "unit" and f.place != "table"]
    return [f.key for f in sorted(units, key=lambda f: f.place != "header")]


def _typed(value: Any) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)) \
        else str(value).strip()


def recognise_unit(sub: Submission, ex: Extract, spec: Spec, orgs: OrgTree | None, report: bool = True) -> None:
    """Set the submission's unit from the template's metadata, else from the typed unit name."""
    code = ex.metadata.get("unit_code")
    if code and (orgs is None or code in orgs):
        org = orgs.get(code) if orgs is not None else None
        sub.unit_code, sub.unit_basis = code, "metadata"
        sub.unit_name = org.name if org else ex.metadata.get("unit_name") or sub.unit_name
    else:
        _unit_from_name(sub, ex, spec, orgs, report)
    if report:
        _row_units(sub, spec, orgs)


def _unit_from_name(sub: Submission, ex: Extract, spec: Spec, orgs: OrgTree | None, report: bool) -> None:
    keys = _unit_fields(spec)
    typed = [(k, _typed(sub.header.get(k)) or _typed(ex.fields[k].value if k in ex.fields else None))
             for k in keys]
    typed = [(k, name) for k, name in typed if name]
    if not typed:
        sub.unit_name = None
        key = keys[0] if keys else None
        cell = ex.fields[key].cell if key in ex.fields else None
        if report and key and not any(p.cell == cell and p.rule == "value.required" for p in sub.problems):
            sub.problems.append(problem("unit.missing", sheet=ex.sheet, cell=cell, field=spec.field(key).full_label))
        return
    sub.unit_name = typed[0][1]
    if orgs is None:
        return
    for _, name in typed:
        hit = orgs.match(name)
        if hit:
            org, basis = hit
            sub.unit_code, sub.unit_name, sub.unit_basis = org.code, org.name, basis
            return
    if report:
        key, name = typed[0]
        sub.problems.append(_unknown(orgs, name, ex.sheet, ex.fields[key].cell if key in ex.fields else None,
                                     spec.field(key).full_label))


def _unknown(orgs: OrgTree, name: str, sheet: str | None, cell: str | None, label: str) -> Problem:
    closest = orgs.closest(name)
    hint = f"（是否应为“{closest}”？）" if closest else ""
    return problem("unit.unknown", sheet=sheet, cell=cell, field=label, value=name, hint=hint)


def _row_units(sub: Submission, spec: Spec, orgs: OrgTree | None) -> None:
    """One row per branch (stats): each row's branch name matched to its org code in `_unit`."""
    key = spec.table.unit_field if spec.table else None
    if not key or key not in sub.rows.columns:
        return
    codes: list[str | None] = []
    for name, row in zip(sub.rows[key], sub.rows["_row"]):
        text = _typed(name)
        hit = orgs.match(text) if orgs is not None and text else None
        codes.append(hit[0].code if hit else None)
        if orgs is not None and text and not hit:
            cell = f"{sub.columns[key]}{int(row)}" if key in sub.columns else None
            sub.problems.append(_unknown(orgs, text, sub.sheet, cell, spec.field(key).full_label))
    sub.rows["_unit"] = pd.array(codes, dtype="string")


# ---------------------------------------------------------------- the period


def period_of(sub: Submission, spec: Spec) -> str | None:
    """Weekly forms: the ISO date of the Friday of the week reported (本周截止日期, else 填报日期)."""
    keys = {f.key for f in spec.fields}
    if not any(k in keys for k in WEEK_FIELDS):
        return None
    day = next((d for d in (date_value(sub.header.get(k)) for k in (*WEEK_FIELDS, "report_date")) if d), None)
    if day is None:
        return None
    return (day - timedelta(days=day.weekday()) + timedelta(days=4)).isoformat()


# ---------------------------------------------------------------- reporting


SEVERITY_WORDS = {"error": "错误", "warning": "警告"}
REPORT_COLUMNS = ("级别", "工作表", "单元格", "栏目", "填写内容", "问题")


def report_json(submissions: list[Submission]) -> dict:
    """The `validate --json` document: {"files": [Submission.as_dict(), …]}."""
    return {"files": [s.as_dict() for s in submissions]}


def _clip(text: str, limit: int = 24) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


BASIS_WORDS = {"metadata": "按模板内置的单位代码", "name": "按规范全称", "alias": "按简称{typed}",
               "fuzzy": "按近似名称{typed}", "sender": "按发件邮箱"}


def _unit_text(sub: Submission) -> str:
    """'清溪镇清溪村党支部（04，按近似名称“清溪村党支部”识别）': the unit and how it was recognised."""
    unit = sub.unit_name or "（未识别单位）"
    if not sub.unit_code:
        return unit
    words = BASIS_WORDS.get(sub.unit_basis)
    if not words:
        return f"{unit}（{sub.unit_code}）"
    keys = _unit_fields(load_specs()[sub.form]) if sub.form else []
    typed = next((t for t in (_typed(sub.header.get(k)) for k in keys) if t and t != unit), "")
    return f"{unit}（{sub.unit_code}，{words.format(typed=f'“{typed}”' if typed else '')}识别）"


def _file_verdict(sub: Submission) -> str:
    """What kept a file from being read as a form: its file-level problem's title (表单不符, 文件已损坏…)."""
    rule = next((p.rule for p in sub.problems if p.rule.startswith("file.")), None)
    return RULES[rule].title if rule else "未识别表单"


def format_report(submissions: list[Submission]) -> str:
    """A readable report: one block per file and form, its problems as a table."""
    blocks = []
    for sub in submissions:
        errors = sum(p.severity == "error" for p in sub.problems)
        warnings = len(sub.problems) - errors
        unit = _unit_text(sub)
        form = load_specs()[sub.form].title if sub.form else f"（{_file_verdict(sub)}）"
        mark = "√" if sub.valid else "×"  # as clerks mark; ✓ and ✗ are not in GBK
        verdict = "通过" if sub.valid else ("退回" if sub.rejected else "有错误")
        counts = f"{errors} 个错误，{warnings} 个警告" if sub.problems else "无问题"
        lines = [f"{mark} {sub.path}  {form}  {unit}  {verdict}（{counts}）"]
        if sub.problems:
            rows = [REPORT_COLUMNS] + [
                (SEVERITY_WORDS.get(p.severity, p.severity), p.sheet or "", p.cell or "", p.field or "",
                 _clip(p.value or ""), p.message) for p in sub.problems]
            lines += ["    " + line for line in aligned(rows)]
        blocks.append("\n".join(lines))
    valid = sum(s.valid for s in submissions)
    blocks.append(f"共 {len(submissions)} 份：{valid} 份通过，{len(submissions) - valid} 份有错误或被退回。")
    return "\n\n".join(blocks)


def per_file(submissions: list[Submission]) -> list[Submission]:
    """One Submission per file with problems (a file holding two forms: their problems together)."""
    merged: dict[Path, Submission] = {}
    for sub in submissions:
        if not sub.problems:
            continue
        if sub.path not in merged:
            merged[sub.path] = Submission(path=sub.path, form=sub.form, sheet=sub.sheet, unit_code=sub.unit_code,
                                          unit_name=sub.unit_name, rejected=sub.rejected)
        merged[sub.path].problems.extend(sub.problems)
    return list(merged.values())


# Problems meaning the file is no workbook at all: there is nothing to mark up.
UNREADABLE = frozenset({"file.empty", "file.not_workbook", "file.corrupt", "file.encrypted", "file.too_large",
                        "file.too_many_cells", "file.zip_bomb"})


def write_feedback_copies(submissions: list[Submission], out_dir: Path | str) -> tuple[list[Path], list[str]]:
    """A marked copy of every readable file with problems; (paths written, notes on files that got none)."""
    from .feedback import free_feedback_path, write_feedback

    written: list[Path] = []
    notes: list[str] = []
    for sub in per_file(submissions):
        if any(p.rule in UNREADABLE for p in sub.problems):
            continue
        target = free_feedback_path(sub, Path(out_dir), set(written))
        try:
            written.append(write_feedback(sub, out_dir, target))
        except Exception as exc:  # noqa: BLE001 — one file's copy failing never stops the others
            notes.append(f"{sub.path}：未能生成反馈表（{exc}）")
    return written, notes
