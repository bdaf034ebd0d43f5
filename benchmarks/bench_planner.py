"""Benchmark of the registry import, the planner and `due` on a synthetic city (benchmarks/city.py).

    scripts/with-postgres .venv/bin/python benchmarks/bench_planner.py --backend both
    .venv/bin/python benchmarks/bench_planner.py --branches 200 --backend sqlite

Each backend runs in its own subprocess (so that its peak RSS is its own), on a fresh database: a SQLite file
in a temporary directory, or PostgreSQL's public schema dropped and recreated. The stages, in order:

  generate    build the registry in memory (not a target; for scale)
  validate    obligations.registry.validate against the empty database
  import      obligations.importer.apply in one session_scope (one transaction)
  plan        obligations.planner.plan from as-of 2026-11-21 to planstate.default_horizon (2027-12-31)
  floor       the same task rows, read back in the planner's order, inserted with raw sqlite3 executemany
              into a fresh table with the task table's schema and indexes, in one transaction (PostgreSQL
              also: raw psycopg executemany and COPY); in a process of its own
  re-plan     planner.ensure_planned with nothing changed (must be a no-op)
  reconcile   planner.plan(..., everything=True): every organization compared with its tasks
  due tree    obligations.duelist.iter_due_rows (streamed, as the CLI does) for the whole tree (default filters), best of up to 5 runs
  due c7      the same for committee c7's subtree, best of 5 runs
  cli import  `obligations init` then `obligations import city.toml` in a subprocess, on a smaller city

It is a report, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from city import BRANCHES_PER_COMMITTEE, city_registry, write_toml

from calendars.profiles import load_profiles
from obligations import db, duelist, importer, planner, planstate
from obligations.registry import validate

AS_OF = dt.date(2026, 11, 21)
TRACKED = dt.date(2025, 1, 1)  # tracked since before the window: the same plan as before 跟踪起始
SUBTREE = "c7"
ROOT = Path(__file__).resolve().parent.parent
OBLIGATIONS = Path(sys.executable).parent / "obligations"

STAGES = (
    "generate",
    "validate",
    "import",
    "plan",
    "floor sqlite3",
    "floor psycopg",
    "floor psycopg COPY",
    "re-plan (no change)",
    "reconcile (--all)",
    "due (whole tree)",
    f"due ({SUBTREE} subtree)",
    "cli import",
)
TARGET_FLOOR_RATIO = 3.0
TARGET_SUBTREE_MS = 100.0
TARGET_MEMORY_MIB = 1024.0

T = TypeVar("T")


class StageTimeout(Exception):
    pass


@dataclass
class Stage:
    name: str
    seconds: float | None = None  # best of the runs for the query stages
    runs: list[float] = field(default_factory=list)
    rows: int | None = None
    peak_rss_mib: float | None = None  # the process's RSS high-water mark during the stage
    traced_peak_mib: float | None = None  # tracemalloc's peak during the stage, with --tracemalloc
    note: str = ""
    error: str | None = None
    failed: bool = False  # raised: its time is not a result


@dataclass
class Result:
    backend: str
    branches: int
    stages: dict[str, Stage] = field(default_factory=dict)
    maxrss_mib: float | None = None
    skipped: str | None = None
    code: str = ""  # the commit and the uncommitted changes this backend's process ran


# --- measuring -----------------------------------------------------------------------------------------------


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _reset_rss_peak() -> bool:
    """Reset the kernel's RSS high-water mark (VmHWM) of this process, so that each stage gets its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss_peak_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Meter:
    def __init__(self, result: Result, stage_timeout: int, traced: bool) -> None:
        self.result = result
        self.stage_timeout = stage_timeout
        self.traced = traced

    @contextmanager
    def stage(self, name: str) -> Iterator[Stage]:
        stage = Stage(name)
        self.result.stages[name] = stage
        _log(f"{self.result.backend}: {name} …")
        _reset_rss_peak()
        if self.traced:
            tracemalloc.reset_peak()
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.alarm(self.stage_timeout)
        started = time.perf_counter()
        try:
            yield stage
        except StageTimeout:
            stage.error, stage.failed = f"stopped after {self.stage_timeout} s", True
            raise
        except Exception as error:
            stage.error, stage.failed = f"{type(error).__name__}: {error}"[:500], True
            raise
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
            if stage.seconds is None and not stage.runs:
                stage.seconds = time.perf_counter() - started
            stage.peak_rss_mib = _rss_peak_mib()
            if self.traced:
                stage.traced_peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
            _log(f"{self.result.backend}: {name} {_seconds(stage.seconds)} {stage.note}")

    def best_of(self, stage: Stage, runs: int, budget: float, run: Callable[[], int]) -> None:
        """Run `run` up to `runs` times (fewer once `budget` seconds are spent); keep the best time."""
        spent = 0.0
        for _ in range(runs):
            started = time.perf_counter()
            stage.rows = run()
            elapsed = time.perf_counter() - started
            stage.runs.append(elapsed)
            spent += elapsed
            if spent > budget:
                break
        stage.seconds = min(stage.runs)


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise StageTimeout


