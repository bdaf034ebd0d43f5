"""Benchmark of the web desk under load: 50 branch secretaries of a synthetic city (benchmarks/city.py) loading
我的待办 and submitting records through uvicorn, beside a bare Starlette endpoint that runs the same query.

    scripts/with-postgres .venv/bin/python benchmarks/bench_web.py --backend postgresql
    .venv/bin/python benchmarks/bench_web.py --branches 1000 --backend sqlite

The city is imported and planned as of 2026-11-21 into a fresh database (a SQLite file in a temporary folder, or
PostgreSQL's public schema dropped and recreated), every branch secretary gets an account, and the desk is
started in a server process of its own (uvicorn; `--workers N` runs gunicorn with N uvicorn workers), its clock
fixed at 2026-11-21 09:00 Beijing time. The same process also serves `GET /_bench/mine`: a bare Starlette
endpoint, without session, scope or template, that runs the query behind 我的待办 (obligations.duelist.due_rows
with the secretary's `Mine`) through the same engine and driver, in the same thread pool, and answers JSON.

The client (httpx.AsyncClient, one per secretary, all at once) signs the secretaries in, then measures:

  bare        GET /_bench/mine?member=…&orgs=…  `--requests` times per secretary
  我的待办     GET / (signed in)                 `--requests` times per secretary
  task page   GET /tasks/{id} (its CSRF token and roster), for up to `--records` meetings of each
              secretary's 我的待办 (a 支委会, 党小组会 or 主题党日)
  record      POST /tasks/{id}/record, held on 2026-11-20 with everyone attending; saved = a 303

and reports p50 and p99 latency, throughput and errors per phase. Target: p99 of 我的待办 ≤ 3 × the bare
endpoint's p99, and no error. It is a report, not a test: it always exits 0; every failed request is counted
and its first occurrences are shown (status, URL, the page's message).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import html
import json
import os
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from city import BRANCHES_PER_COMMITTEE, city_registry
from sqlalchemy import insert, text

from calendars.model import OrgKind, Role
from calendars.profiles import load_profiles
from obligations import accounts, db, duelist, importer, planner, planstate
from obligations.models import Account
from obligations.registry import Registry

AS_OF = dt.date(2026, 11, 21)
CLOCK = dt.datetime(2026, 11, 21, 1, 0, tzinfo=dt.UTC)  # 09:00 in Beijing
TRACKED = dt.date(2025, 1, 1)
HELD_ON = "2026-11-20"
PASSWORD = "bench1234"
MEETINGS = ("支部委员会会议", "党小组会", "主题党日")  # recorded with everyone attending
ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 3.0
KEEP_ALIVE = 75  # seconds, as nginx's keepalive_timeout


# --- the server: the desk and the bare endpoint, in one process ----------------------------------------------


def bench_app() -> Any:
    """The desk plus `/_bench/mine`, configured from BENCH_CONFIG and BENCH_DATABASE_URL (also the factory
    gunicorn calls: `bench_web:bench_app()`)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from obligations.config import load_config
    from obligations.web import create_app
    from obligations.web.todo import WITHIN_DAYS

    config = load_config(Path(os.environ["BENCH_CONFIG"]), required=True)
    engine = db.make_engine(os.environ["BENCH_DATABASE_URL"])
    profiles = load_profiles()
    app = create_app(config, engine, profiles, clock=lambda: CLOCK)

    async def bare(request: Request) -> Response:
        member = request.query_params["member"]
        orgs = frozenset(request.query_params["orgs"].split(","))

        def load() -> list[int]:
            with db.session_scope(engine) as session:
                rows = duelist.due_rows(
                    session, profiles, as_of=AS_OF, within=WITHIN_DAYS, mine=duelist.Mine(member, orgs)
                )
                return [row.task_id for row in rows]

        return JSONResponse(await run_in_threadpool(load))

    app.router.routes.insert(0, Route("/_bench/mine", bare, methods=["GET"]))
    return app


def serve(port: int) -> None:
    import uvicorn

    # Keep-alive as long as a proxy's: a secretary's connection idles while the others finish a phase.
    uvicorn.run(
        bench_app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE,
    )


