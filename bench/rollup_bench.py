"""How fast `zhenggai validate` and `zhenggai rollup` go on thousands of submissions, against the naive way.

Run:  python bench/rollup_bench.py --units 2000 --rows 40
      python bench/rollup_bench.py --big-ledger 100000      (one 100,000-row 整改清单)

Generates (once, cached under the temp dir keyed by N/R) a `plan-filing`
campaign whose org tree has N 党支部 under N/25 党(工)委, and an inbox with N
filled 整改方案备案表 (filing) and N filled 整改清单 (ledger, R rows each):
Chinese text, dates typed as dates and as text (2012年12月底, 11月17日前,
立行立改), full-width digits, short names instead of full ones, files without
the template's metadata, a few late and a few invalid ones. Variants are drawn
with `demo.write_filled`; each unit's file is a variant stamped with its name
and code (zip members copied, placeholders replaced), so 2×2000 files take
seconds.

Then it times, each in its own process:
  naive     pandas.read_excel(engine="openpyxl") per file, concat, groupby sums,
            to_excel with openpyxl (what a Python user writes first);
  floor     python-calamine reading every sheet of every file (to_python()), nothing else;
  validate  `zhenggai validate INBOX --campaign CAMPAIGN` as a clerk runs it;
  rollup    `zhenggai rollup INBOX --campaign CAMPAIGN -o …` as a clerk runs it
            (the package byte-compiled first, as an installed copy is);
Each stage runs --repeat times (default 3), the stages in turn. Seconds are
each stage's fastest run (as timeit keeps its minimum); the ratios are the
median over rounds of each round's own ratio, as the stages of a round run
back to back and these machines' speed drifts by half within an hour (the
fastest runs of two stages may come from rounds far apart). It prints
seconds, ms per file, CPU time, speed-up over the naive way, cost over the
floor and peak memory (the highest of any run). Peak memory is the largest
sum of the resident set sizes (RSS from /proc/PID/statm) of the stage's
process and all its descendants, sampled every 50 ms (a sample walks /proc,
~2.5 ms of CPU: more often would take a share of a 2-core machine from the
stage measured); pages shared between processes are counted once per
process, so it is an upper bound. CPU s is the user + system time of the
stage's whole process tree (worker processes included).
"""
from __future__ import annotations

import argparse
import html
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

DATA_VERSION = 1  # bump when the generated data changes: the cache is keyed by it
PER_COMMITTEE = 25  # 党支部 per 党(工)委
VARIANTS = 97  # distinct filled workbooks per form; units take them in turn (prime: no pattern per 党委)
NAME, CODE, ALIAS = "UNITNAME_PLACEHOLDER", "UNITCODE_PLACEHOLDER", "UNITALIAS_PLACEHOLDER"
SAMPLE_EVERY = 0.05  # seconds between memory samples
HEADER_ROW = 4  # 0-based row of the ledger's column labels in write_filled's layout (naive reader)

TOWNS = ("李渡", "龙潭", "白涛", "珍溪", "清溪", "南沱", "焦石", "蔺市", "新妙", "石沱", "義和", "罗云", "武陵山",
         "大木", "青羊", "同乐", "马武", "增福", "江东", "江北", "崇义", "荔枝", "敦仁", "马鞍", "龙桥", "百胜",
         "石和", "丛林", "天台", "太和", "永安", "新村", "明家", "梓里", "安镇", "双河", "兴华", "镇安", "罗家",
         "凤阳", "长安", "金鸡", "高峰", "仁义", "临江", "观音", "杨柳", "桂花", "向阳", "东风")
FIRST = "青石龙凤白马新安永丰金银华兴福寿长乐和太东西南北中上下大小高"
SECOND = "山桥溪坪湾岭坝塘沟林园河湖田庄岗台坡冲峰口滩洞堡关"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("建国", "晓燕", "志强", "红梅", "明", "丽", "建华", "秀英", "伟", "芳", "军", "敏", "海燕", "德明", "春花")


# ---------------------------------------------------------------- the campaign


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    alias: str
    parent: str


