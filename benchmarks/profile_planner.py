"""Profile one stage of the benchmark (cProfile) on a synthetic city, on SQLite or PostgreSQL.

    .venv/bin/python benchmarks/profile_planner.py --branches 1000 --stage plan
    .venv/bin/python benchmarks/profile_planner.py --branches 1000 --stage validate --sort tottime

Stages: validate, import, plan, reconcile (plan --all on a planned database), due (whole tree), due-subtree.
Prints the top functions; --out writes the raw pstats file (for snakeviz or pstats).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import sys
import tempfile
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from city import BRANCHES_PER_COMMITTEE, city_registry

from calendars.profiles import load_profiles
from obligations import db, duelist, importer, planner, planstate
from obligations.registry import Registry, validate

AS_OF = dt.date(2026, 11, 21)
TRACKED = dt.date(2025, 1, 1)  # tracked since before the window: the same plan as before 跟踪起始


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--branches", type=int, default=1000)
    parser.add_argument(
        "--stage", choices=("validate", "import", "plan", "reconcile", "due", "due-subtree"), default="plan"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("OBLIGATIONS_TEST_POSTGRES_URL"))
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (cumulative, tottime, …)")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    registry = city_registry(max(1, args.branches // BRANCHES_PER_COMMITTEE))
    profiles = load_profiles()
    horizon = planstate.default_horizon(AS_OF)
    with tempfile.TemporaryDirectory(prefix="profile-planner-") as directory:
        tmp = Path(directory)
        if args.backend == "sqlite":
            url = db.resolve_url(f"sqlite:///{tmp / 'profile.db'}", tmp)
        else:
            url = db.resolve_url(args.postgres_url, tmp)
            engine = db.make_engine(url)
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            engine.dispose()
        engine = db.make_engine(url, create=True)
        db.upgrade(engine)
        profiler = cProfile.Profile()

        if args.stage == "validate":
            profiler.enable()
            validate(registry, file="city", existing=Registry(), as_of=AS_OF, profiles=profiles)
            profiler.disable()
        else:
            if args.stage == "import":
                profiler.enable()
            with db.session_scope(engine) as session:
                importer.apply(
                    session,
                    registry,
                    prune=False,
                    default_profile="national",
                    as_of=AS_OF,
                    track_from=TRACKED,
                )
            profiler.disable()
            if args.stage == "plan":
                profiler.enable()
            with db.session_scope(engine) as session:
                planner.plan(session, profiles, AS_OF, horizon)
            profiler.disable()
            if args.stage == "reconcile":
                with db.session_scope(engine) as session:
                    profiler.enable()
                    planner.plan(session, profiles, AS_OF, horizon, everything=True)
                    profiler.disable()
            if args.stage in ("due", "due-subtree"):
                with db.session_scope(engine) as session:
                    org = "c7" if args.stage == "due-subtree" else None
                    duelist.due_rows(session, profiles, as_of=AS_OF, org=org)  # warm up
                    profiler.enable()
                    duelist.due_rows(session, profiles, as_of=AS_OF, org=org)
                    profiler.disable()
        engine.dispose()

    stats = pstats.Stats(profiler)
    if args.out:
        stats.dump_stats(args.out)
    stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