# --- the worker: one backend, in its own process -------------------------------------------------------------


def _fresh_database(backend: str, tmp: Path, postgres_url: str | None, name: str = "bench") -> str:
    if backend == "sqlite":
        return db.resolve_url(f"sqlite:///{tmp / name}.db", tmp)
    assert postgres_url
    url = db.resolve_url(postgres_url, tmp)
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def table_ddl(tmp: Path, table: str = "task") -> tuple[list[str], list[str]]:
    """A table's DDL and its indexes' on SQLite, exactly as the migrations create them."""
    engine = db.make_engine(f"sqlite:///{tmp / 'schema.db'}", create=True)
    db.upgrade(engine)
    engine.dispose()
    with sqlite3.connect(tmp / "schema.db") as connection:
        found = connection.execute(
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL", (table,)
        ).fetchall()
    connection.close()
    tables = [sql for kind, sql in found if kind == "table"]
    indexes = [sql for kind, sql in found if kind == "index"]
    return tables, indexes


def _task_columns(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        result = connection.execute(text("SELECT * FROM task WHERE 1 = 0"))
        names = list(result.keys())
    return [name for name in names if name != "id"]


def sqlite_floor(tmp: Path, columns: list[str], rows: list[tuple[Any, ...]], table: str = "task") -> float:
    """Raw sqlite3 executemany into a fresh file with the table's schema and indexes, one transaction."""
    tables, indexes = table_ddl(tmp, table)
    connection = sqlite3.connect(tmp / "floor.db", isolation_level=None)
    # The application's pragmas (obligations.db._sqlite_pragmas), without foreign keys: there is no
    # organization table here to check against.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    for sql in [*tables, *indexes]:
        connection.execute(sql)
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany(statement, rows)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def postgres_floor(
    engine: Engine, columns: list[str], rows: list[tuple[Any, ...]], *, copy: bool, table: str = "task"
) -> float:
    """Raw psycopg into a copy of the table (indexes and defaults, not foreign keys), one transaction."""
    floor = f"{table}_floor"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"DROP TABLE IF EXISTS {floor}")
        cursor.execute(f"CREATE TABLE {floor} (LIKE {table} INCLUDING ALL)")
        raw.commit()
        names = ", ".join(columns)
        started = time.perf_counter()
        if copy:
            with cursor.copy(f"COPY {floor} ({names}) FROM STDIN") as stream:
                for row in rows:
                    stream.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO {floor} ({names}) VALUES ({', '.join('%s' for _ in columns)})", rows
            )
        raw.commit()
        elapsed = time.perf_counter() - started
        cursor.execute(f"DROP TABLE {floor}")
        raw.commit()
        return elapsed
    finally:
        raw.close()


def _floors(args: argparse.Namespace, url: str, tmp: Path) -> list[Stage]:
    out = tmp / "floor.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--floor", str(out), "--floor-url", url]
    command += ["--backend", args.backend]
    try:
        subprocess.run(command, cwd=ROOT, check=False, timeout=args.stage_timeout)
        return [Stage(**stage) for stage in json.loads(out.read_text())]
    except (OSError, ValueError, subprocess.TimeoutExpired) as error:
        return [Stage("floor sqlite3", error=f"the floor process failed: {error}")]