def unit_tree(units: int) -> tuple[list[list[str]], list[Unit]]:
    """org-tree rows (header first) for `units` 党支部 under ceil(units/25) 党(工)委, and the branches."""
    rng = random.Random(units)
    rows = [["组织代码", "组织名称", "简称/别名", "上级组织代码", "层级", "类型", "督导组", "联系人", "联系电话", "邮箱"],
            ["001", "中共重庆市涪陵区委员会", "涪陵区委", "", "区", "机关", "", "陈建国", "023-72220001",
             "huodongban@example.org"]]
    places = sorted({a + b for a in FIRST for b in SECOND})
    rng.shuffle(places)
    branches: list[Unit] = []
    committees = -(-units // PER_COMMITTEE)
    for c in range(committees):
        town = TOWNS[c % len(TOWNS)] + ("" if c < len(TOWNS) else str(c // len(TOWNS) + 1))
        code = f"001{c + 1:03d}"
        rows.append([code, f"中共重庆市涪陵区{town}镇委员会", f"{town}镇党委", "001", "党(工)委", "农村",
                     f"第{c % 8 + 1}督导组", person(rng), f"023-7{rng.randrange(10**6, 10**7)}", f"t{c}@example.org"])
        for b in range(min(PER_COMMITTEE, units - c * PER_COMMITTEE)):
            place = places[(c * PER_COMMITTEE + b) % len(places)]
            kind = "社区" if b % 4 == 3 else "村"
            unit = Unit(f"{code}{b + 1:03d}", f"{town}镇{place}{kind}党支部", f"{town}{place}{kind}支部", code)
            branches.append(unit)
            rows.append([unit.code, unit.name, unit.alias, code, "党支部", "社区" if kind == "社区" else "农村",
                         f"第{c % 8 + 1}督导组", person(rng), f"139{rng.randrange(10**7, 10**8)}",
                         f"b{unit.code}@example.org"])
    return rows, branches


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def make_campaign(folder: Path, units: int) -> tuple[int, list[Unit]]:
    """The plan-filing preset with a big org tree, 整改清单 from every 党支部 and a fixed as-of time."""
    from zhenggai_xls.campaign import CAMPAIGN_FILE, DEFAULT_ORGS_FILE, init_campaign, write_orgs_xlsx

    campaign = init_campaign(folder, "plan-filing")
    rows, branches = unit_tree(units)
    write_orgs_xlsx(rows, folder / DEFAULT_ORGS_FILE)
    path = folder / CAMPAIGN_FILE
    year = campaign.year
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") +
                    f"\n  ledger:\n    levels: [党支部]\n    deadline: {year}-06-25\n"
                    f"as_of: \"{year}-06-26 09:00\"\n", encoding="utf-8")
    return year, branches


# ---------------------------------------------------------------- filled forms


_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def ledger_rows(rng: random.Random, rows: int, year: int, invalid: bool) -> list[dict]:
    """R 整改清单 rows: dates and phrases as deadlines, 完成情况 in several wordings."""
    from zhenggai_xls.demo import ISSUES

    d = lambda m, day: date(year, m, day)  # noqa: E731
    deadlines = (d(6, 15), d(6, 30), d(7, 31), d(9, 30), d(12, 31), "立行立改", "长期坚持", f"{year}年12月底",
                 "11月17日前", "立行立改，长期坚持", f"{year}.10.25")
    statuses = ("已完成", "已完成", "正在推进", "正在推进", "未启动", "整改中", "已整改", "未开始")
    items = [(c, p, m) for c, ps in ISSUES.items() for p, m in ps]
    out = []
    for n in range(1, rows + 1):
        cat, problem, measure = rng.choice(items)
        status = rng.choice(statuses)
        done = status in ("已完成", "已整改")
        done_on = d(6, rng.randint(1, 20)) if done else None
        if done and rng.random() < 0.2:
            done_on = f"{year}年6月{rng.randint(1, 20)}日"
        out.append({"seq": str(n) if rng.random() > 0.1 else str(n).translate(_FULLWIDTH), "category": cat,
                    "problem": problem, "measure": measure, "leader": person(rng), "person": person(rng),
                    "deadline": rng.choice(deadlines), "status": status, "done_date": done_on,
                    "effect": "群众满意度明显提升" if done else None, "closed": "是" if done else "否",
                    "remark": None if rng.random() < 0.8 else "已报党委备案"})
    if invalid:
        out[len(out) // 2]["measure"] = None  # 三个明确: a problem without its measure
    return out


def filing_contents(rng: random.Random, year: int, messy: bool, invalid: bool) -> tuple[dict, list[dict]]:
    """One 备案表: its header and line figures and 2–5 集中整改问题."""
    from zhenggai_xls.demo import CATEGORIES, CONTENT_KEYS, GRADES, GUIDANCE, ISSUES

    content = [rng.choice((0, 1, 1, 2, 2, 3, 4)) for _ in CATEGORIES]
    total = rng.randint(15, 90)
    reps = rng.randint(0, 5)
    name = ALIAS if messy else NAME
    header = {
        "reporting_unit": f"中共{name}（盖章）" if messy else name, "branch_name": name,
        "report_date": f"{year}年6月{rng.randint(12, 18)}日" if messy else date(year, 6, rng.randint(12, 18)),
        "filled_by": person(rng), "contact_phone": f"139{rng.randrange(10**7, 10**8)}", "rated_by": "镇党委",
        "grade": rng.choices(list(GRADES), weights=(35, 40, 20, 5))[0],
        "opinion_meeting": rng.randint(1, 4), "opinion_letter": rng.randint(0, 12),
        "opinion_sms": rng.randint(0, 25), "opinion_other": rng.randint(0, 2), "people_total": total,
        "people_reps": reps, "people_nonparty": rng.randint(3, min(30, total - reps)),
        "content_total": sum(content) + (2 if invalid else 0), **dict(zip(CONTENT_KEYS, content)),
        "guidance": rng.choice(GUIDANCE), "guidance_date": date(year, 6, 19),
    }
    if messy:
        for key in ("opinion_meeting", "people_total", "content_total", *CONTENT_KEYS):
            header[key] = str(header[key]).translate(_FULLWIDTH)
    deadlines = (date(year, 7, 31), date(year, 9, 30), f"{year}年12月底", "立行立改", "长期坚持")
    rows = []
    for n, cat in enumerate(rng.sample(CATEGORIES, rng.randint(2, 5)), 1):
        problem, measure = rng.choice(ISSUES[cat])
        rows.append({"seq": str(n), "category": cat.removesuffix("建设") if messy else cat, "problem": problem,
                     "measure": measure, "deadline": rng.choice(deadlines), "contact": person(rng)})
    return header, rows


def write_variants(folder: Path, year: int, rows: int) -> dict[str, list[tuple[dict[str, bytes], bool]]]:
    """VARIANTS filled workbooks per form, unit name and code as placeholders: their zip members, and
    whether the variant is messy (short name, no template metadata)."""
    from zhenggai_xls.demo import write_filled
    from zhenggai_xls.orgs import Org
    from zhenggai_xls.spec import load_specs

    specs = load_specs()
    placeholder = Org(CODE, NAME)
    header = {"reporting_unit": NAME, "filled_by": "", "contact_phone": ""}
    out: dict[str, list[tuple[dict[str, bytes], bool]]] = {"filing": [], "ledger": []}
    for v in range(VARIANTS):
        rng = random.Random(v)
        for form in out:
            messy, invalid = v % 11 == 3, v % 29 == 5
            if form == "filing":
                head, body = filing_contents(rng, year, messy, invalid)
            else:
                head = dict(header, reporting_unit=ALIAS if messy else NAME, report_date=date(year, 6, 24),
                            filled_by=person(rng),
                            contact_phone=f"139{rng.randrange(10**7, 10**8)}")
                body = ledger_rows(rng, rows, year, invalid=v % 31 == 7)
            path = folder / f"{form}-{v}.xlsx"
            write_filled(specs[form], path, head, body, unit=None if messy else placeholder)
            with zipfile.ZipFile(path) as z:
                out[form].append(({i.filename: z.read(i) for i in z.infolist()}, messy))
            path.unlink()
    return out


def stamp(members: dict[str, bytes], unit: Unit, target: Path) -> None:
    """A variant's zip with the placeholders replaced by one unit's name, short name and code."""
    swaps = [(p.encode(), html.escape(v).encode()) for p, v in ((NAME, unit.name), (ALIAS, unit.alias),
                                                                  (CODE, unit.code))]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            if name.endswith(".xml") and b"PLACEHOLDER" in data:
                for old, new in swaps:
                    data = data.replace(old, new)
            z.writestr(name, data)


def received(year: int, i: int, late: bool) -> float:
    """A Beijing-time modification time: before the deadline, or a day or two after it."""
    from zhenggai_xls.status import BEIJING

    moment = datetime(year, 6, 21 + i % 3, 10) if late else datetime(year, 6, 12 + i % 7, 8 + i % 9, i % 60)
    return moment.replace(tzinfo=BEIJING).timestamp()


def make_data(root: Path, units: int, rows: int) -> Path:
    """The cached campaign and inbox for N units and R ledger rows (built once)."""
    from zhenggai_xls.spec import load_specs

    done = root / ".complete"
    if done.exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    start = time.perf_counter()
    year, branches = make_campaign(root / "campaign", units)
    inbox = root / "inbox"
    inbox.mkdir()
    scratch = root / "variants"
    scratch.mkdir()
    variants = write_variants(scratch, year, rows)
    scratch.rmdir()
    specs = load_specs()
    for form, deadline_day in (("filing", 20), ("ledger", 25)):
        title = specs[form].title
        for i, unit in enumerate(branches):
            members, messy = variants[form][i % VARIANTS]
            name = f"{unit.alias}{title[-3:]}(1).xlsx" if messy else f"{unit.name}_{title}.xlsx"
            path = inbox / name
            stamp(members, unit, path)
            late = i % 37 == 11
            when = received(year, i, late) + (deadline_day - 20) * 86400
            os.utime(path, (when, when))
    done.write_text(f"{units} units, {rows} rows\n", encoding="utf-8")
    print(f"generated {2 * units} files in {time.perf_counter() - start:.1f} s: {root}", file=sys.stderr)
    return root


def make_big_ledger(root: Path, rows: int) -> Path:
    """One 整改清单 with `rows` rows (cached), for validating a single large file."""
    from zhenggai_xls.demo import write_filled
    from zhenggai_xls.spec import load_specs

    path = root / f"大台账_{rows}行.xlsx"
    if path.exists():
        return path
    root.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    year = 2012
    body = ledger_rows(random.Random(rows), rows, year, invalid=True)
    header = {"reporting_unit": "中共重庆市涪陵区李渡新区工作委员会", "report_date": date(year, 6, 24),
              "filled_by": "李华", "contact_phone": "023-72850001"}
    tmp = root / ".big.tmp.xlsx"
    write_filled(load_specs()["ledger"], tmp, header, body)
    tmp.rename(path)
    print(f"generated a {rows}-row ledger in {time.perf_counter() - start:.1f} s: {path}", file=sys.stderr)
    return path


# ---------------------------------------------------------------- the stages (run in child processes)


def stage_naive(root: Path, out: Path) -> None:
    """What a Python user writes first: read_excel per file, concat, groupby sums, to_excel (openpyxl)."""
    import pandas as pd

    files = sorted((root / "inbox").glob("*.xlsx"))
    ledgers, filings = [], []
    for path in files:
        if path.stem.endswith("整改清单"):
            frame = pd.read_excel(path, engine="openpyxl", header=HEADER_ROW)
            frame["文件"] = path.name
            ledgers.append(frame)
        else:
            frame = pd.read_excel(path, engine="openpyxl", header=None)
            numbers = frame.apply(pd.to_numeric, errors="coerce")
            filings.append(numbers.sum().rename(path.name))
    ledger = pd.concat(ledgers, ignore_index=True)
    by_unit = ledger.groupby("文件")["完成情况"].value_counts().unstack(fill_value=0)
    figures = pd.concat(filings, axis=1).T
    figures["单位"] = figures.index.str.split("_").str[0]
    totals = figures.groupby("单位").sum(numeric_only=True)
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        by_unit.to_excel(writer, sheet_name="整改清单汇总")
        totals.to_excel(writer, sheet_name="备案表汇总")


def stage_floor(root: Path) -> None:
    """python-calamine reading every sheet of every file, nothing else."""
    import python_calamine as pc

    for path in sorted((root / "inbox").glob("*.xlsx")):
        with pc.CalamineWorkbook.from_path(path) as book:
            for name in book.sheet_names:
                book.get_sheet_by_name(name).to_python()


# ---------------------------------------------------------------- measuring


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree_rss(pid: int) -> int:
    """Bytes resident in `pid` and all its descendants right now."""
    kids, total, todo = _children(), 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
        todo += kids.get(p, [])
    return total


@dataclass
class Run:
    label: str
    files: int
    seconds: float
    peak: int  # bytes
    code: int
    cpu: float = 0.0  # user + sys seconds of the stage's whole process tree


def measure(label: str, files: int, argv: list[str], ok_codes: tuple[int, ...] = (0,)) -> Run:
    """Wall time from process start to exit, CPU time and the peak RSS of its process tree."""
    peak = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(proc.pid))
            stop.wait(SAMPLE_EVERY)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # every descendant waited for: workers included
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stop.set()
    sampler.join()
    if proc.returncode not in ok_codes:
        sys.exit(f"{label} failed with exit status {proc.returncode}:\n{err.decode(errors='replace')[-3000:]}")
    return Run(label, files, seconds, peak, proc.returncode, cpu)


def byte_compile() -> None:
    """Compile the package's modules to bytecode once, as installing it does: an editable install
    run with PYTHONDONTWRITEBYTECODE=1 (as on these machines) would otherwise compile every
    module from source at each start (~0.2 s), which no clerk's installed copy does."""
    import compileall

    import zhenggai_xls

    compileall.compile_dir(Path(zhenggai_xls.__file__).parent, quiet=1)


def zhenggai(*args: str) -> list[str]:
    """The command as a clerk runs it: the installed `zhenggai` script."""
    exe = shutil.which("zhenggai") or shutil.which("zhenggai", path=os.path.dirname(sys.executable))
    return [exe, *args] if exe else [sys.executable, "-m", "zhenggai_xls.cli", *args]


def table(runs: list[Run], speed: dict[str, float] | None = None, cost: dict[str, float] | None = None) -> str:
    """`speed` and `cost`: each stage's naive ÷ it and it ÷ floor, by label (see `paired`)."""
    head = f"| {'stage':<35} | files | seconds | ms/file | CPU s | naive ÷ this | this ÷ floor | peak MiB |"
    lines = [head, "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"]
    for r in runs:
        fast = f"{speed[r.label]:.1f}×" if speed else "–"
        slow = f"{cost[r.label]:.2f}×" if cost else "–"
        lines.append(f"| {r.label:<35} | {r.files:>5} | {r.seconds:>7.2f} | {r.seconds / r.files * 1000:>7.2f} "
                     f"| {r.cpu:>5.1f} "
                     f"| {fast:>12} | {slow:>12} | {r.peak / 2**20:>8.0f} |")
    return "\n".join(lines)


def paired(top: list[Run], bottom: list[Run]) -> float:
    """The median over rounds of top ÷ bottom in seconds, each round's pair run back to back: the
    machine's drift between rounds cancels, which each stage's fastest run (taken in different
    rounds) does not."""
    return statistics.median(t.seconds / b.seconds for t, b in zip(top, bottom))


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="utf-8")
                if line.startswith("model name")), "?")
    return f"{os.cpu_count()} cores ({cpu}), Python {sys.version.split()[0]}"


