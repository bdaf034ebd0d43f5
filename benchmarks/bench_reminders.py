"""Benchmark: a reminder sweep over a synthetic city with everything due, delivered to a local SMTP sink.

    .venv/bin/python benchmarks/bench_reminders.py --branches 10000
    scripts/with-postgres .venv/bin/python benchmarks/bench_reminders.py --branches 2000 --backend postgresql

Stages (each timed; nothing here is a test, it always exits 0):

- setup: the city registry (benchmarks/city.py) imported and planned as of 2026-11-21, nothing recorded, so
  that on Monday 2026-11-23 at 09:00 every task has a step due (upcoming, overdue or escalated);
- plan: `reminders.plan_messages` at that instant — reminders planned per second;
- plan floor: the same reminder rows, read back, inserted with the driver's bulk path (SQLite: sqlite3
  executemany into a fresh file with the reminder table's schema and indexes; PostgreSQL: psycopg COPY into
  a copy of the reminder table), plus the same digests (their contexts, kept as planning rendered them)
  rendered again with `notifiers.render.render_digest` (templates compiled once) in a bare loop — the target
  is planning ≤ 3× the floor;
- deliver: `reminders.deliver` through the real EmailChannel to an aiosmtpd sink on 127.0.0.1 — messages
  delivered per second;
- floor: a bare aiosmtplib loop sending the same number of messages, of the same size, over one connection
  to the same sink — the target is delivery ≥ 50% of the floor's rate;
- idle sweep: `plan_messages` again at the same instant, when every task's next step lies in the future —
  the target is under 50 ms whatever the number of tasks (it reads the (status, remind_on) index only).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import multiprocessing
import os
import pickle
import random
import resource
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from sqlalchemy import func, text
from sqlmodel import col, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_planner imports `city` as a top-level module

from benchmarks.bench_planner import postgres_floor, sqlite_floor
from benchmarks.city import city_registry
from calendars.instants import PARTY_TIME
from calendars.ladder import OfficeHours
from calendars.profiles import load_profiles
from calendars.workdays import WorkCalendar
from notifiers import render
from notifiers.email import EmailChannel
from obligations import db, importer, planner, planstate, reminders
from obligations.models import Member, OutboxMessage, Task
from obligations.reminders import digests

AS_OF = dt.date(2026, 11, 21)
TRACKED = dt.date(2025, 1, 1)  # tracked since before the window: the same plan as before 跟踪起始
SWEEP_AT = dt.datetime(2026, 11, 23, 9, 0, tzinfo=PARTY_TIME)
TARGET_FLOOR_RATIO = 3.0
REMINDER_COLUMNS = ["task_id", "step", "recipient", "due", "note", "created_at", "pending"]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def setup(url: str, branches: int) -> None:
    """A fresh database with the city imported and planned as of 2026-11-21, nothing recorded."""
    engine = db.make_engine(url, create=True)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    db.upgrade(engine)
    registry = city_registry(max(1, branches // 10))
    with db.session_scope(engine) as session:
        importer.apply(
            session, registry, prune=False, default_profile="national", as_of=AS_OF, track_from=TRACKED
        )
        summary = planner.plan(session, load_profiles(), AS_OF, planstate.default_horizon(AS_OF))
    log(f"setup: {len(registry.members):,} members, {summary.inserted:,} tasks")


def plan_floor(engine: Any, tmp: Path, contexts: list[bytes]) -> tuple[float, float, int]:
    """The floor of planning: (seconds inserting the reminder rows, seconds rendering the digests, rows)."""
    with engine.connect() as connection:
        query = text(f"SELECT {', '.join(REMINDER_COLUMNS)} FROM reminder ORDER BY id")
        rows: list[tuple[Any, ...]] = [tuple(row) for row in connection.execute(query)]
    floor_rows = len(rows)
    if engine.dialect.name == "postgresql":
        insert_seconds = postgres_floor(engine, REMINDER_COLUMNS, rows, copy=True, table="reminder")
    else:
        # Stored as SQLite stores them (ISO text): the floor pays nothing for adapting values.
        text_rows = [
            tuple(value.isoformat() if isinstance(value, dt.date) else value for value in row) for row in rows
        ]
        floor_dir = tmp / "floor"
        floor_dir.mkdir()
        insert_seconds = sqlite_floor(floor_dir, REMINDER_COLUMNS, text_rows, table="reminder")
        del text_rows
    del rows
    if contexts:
        render.render_digest(pickle.loads(contexts[0]))  # compiles the templates, once
    rendering = 0.0
    for blob in contexts:
        context = pickle.loads(blob)  # one at a time, untimed
        started = time.perf_counter()
        render.render_digest(context)
        rendering += time.perf_counter() - started
    return insert_seconds, rendering, floor_rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--branches", type=int, default=10000, help="branches (10 per committee)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("OBLIGATIONS_TEST_POSTGRES_URL"))
    parser.add_argument("--profile", type=Path, help="write cProfile statistics of the planning stage here")
    parser.add_argument("--skip-delivery", action="store_true", help="plan and its floor only")
    args = parser.parse_args()
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))

    tmp = Path(tempfile.mkdtemp(prefix="bench-reminders-"))
    if args.backend == "postgresql":
        if not args.postgres_url:
            sys.exit(
                "--postgres-url or OBLIGATIONS_TEST_POSTGRES_URL is needed (scripts/with-postgres sets it)"
            )
        url = db.resolve_url(args.postgres_url, tmp)
    else:
        url = f"sqlite:///{tmp / 'bench.db'}"

    # The city is imported and planned in a process of its own, so that this one's peak memory is the sweep's.
    started = time.perf_counter()
    setup_process = multiprocessing.get_context("spawn").Process(target=setup, args=(url, args.branches))
    setup_process.start()
    setup_process.join()
    if setup_process.exitcode != 0:
        sys.exit(f"setup failed with exit code {setup_process.exitcode}")
    setup_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    log(f"setup {time.perf_counter() - started:.1f} s (peak RSS {setup_rss:,.0f} MiB)")
    engine = db.make_engine(url)
    profiles = load_profiles()
    with db.session_scope(engine) as session:
        total_tasks = session.scalar(select(func.count()).select_from(Task)) or 0
        members = session.scalar(select(func.count()).select_from(Member)) or 0

    # The SMTP sink runs in a process of its own too: in this one it would share the sender's event loop and GIL.
    port = free_port()
    count_file = tmp / "sink-count"
    sink = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("smtp_sink.py")), "--port", str(port),
         "--count-file", str(count_file)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"

    settings = reminders.Settings(
        office_hours=OfficeHours.parse("08:30-18:00", WorkCalendar()), channels=("email",)
    )

    # Every digest's context is kept as planning renders it, for the floor to render the same digests again:
    # pickled (bytes are not tracked by the garbage collector, so that hundreds of thousands of live
    # contexts do not slow planning's collections down), the time spent pickling taken out of planning's.
    kept: list[bytes] = []
    keeping = [0.0]

    def keep(context: Any, **options: Any) -> render.RenderedDigest:
        began = time.perf_counter()
        kept.append(pickle.dumps(context, protocol=pickle.HIGHEST_PROTOCOL))
        keeping[0] += time.perf_counter() - began
        return render.render_digest(context, **options)

    digests.render_digest = keep  # type: ignore[assignment]
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    with db.session_scope(engine) as session:
        if profiler:
            profiler.enable()
        planned = reminders.plan_messages(session, profiles, SWEEP_AT, settings)
    plan_seconds = time.perf_counter() - started - keeping[0]
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    digests.render_digest = render.render_digest
    log(f"plan {plan_seconds:.1f} s: {planned.reminders:,} reminders in {planned.messages:,} digests")
    insert_seconds, render_seconds, floor_rows = plan_floor(engine, tmp, kept)
    floor_plan = insert_seconds + render_seconds
    log(
        f"plan floor {floor_plan:.1f} s: {floor_rows:,} reminder rows inserted in {insert_seconds:.1f} s,"
        f" {len(kept):,} digests rendered in {render_seconds:.1f} s"
    )
    kept.clear()
    plan_ratio = plan_seconds / floor_plan if floor_plan else 0.0
    plan_verdict = "met" if plan_ratio <= TARGET_FLOOR_RATIO else "MISSED"
    plan_figures = [
        f"backend                    {args.backend}",
        f"branches / members / tasks {args.branches:,} / {members:,} / {total_tasks:,}",
        f"reminders planned          {planned.reminders:,} in {planned.messages:,} digests",
        f"plan                       {plan_seconds:,.1f} s",
        f"reminders planned / s      {planned.reminders / plan_seconds:,.0f}",
        f"plan floor                 {floor_plan:,.1f} s ({insert_seconds:,.1f} s inserting"
        f" {floor_rows:,} reminders, {render_seconds:,.1f} s rendering {planned.messages:,} digests)",
        f"plan / floor               {plan_ratio:.2f}×  (target ≤ {TARGET_FLOOR_RATIO:.0f}×: {plan_verdict})",
    ]
    if args.skip_delivery:
        sink.terminate()
        sink.wait(timeout=60)
        print()
        print("\n".join(plan_figures))
        return

    channel = EmailChannel("127.0.0.1", port, "none", None, None, "党建提醒 <dangjian@example.org>", 30.0)

    async def deliver() -> tuple[int, int, int]:
        try:
            return await reminders.deliver(
                engine, {"email": channel}, SWEEP_AT, settings, worker="bench", rng=random.Random(1)
            )
        finally:
            await channel.aclose()

    started = time.perf_counter()
    sent, retried, failed = asyncio.run(deliver())
    deliver_seconds = time.perf_counter() - started
    log(f"deliver {deliver_seconds:.1f} s: {sent:,} sent, {retried} retrying, {failed} failed")

    with db.session_scope(engine) as session:
        sample = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.state) == "sent").limit(200)
        ).all()
    sizes = [len(m.text) + len(m.html or "") for m in sample] or [1000]
    body_text = "提醒" * (sum(sizes) // len(sizes) // 6)

    async def floor(count: int) -> float:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        await client.connect()
        began = time.perf_counter()
        for index in range(count):
            message = EmailMessage()
            message["From"] = "dangjian@example.org"
            message["To"] = f"m{index}@example.org"
            message["Subject"] = "【党建提醒】基准"
            message.set_content(body_text)
            await client.send_message(message)
        elapsed = time.perf_counter() - began
        await client.quit()
        return elapsed

    floor_seconds = asyncio.run(floor(sent))
    log(f"floor {floor_seconds:.1f} s for {sent:,} messages over one connection")

    idle = []
    for _ in range(5):
        started = time.perf_counter()
        with db.session_scope(engine) as session:
            again = reminders.plan_messages(session, profiles, SWEEP_AT, settings)
        idle.append((time.perf_counter() - started) * 1000)
        assert again.reminders == 0, again.reminders
    sink.terminate()
    sink.wait(timeout=60)
    received = int(count_file.read_text().split()[0])

    rate = sent / deliver_seconds if deliver_seconds else 0.0
    floor_rate = sent / floor_seconds if floor_seconds else 0.0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print("\n".join(plan_figures))
    print(f"messages delivered / s     {rate:,.0f} ({sent:,} sent in {deliver_seconds:,.1f} s)")
    print(f"sink received              {received:,} (expected {2 * sent:,}: the sweep's and the floor's)")
    print(f"floor (bare aiosmtplib) /s {floor_rate:,.0f}")
    ratio = rate / floor_rate if floor_rate else 0.0
    print(f"delivery / floor           {ratio:.1%}  (target ≥ 50%: {'met' if ratio >= 0.5 else 'MISSED'})")
    best = min(idle)
    print(
        f"idle sweep                 {best:.1f} ms best of 5 (target < 50 ms: {'met' if best < 50 else 'MISSED'})"
    )
    print(f"peak RSS, sweep process    {rss:,.0f} MiB (setup process {setup_rss:,.0f} MiB)")


if __name__ == "__main__":
    main()