def run_floors(backend: str, url: str, out: Path) -> None:
    """The floor stages, in a process of their own: read the planned rows back, insert them raw."""
    stages: list[Stage] = []
    engine = db.make_engine(url)
    columns = _task_columns(engine)
    with engine.connect() as connection:
        query = text(f"SELECT {', '.join(columns)} FROM task ORDER BY id")  # the planner's order
        rows: list[tuple[Any, ...]] = [tuple(row) for row in connection.execute(query)]
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as directory:
        # Stored as SQLite stores them (ISO text): the floor pays nothing for adapting values.
        text_rows = [
            tuple(value.isoformat() if isinstance(value, dt.date) else value for value in row) for row in rows
        ]
        _reset_rss_peak()
        stage = Stage("floor sqlite3", rows=len(text_rows))
        stage.seconds = sqlite_floor(Path(directory), columns, text_rows)
        stage.peak_rss_mib = _rss_peak_mib()
        stages.append(stage)
        del text_rows
    if backend == "postgresql":
        for name, copy in (("floor psycopg", False), ("floor psycopg COPY", True)):
            _reset_rss_peak()
            stage = Stage(name, rows=len(rows))
            stage.seconds = postgres_floor(engine, columns, rows, copy=copy)
            stage.peak_rss_mib = _rss_peak_mib()
            stages.append(stage)
    engine.dispose()
    out.write_text(json.dumps([asdict(stage) for stage in stages]))


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


_MEASURE = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024))
sys.exit(code)
"""


def _cli_import(meter: Meter, backend: str, tmp: Path, postgres_url: str | None, branches: int) -> None:
    committees = max(1, branches // BRANCHES_PER_COMMITTEE)
    path = tmp / "city.toml"
    write_toml(city_registry(committees), path)
    url = _fresh_database(backend, tmp, postgres_url, name="cli")
    base = [str(OBLIGATIONS), "--config", str(tmp / "config.toml"), "--db", url]
    subprocess.run([*base, "init"], check=True, capture_output=True, cwd=tmp)
    with meter.stage("cli import") as stage:
        command = [*base, "import", str(path), "--as-of", AS_OF.isoformat()]
        log = tmp / "cli-import.log"
        # A child's maxrss starts from its parent's RSS at the fork (this process is large by now), so a
        # small intermediate process runs the command and reports its child's own peak.
        measured = [sys.executable, "-c", _MEASURE, str(tmp / "cli-import.maxrss"), *command]
        with log.open("wb") as sink:
            process = subprocess.Popen(measured, cwd=tmp, stdout=sink, stderr=subprocess.STDOUT)
            try:
                process.wait()
            except StageTimeout:
                process.kill()
                process.wait()
                raise
        output = log.read_text(errors="replace")
        maxrss = float((tmp / "cli-import.maxrss").read_text() or 0)
        size = path.stat().st_size / 2**20
        stage.note = (
            f"{committees * BRANCHES_PER_COMMITTEE} branches, {size:.1f} MiB TOML, "
            f"its peak RSS {maxrss:.0f} MiB"
        )
        if process.returncode != 0:
            stage.error = f"exit {process.returncode}: {output.strip()[-400:]}"
        else:
            stage.note += "; " + " ".join(output.split())[-200:]


def _code_version() -> str:
    """The commit, and the files of the application that differ from it (others may be editing the tree)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "calendars", "obligations"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    dirty = [line[3:] for line in changed if line.strip()]
    return head + (f" + uncommitted {', '.join(dirty)}" if dirty else "")