# --- preparing the city --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Secretary:
    member: str
    branch: str
    orgs: tuple[str, ...]  # the branch and its 党小组: what the secretary records for


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _fresh_database(backend: str, tmp: Path, postgres_url: str | None) -> str:
    if backend == "sqlite":
        return db.resolve_url(f"sqlite:///{tmp / 'bench-web.db'}", tmp)
    if not postgres_url:
        raise SystemExit("no PostgreSQL URL: run under scripts/with-postgres or pass --postgres-url")
    url = db.resolve_url(postgres_url, tmp)
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def _secretaries(registry: Registry) -> list[Secretary]:
    kinds = {org.code: org.kind for org in registry.orgs}
    groups: dict[str, list[str]] = {}
    for org in registry.orgs:
        if org.kind == OrgKind.GROUP and org.parent:
            groups.setdefault(org.parent, []).append(org.code)
    return [
        Secretary(seat.member, seat.org, (seat.org, *groups.get(seat.org, [])))
        for seat in registry.positions
        if seat.role == Role.SECRETARY.value and kinds.get(seat.org) == OrgKind.BRANCH and seat.member
    ]


def prepare(url: str, branches: int) -> tuple[list[Secretary], dict[str, float]]:
    """Import and plan the city; open an account for every branch secretary (one shared password hash)."""
    timings: dict[str, float] = {}
    profiles = load_profiles()
    engine = db.make_engine(url, create=True)
    db.upgrade(engine)
    registry = city_registry(max(1, branches // BRANCHES_PER_COMMITTEE))
    secretaries = _secretaries(registry)
    started = time.perf_counter()
    with db.session_scope(engine) as session:
        importer.apply(
            session, registry, prune=False, default_profile="national", as_of=AS_OF, track_from=TRACKED
        )
    timings["import"] = time.perf_counter() - started
    _log(f"imported {len(registry.orgs)} organizations, {len(registry.members)} members")
    del registry
    started = time.perf_counter()
    with db.session_scope(engine) as session:
        planned = planner.plan(session, profiles, AS_OF, planstate.default_horizon(AS_OF))
    timings["plan"] = time.perf_counter() - started
    _log(f"planned {planned.inserted} tasks")
    password_hash = accounts.hash_password(PASSWORD)
    with engine.begin() as connection:
        connection.execute(
            insert(Account),
            [
                {
                    "member": secretary.member,
                    "password_hash": password_hash,
                    "created_at": CLOCK,
                    "password_changed_at": CLOCK,
                    "disabled": False,
                    "failed_logins": 0,
                }
                for secretary in secretaries
            ],
        )
    _log(f"{len(secretaries)} accounts")
    engine.dispose()
    return secretaries, timings


# --- the load ------------------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies) + sum(self.errors.values())

    def percentile(self, p: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]

    def summary(self) -> dict[str, Any]:
        p50, p99 = self.percentile(50), self.percentile(99)
        return {
            "phase": self.name,
            "requests": self.requests,
            "errors": sum(self.errors.values()),
            "p50_ms": None if p50 is None else round(p50 * 1000, 1),
            "p99_ms": None if p99 is None else round(p99 * 1000, 1),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 1) if self.latencies else None,
            "per_second": round(len(self.latencies) / self.seconds, 1) if self.seconds else None,
            "first_errors": [f"{count} × {error}" for error, count in self.errors.most_common(5)],
        }


def _message(response: httpx.Response) -> str:
    """The Chinese message of an error page (or the start of the body)."""
    found = re.search(r'class="(?:field-problem|problem|message)"[^>]*>(.*?)<', response.text, re.S)
    text_ = found.group(1) if found else re.sub(r"<[^>]+>", " ", response.text)
    return html.unescape(" ".join(text_.split()))[:120]


async def _timed(
    phase: Phase, call: Awaitable[httpx.Response], ok: Callable[[httpx.Response], bool], what: str
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await call
    except httpx.HTTPError as error:
        phase.errors[f"{what}: {type(error).__name__} {error}"[:200]] += 1
        return None
    elapsed = time.perf_counter() - started
    if not ok(response):
        phase.errors[f"{what} → {response.status_code} {_message(response)}"] += 1
        return None
    phase.latencies.append(elapsed)
    return response


def _origin(base: str) -> dict[str, str]:
    return {"origin": base}


async def sign_in(client: httpx.AsyncClient, member: str) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no sign-in form"
    response = await client.post(
        "/login", data={"member": member, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}
    )
    if response.status_code != 303:
        raise SystemExit(f"sign-in of {member} failed: {response.status_code} {_message(response)}")


async def run_phase(
    name: str, clients: list[tuple[Secretary, httpx.AsyncClient]], work: Callable[..., Awaitable[None]]
) -> Phase:
    phase = Phase(name)
    started = time.perf_counter()
    await asyncio.gather(*(work(phase, secretary, client) for secretary, client in clients))
    phase.seconds = time.perf_counter() - started
    return phase


def _meetings(todo_html: str, wanted: int) -> list[int]:
    """Task ids of the open meetings listed on a 我的待办 page (first `wanted`)."""
    found = []
    for task_id, title in re.findall(r'href="/tasks/(\d+)">\s*<span class="title">([^<]+)<', todo_html):
        if any(title.startswith(meeting) for meeting in MEETINGS):
            found.append(int(task_id))
    return found[:wanted]


async def load(args: argparse.Namespace, base: str, secretaries: list[Secretary]) -> list[Phase]:
    step = max(1, len(secretaries) // args.secretaries)
    chosen = secretaries[::step][: args.secretaries]
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    clients = [
        (s, httpx.AsyncClient(base_url=base, headers=_origin(base), timeout=120, limits=limits))
        for s in chosen
    ]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(sign_in(client, s.member) for s, client in clients))
        _log(f"{len(clients)} secretaries signed in in {time.perf_counter() - started:.1f}s")

        async def bare(phase: Phase, s: Secretary, client: httpx.AsyncClient) -> None:
            params = {"member": s.member, "orgs": ",".join(s.orgs)}
            for _ in range(args.requests):
                await _timed(
                    phase,
                    client.get("/_bench/mine", params=params),
                    lambda r: r.status_code == 200,
                    "GET /_bench/mine",
                )

        async def todo(phase: Phase, s: Secretary, client: httpx.AsyncClient) -> None:
            for _ in range(args.requests):
                await _timed(
                    phase, client.get("/"), lambda r: r.status_code == 200 and "我的待办" in r.text, "GET /"
                )

        todo_pages: dict[str, str] = {}

        task_pages = Phase("task page")

        async def record(phase: Phase, s: Secretary, client: httpx.AsyncClient) -> None:
            for task_id in _meetings(todo_pages[s.member], args.records):
                page = await _timed(
                    task_pages,
                    client.get(f"/tasks/{task_id}"),
                    lambda r: r.status_code == 200,
                    "GET /tasks/{id}",
                )
                if page is None:
                    continue
                token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                roster = sorted(set(re.findall(r'name="attendee"[^>]*value="([^"]+)"', page.text)))
                form = {
                    "csrf_token": token.group(1) if token else "",
                    "on": HELD_ON,
                    "place": "党员活动室",
                    "host": s.member,
                    "topic": "基准测试登记",
                    "attendee": roster,
                }
                await _timed(
                    phase,
                    client.post(f"/tasks/{task_id}/record", data=form),
                    lambda r: r.status_code == 303,  # saved: back to the task page; problems are a 422
                    "POST /tasks/{id}/record",
                )

        # Warm-up (not measured): each endpoint once per secretary; keep the 我的待办 pages for the records.
        warm = Phase("warm-up")
        for s, client in clients:
            params = {"member": s.member, "orgs": ",".join(s.orgs)}
            await _timed(
                warm, client.get("/_bench/mine", params=params), lambda r: r.status_code == 200, "bare"
            )
            page = await _timed(warm, client.get("/"), lambda r: r.status_code == 200, "GET /")
            todo_pages[s.member] = page.text if page is not None else ""
        phases = [
            await run_phase("bare endpoint", clients, bare),
            await run_phase("我的待办", clients, todo),
        ]
        if args.records:
            recorded = await run_phase("record", clients, record)
            task_pages.seconds = recorded.seconds
            phases += [task_pages, recorded]
        if warm.errors:
            phases.insert(0, warm)
        return phases
    finally:
        await asyncio.gather(*(client.aclose() for _s, client in clients))


# --- the run -------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_server(args: argparse.Namespace, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    if args.workers:
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "-k",
            "uvicorn_worker.UvicornWorker",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--chdir",
            str(Path(__file__).resolve().parent),
            "--log-level",
            "warning",
            "--keep-alive",
            str(KEEP_ALIVE),
            "bench_web:bench_app()",
        ]
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve", str(port)]
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.Popen(command, env={**env, "PYTHONPATH": pythonpath}, start_new_session=True)


def _wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}")
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer /login within 120 s")