# ---------------------------------------------------------------- main


def best(runs: list[Run]) -> Run:
    """The fastest of repeated runs of one stage (as timeit takes the minimum: the run the machine
    disturbed least), with the highest peak memory seen in any of them."""
    return replace(min(runs, key=lambda r: r.seconds), peak=max(r.peak for r in runs))


def best_of(args: argparse.Namespace) -> str:
    return f"; {args.repeat} rounds (seconds: each stage's fastest; ratios: median of the rounds)" \
        if args.repeat > 1 else ""


def bench_inbox(args: argparse.Namespace) -> int:
    root = make_data(Path(args.data or tempfile.gettempdir()) / "zhenggai-bench" /
                     f"v{DATA_VERSION}-u{args.units}-r{args.rows}", args.units, args.rows)
    files = len(list((root / "inbox").iterdir()))
    out = Path(tempfile.mkdtemp(prefix="zhenggai-bench-out-"))
    me = [sys.executable, str(Path(__file__).resolve())]
    campaign, inbox = str(root / "campaign"), str(root / "inbox")
    stages = {
        "naive": None if args.skip_naive else lambda: measure(
            "naive: pandas read_excel (openpyxl)", files, me + ["--stage", "naive", str(root), str(out / "naive.xlsx")]),
        "floor": lambda: measure("floor: python-calamine to_python()", files, me + ["--stage", "floor", str(root)]),
        "validate": lambda: measure("zhenggai validate", files, zhenggai("validate", inbox, "--campaign", campaign),
                                    ok_codes=(0, 1)),
        "rollup": lambda: measure("zhenggai rollup", files,
                                  zhenggai("rollup", inbox, "--campaign", campaign, "-o", str(out / "汇总表.xlsx"))),
    }
    # Rounds of every stage in turn: a machine whose speed drifts slows all stages of a round alike.
    seen: dict[str, list[Run]] = {name: [] for name, run in stages.items() if run}
    for _ in range(args.repeat):
        for name in seen:
            seen[name].append(stages[name]())
    runs = {name: best(found) for name, found in seen.items()}
    labels = {name: runs[name].label for name in seen}
    speed = {labels[n]: paired(seen["naive"], found) for n, found in seen.items()} if "naive" in seen else None
    cost = {labels[n]: paired(found, seen["floor"]) for n, found in seen.items()}
    print(f"\n{args.units} 党支部 × (备案表 + 整改清单 of {args.rows} rows) = {files} files; {machine()}"
          f"{best_of(args)}\n")
    print(table(list(runs.values()), speed, cost))
    if args.repeat > 1:  # the rounds behind the medians: how far this machine moved
        rounds = [f"{n.seconds / r.seconds:.1f}×" for n, r in zip(seen.get("naive", ()), seen["rollup"])]
        print(f"\nrollup round by round: naive ÷ rollup {' '.join(rounds) or '–'}; rollup ÷ floor "
              + " ".join(f"{r.seconds / f.seconds:.2f}×" for r, f in zip(seen["rollup"], seen["floor"])))
    rollup = labels["rollup"]
    checks = [("rollup ≥ 15× faster than naive", speed and speed[rollup] >= 15),
              ("rollup ≤ 3× the calamine floor", cost[rollup] <= 3),
              ("peak memory < 1 GiB", all(runs[name].peak < 2**30 for name in ("validate", "rollup")))]
    print()
    for text, ok in checks:
        print(f"{'PASS' if ok else ('skip' if ok is None else 'FAIL')}  {text}")
    shutil.rmtree(out, ignore_errors=True)
    return 0 if all(ok is not False for _, ok in checks) else 1