def run_backend(args: argparse.Namespace) -> Result:
    backend = args.backend
    result = Result(backend, args.branches, code=_code_version())
    if backend == "postgresql" and not args.postgres_url:
        result.skipped = "no PostgreSQL URL (run under scripts/with-postgres or pass --postgres-url)"
        return result
    if args.tracemalloc:
        tracemalloc.start()
    meter = Meter(result, args.stage_timeout, args.tracemalloc)
    profiles = load_profiles()
    horizon = planstate.default_horizon(AS_OF)
    committees = max(1, args.branches // BRANCHES_PER_COMMITTEE)

    with tempfile.TemporaryDirectory(prefix="bench-planner-") as directory:
        tmp = Path(directory)
        try:
            with meter.stage("generate") as stage:
                registry = city_registry(committees)
                stage.rows = len(registry.orgs) + len(registry.members) + len(registry.positions)
                stage.note = (
                    f"{len(registry.orgs)} orgs, {len(registry.members)} members, "
                    f"{len(registry.positions)} positions"
                )
            url = _fresh_database(backend, tmp, args.postgres_url)
            engine = db.make_engine(url, create=True)
            db.upgrade(engine)

            if not args.skip_validate:
                with meter.stage("validate") as stage, db.session_scope(engine) as session:
                    existing = importer.existing_registry(session)
                    problems = validate(
                        registry, file="city", existing=existing, as_of=AS_OF, profiles=profiles
                    )
                    stage.rows = len(problems)
                    if problems:
                        stage.error = f"{len(problems)} problems, first: {problems[0]}"

            with meter.stage("import") as stage, db.session_scope(engine) as session:
                summary = importer.apply(
                    session,
                    registry,
                    prune=False,
                    default_profile="national",
                    as_of=AS_OF,
                    track_from=TRACKED,
                )
                stage.rows = sum(summary.added.values())
            del registry

            with meter.stage("plan") as stage:
                with db.session_scope(engine) as session:
                    planned = planner.plan(session, profiles, AS_OF, horizon)
                stage.rows = planned.inserted
                stage.note = f"{planned.organizations} orgs, window {planned.window[0]}..{planned.window[1]}"
            tasks = _count(engine, "task")
            result.stages["plan"].note += f"; {tasks} rows in task"

            # The floor runs in its own process: its millions of row tuples would otherwise stay in this
            # process's heap and inflate the peaks of the stages after it.
            for stage in _floors(args, url, tmp):
                result.stages[stage.name] = stage
                _log(f"{backend}: {stage.name} {_seconds(stage.seconds)} {stage.error or ''}")

            with meter.stage("re-plan (no change)") as stage, db.session_scope(engine) as session:
                again = planner.ensure_planned(session, profiles, AS_OF, horizon)
                stage.note = "no-op" if again is None else f"NOT a no-op: {again}"
                stage.rows = 0 if again is None else again.inserted + again.updated + again.removed

            with meter.stage("reconcile (--all)") as stage, db.session_scope(engine) as session:
                full = planner.plan(session, profiles, AS_OF, horizon, everything=True)
                stage.rows = full.inserted + full.updated + full.removed
                stage.note = f"{full.organizations} orgs: +{full.inserted} ~{full.updated} -{full.removed}"

            def due(org: str | None) -> Callable[[], int]:
                def run() -> int:
                    with db.session_scope(engine) as session:
                        # Streamed, as the CLI does: count the rows without holding them.
                        return sum(1 for _ in duelist.iter_due_rows(session, profiles, as_of=AS_OF, org=org))

                return run

            with meter.stage("due (whole tree)") as stage:
                meter.best_of(stage, 5, args.due_budget, due(None))
                stage.note = f"{len(stage.runs)} runs"
            with meter.stage(f"due ({SUBTREE} subtree)") as stage:
                meter.best_of(stage, 5, args.due_budget, due(SUBTREE))
                stage.note = f"{len(stage.runs)} runs"
            engine.dispose()

            if args.cli_branches > 0:
                _cli_import(meter, backend, tmp, args.postgres_url, args.cli_branches)
        except StageTimeout:
            _log(f"{backend}: a stage exceeded {args.stage_timeout} s; later stages skipped")
        except Exception as error:  # a report, not a test: say what failed and show what was measured
            _log(f"{backend}: failed: {type(error).__name__}: {error}")
    # The peak of the application's stages. Not ru_maxrss at exit: resetting VmHWM for each stage lowers it
    # too (Linux derives it from the same mark). The floor stages ran in a process of their own.
    peaks = [
        stage.peak_rss_mib
        for stage in result.stages.values()
        if stage.peak_rss_mib is not None and not stage.name.startswith("floor")
    ]
    result.maxrss_mib = max(peaks, default=None)
    return result


# --- the report ----------------------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _cell(stage: Stage | None) -> str:
    if stage is None:
        return "—"
    if stage.failed or (stage.error and stage.seconds is None):
        return "FAILED"
    return _seconds(stage.seconds) + (" !" if stage.error else "")


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "MISSED")