def _code_version() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "obligations", "calendars"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def report(args: argparse.Namespace, phases: list[Phase], facts: dict[str, Any]) -> dict[str, Any]:
    rows = [phase.summary() for phase in phases]
    by_name = {row["phase"]: row for row in rows}
    bare, todo = by_name.get("bare endpoint"), by_name.get("我的待办")
    ratio = None
    if bare and todo and bare["p99_ms"] and todo["p99_ms"]:
        ratio = round(todo["p99_ms"] / bare["p99_ms"], 2)
    errors = sum(row["errors"] for row in rows)
    print(f"command: {facts['command']}")
    print(
        f"code: {facts['code']}; backend {args.backend}; {facts['branches']} branches, {facts['tasks']} tasks"
    )
    print(
        f"server: {'gunicorn, ' + str(args.workers) + ' uvicorn workers' if args.workers else 'uvicorn, 1 process'}; "
        f"{len(facts['secretaries'])} concurrent secretaries, {args.requests} requests each per read phase"
    )
    print()
    header = f"{'phase':<16}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'req/s':>8}"
    print(header)
    print("-" * len(header))
    for row in rows:
        cells = [
            row[key] if row[key] is not None else "—" for key in ("p50_ms", "p99_ms", "mean_ms", "per_second")
        ]
        name = row["phase"] + " " * (16 - len(row["phase"]) - sum(1 for c in row["phase"] if ord(c) > 0x2E80))
        print(
            f"{name}{row['requests']:>9}{row['errors']:>8}"
            + "".join(f"{cell:>9}" for cell in cells[:3])
            + f"{cells[3]:>8}"
        )
    print()
    verdict = "met" if ratio is not None and ratio <= TARGET_RATIO and errors == 0 else "NOT met"
    print(
        f"target: p99 of 我的待办 ≤ {TARGET_RATIO:g} × the bare endpoint's p99, no error — "
        f"ratio {ratio if ratio is not None else '—'}, {errors} errors: {verdict}"
    )
    for row in rows:
        for error in row["first_errors"]:
            print(f"  {row['phase']}: {error}")
    return {"rows": rows, "ratio": ratio, "errors": errors, "verdict": verdict, **facts}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--branches", type=int, default=10_000, help="branches in the city (10 per committee)"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("OBLIGATIONS_TEST_POSTGRES_URL"),
        help="a database whose public schema is DROPPED (default: $OBLIGATIONS_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--secretaries", type=int, default=50, help="concurrent secretaries (default 50)")
    parser.add_argument("--requests", type=int, default=20, help="requests per secretary per read phase")
    parser.add_argument("--records", type=int, default=2, help="meetings each secretary records (0: none)")
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn with N uvicorn workers (default: uvicorn)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    if args.serve:
        serve(args.serve)
        return
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    with tempfile.TemporaryDirectory(prefix="bench-web-") as directory:
        tmp = Path(directory)
        url = _fresh_database(args.backend, tmp, args.postgres_url)
        secretaries, timings = prepare(url, args.branches)
        engine = db.make_engine(url)
        with engine.connect() as connection:
            tasks = connection.execute(text("SELECT count(*) FROM task")).scalar_one()
        engine.dispose()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        config = tmp / "config.toml"
        config.write_text(
            f'[web]\npublic_url = "{base}"\n[ledger]\nattachments = "{(tmp / "attachments").as_posix()}"\n',
            encoding="utf-8",
        )
        env = {**os.environ, "BENCH_CONFIG": str(config), "BENCH_DATABASE_URL": url}
        server = _start_server(args, port, env)
        try:
            _wait_until_up(base, server)
            phases = asyncio.run(load(args, base, secretaries))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
        facts = {
            "command": command,
            "code": _code_version(),
            "branches": args.branches,
            "tasks": tasks,
            "secretaries": [s.member for s in secretaries[:: max(1, len(secretaries) // args.secretaries)]][
                : args.secretaries
            ],
            "prepare_seconds": {name: round(value, 1) for name, value in timings.items()},
        }
        result = report(args, phases, facts)
        if args.json:
            args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