def bench_big_ledger(args: argparse.Namespace) -> int:
    path = make_big_ledger(Path(args.data or tempfile.gettempdir()) / "zhenggai-bench" / f"v{DATA_VERSION}-big",
                           args.big_ledger)
    run = best([measure(f"zhenggai validate ({args.big_ledger:,} rows)", 1, zhenggai("validate", str(path)),
                        ok_codes=(0, 1)) for _ in range(args.repeat)])
    size = path.stat().st_size / 2**20
    print(f"\none 整改清单 of {args.big_ledger:,} rows ({size:.1f} MiB); {machine()}{best_of(args)}\n")
    print(table([run]))
    ok = run.seconds < 10 and run.peak < 2**30
    print(f"\n{'PASS' if ok else 'FAIL'}  validate under 10 s and 1 GiB")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=2000, help="党支部 in the org tree: N 备案表 + N 整改清单")
    parser.add_argument("--rows", type=int, default=40, help="rows of each 整改清单")
    parser.add_argument("--big-ledger", type=int, metavar="ROWS",
                        help="instead: validate one 整改清单 of ROWS rows (e.g. 100000)")
    parser.add_argument("--repeat", type=int, default=3, metavar="K",
                        help="run every stage K times, in turn: its fastest time, the median ratio (default 3)")
    parser.add_argument("--skip-naive", action="store_true", help="leave out the (slow) naive baseline")
    parser.add_argument("--data", help="where to cache generated data (default: the temp dir)")
    parser.add_argument("--stage", nargs="+", help=argparse.SUPPRESS)  # internal: one measured stage
    args = parser.parse_args()
    if args.stage:
        kind, *rest = args.stage
        if kind == "naive":
            stage_naive(Path(rest[0]), Path(rest[1]))
        else:
            stage_floor(Path(rest[0]))
        return 0
    byte_compile()
    return bench_big_ledger(args) if args.big_ledger else bench_inbox(args)


if __name__ == "__main__":
    sys.exit(main())