def _figures(result: Result) -> dict[str, tuple[str, str]]:
    """Derived figures of one backend: name -> (value, verdict)."""
    stages = result.stages
    figures: dict[str, tuple[str, str]] = {}
    plan, floor = stages.get("plan"), stages.get("floor sqlite3")
    if plan and plan.seconds and plan.rows is not None:
        figures["tasks planned"] = (f"{plan.rows:,}", "")
        figures["tasks / second"] = (f"{plan.rows / plan.seconds:,.0f}", "")
    if plan and floor and plan.seconds and floor.seconds:
        ratio = plan.seconds / floor.seconds
        figures["plan / floor (sqlite3)"] = (f"{ratio:.1f}×", _verdict(ratio <= TARGET_FLOOR_RATIO))
    pg_floor = stages.get("floor psycopg")
    if plan and pg_floor and plan.seconds and pg_floor.seconds:
        figures["plan / floor (psycopg)"] = (f"{plan.seconds / pg_floor.seconds:.1f}×", "")
    pg_copy = stages.get("floor psycopg COPY")
    if plan and pg_copy and plan.seconds and pg_copy.seconds:
        figures["plan / floor (psycopg COPY)"] = (f"{plan.seconds / pg_copy.seconds:.1f}×", "")
    subtree = stages.get(f"due ({SUBTREE} subtree)")
    if subtree and subtree.seconds is not None:
        ms = subtree.seconds * 1000
        figures[f"due {SUBTREE} subtree"] = (f"{ms:.1f} ms", _verdict(ms <= TARGET_SUBTREE_MS))
    if result.maxrss_mib is not None:
        ok = result.maxrss_mib <= TARGET_MEMORY_MIB
        figures["peak RSS"] = (f"{result.maxrss_mib:,.0f} MiB", _verdict(ok))
    replan = stages.get("re-plan (no change)")
    if replan and replan.rows is not None:
        figures["re-plan is a no-op"] = ("yes" if replan.rows == 0 else "no", _verdict(replan.rows == 0))
    full = stages.get("reconcile (--all)")
    if full and full.rows is not None:
        figures["reconcile changes nothing"] = (
            "yes" if full.rows == 0 else f"{full.rows} changes",
            _verdict(full.rows == 0),
        )
    return figures


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell + " " * (width - _width(cell)) for cell, width in zip(cells, widths, strict=True)
        )

    return "\n".join([line(header), line(["-" * width for width in widths]), *(line(row) for row in rows)])


def _width(text: str) -> int:
    return sum(2 if "\u2e80" <= char <= "\ufaff" else 1 for char in text)


def report(results: list[Result], command: str) -> str:
    out = [f"command: {command}", f"as of {AS_OF}, horizon {planstate.default_horizon(AS_OF)}", ""]
    backends = [r.backend for r in results]
    for result in results:
        if result.skipped:
            out.append(f"{result.backend}: skipped — {result.skipped}")
        elif result.code:
            out.append(f"{result.backend}: code {result.code}")
    live = [r for r in results if not r.skipped]
    if not live:
        return "\n".join(out)
    names: list[str] = []
    for result in live:
        names.extend(name for name in result.stages if name not in names)
    names.sort(key=lambda name: STAGES.index(name) if name in STAGES else len(STAGES))
    targets = {
        "plan": f"≤ {TARGET_FLOOR_RATIO:.0f}× floor",
        f"due ({SUBTREE} subtree)": f"≤ {TARGET_SUBTREE_MS:.0f} ms",
    }
    rows = []
    for name in names:
        stages = [r.stages.get(name) for r in live]
        rows_cell = next((f"{s.rows:,}" for s in stages if s is not None and s.rows is not None), "")
        rows.append([name, *(_cell(s) for s in stages), rows_cell, targets.get(name, "")])
    out.append(f"branches: {live[0].branches:,}  (backends: {', '.join(backends)})")
    out.append(_table(["stage", *(r.backend for r in live), "rows", "target"], rows))
    out.append("")
    figures = [_figures(r) for r in live]
    keys: list[str] = []
    for found in figures:
        keys.extend(key for key in found if key not in keys)
    rows = []
    target_of = {
        "plan / floor (sqlite3)": f"≤ {TARGET_FLOOR_RATIO:.0f}×",
        f"due {SUBTREE} subtree": f"≤ {TARGET_SUBTREE_MS:.0f} ms",
        "peak RSS": f"≤ {TARGET_MEMORY_MIB:.0f} MiB",
    }
    for key in keys:
        cells = []
        for found in figures:
            value, verdict = found.get(key, ("—", ""))
            cells.append(f"{value} {verdict}".strip())
        rows.append([key, *cells, target_of.get(key, "")])
    out.append(_table(["figure", *(r.backend for r in live), "target"], rows))
    out.append("")
    out.append(
        "peak RSS per stage in MiB (VmHWM, reset before each stage; the floor stages run in a process of their"
        " own and are not counted in the peak RSS figure: their row tuples are the benchmark's) and notes:"
    )
    for result in live:
        for stage in result.stages.values():
            extra = f" traced peak {stage.traced_peak_mib:.0f} MiB" if stage.traced_peak_mib else ""
            runs = f" runs {', '.join(_seconds(r) for r in stage.runs)}" if len(stage.runs) > 1 else ""
            rss = f"{stage.peak_rss_mib:.0f}" if stage.peak_rss_mib is not None else "—"
            problem = f"  ERROR: {stage.error}" if stage.error else ""
            out.append(
                f"  {result.backend:10} {stage.name:20} rss {rss:>6}{extra}  {stage.note}{runs}{problem}"
            )
    return "\n".join(out)


# --- entry point ---------------------------------------------------------------------------------------------


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--branches", type=int, default=10_000, help="branches, 10 per committee (default 10000)"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("OBLIGATIONS_TEST_POSTGRES_URL"),
        help="PostgreSQL database whose public schema is DROPPED (default: $OBLIGATIONS_TEST_POSTGRES_URL)",
    )
    parser.add_argument(
        "--cli-branches",
        type=int,
        default=1000,
        help="branches for timing `obligations import` of a TOML file in a subprocess; 0 skips (default 1000)",
    )
    parser.add_argument("--skip-validate", action="store_true", help="do not time registry.validate")
    parser.add_argument(
        "--due-budget", type=float, default=60.0, help="stop repeating a due query after this many seconds"
    )
    parser.add_argument(
        "--stage-timeout", type=int, default=900, help="abandon a stage after this many seconds"
    )
    parser.add_argument("--tracemalloc", action="store_true", help="also report tracemalloc peaks (slower)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # internal: run one backend
    parser.add_argument("--floor", type=Path, help=argparse.SUPPRESS)  # internal: run the floor stages
    parser.add_argument("--floor-url", help=argparse.SUPPRESS)
    return parser.parse_args()


def _worker_command(args: argparse.Namespace, backend: str, out: Path) -> list[str]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        str(out),
        "--backend",
        backend,
        "--branches",
        str(args.branches),
        "--cli-branches",
        str(args.cli_branches),
        "--due-budget",
        str(args.due_budget),
        "--stage-timeout",
        str(args.stage_timeout),
    ]
    if args.postgres_url:
        command += ["--postgres-url", args.postgres_url]
    if args.skip_validate:
        command.append("--skip-validate")
    if args.tracemalloc:
        command.append("--tracemalloc")
    return command


def _load(path: Path, backend: str, branches: int) -> Result:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return Result(backend, branches, skipped="the worker process died without a result")
    stages = {name: Stage(**stage) for name, stage in data.pop("stages").items()}
    return Result(**data, stages=stages)


def main() -> None:
    args = _arguments()
    if args.floor is not None:
        run_floors(args.backend, args.floor_url, args.floor)
        return
    if args.worker is not None:
        result = run_backend(args)
        args.worker.write_text(json.dumps(asdict(result)))
        return
    command = shlex.join([sys.executable, *sys.argv])
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-results-") as directory:
        for backend in backends:
            out = Path(directory) / f"{backend}.json"
            subprocess.run(_worker_command(args, backend, out), cwd=ROOT, check=False)
            results.append(_load(out, backend, args.branches))
    print()
    print(report(results, command))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2, default=str))


if __name__ == "__main__":
    main()
