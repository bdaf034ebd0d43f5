"""Benchmark: how long the command line takes to answer, as whole processes, against the imports it cannot avoid.

    .venv/bin/python benchmarks/bench_cli.py --runs 7

Four processes, each run `--runs` times in turn (interleaved, so that a burst of load on a shared machine falls
on all of them alike), measured as the child's CPU time (user + system, from os.wait4) and its wall time:

- `obligations --help`, against `python -c "import click"`: listing the commands must not import them
  (target: at most 2x the click import's CPU time);
- `obligations due` on the demo, against `python -c "import sqlmodel"`: the most used command, which needs the
  tables and the database but no migrations, channels, templates or office formats (target: at most 1.3x).

`python -c "import obligations.tables"` is timed too, for scale: the schema in SQLAlchemy Core, which is what
`due` reads on a current plan; and `python -c "import obligations.models"`, the SQLModel classes mapped onto it,
which `due` no longer loads (the floor it set before).

The demo is built first in a temporary folder with `obligations init --demo --as-of 2026-11-20` and planned
with `obligations plan --as-of 2026-11-20` (the stored plan is current, as the daemon keeps it; a replay on a
stale plan would re-plan inside its rolled-back transaction on every run), and `due` runs `--as-of 2026-11-20`
there, so that every run reads the same thing. The figures are medians. The processes run this checkout's code
(PYTHONPATH) with this interpreter. Exits 1 when a target is missed, unless `--report-only`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-20"
OBLIGATIONS = [sys.executable, "-c", "from obligations.cli import main; main()"]


@dataclass(frozen=True)
class Figures:
    cpu: float  # median user + system seconds of the child
    wall: float  # median wall seconds


@dataclass(frozen=True)
class Target:
    command: str
    reference: str
    most: float  # the command's CPU time may be at most this many times the reference's


TARGETS = (Target("obligations --help", 'python -c "import click"', 2.0),
           Target("obligations due", 'python -c "import sqlmodel"', 1.3))  # fmt: skip


def run_once(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """One process to its end: (user + system CPU seconds, wall seconds). Its output is discarded; a failure
    stops the benchmark, since a command that failed early would look fast."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(argv), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {process.returncode}:\n{errors.decode(errors='replace')}")
    return usage.ru_utime + usage.ru_stime, wall


def measure(commands: dict[str, list[str]], runs: int, cwd: Path, env: dict[str, str]) -> dict[str, Figures]:
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for argv in commands.values():  # one unmeasured run each: the bytecode caches are written
        run_once(argv, cwd, env)
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(run_once(argv, cwd, env))
    return {
        name: Figures(
            statistics.median(cpu for cpu, _ in runs_), statistics.median(wall for _, wall in runs_)
        )
        for name, runs_ in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=7, help="runs of each command (default 7); the median counts"
    )
    parser.add_argument("--report-only", action="store_true", help="exit 0 even when a target is missed")
    options = parser.parse_args()

    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    env.pop("OBLIGATIONS_CONFIG", None)
    env.pop("OBLIGATIONS_DATABASE_URL", None)
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as folder:
        demo = Path(folder)
        for setup in (["init", "--demo", "--as-of", AS_OF], ["plan", "--as-of", AS_OF]):
            subprocess.run(
                [*OBLIGATIONS, *setup], cwd=demo, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )  # fmt: skip
        commands = {
            "obligations --help": [*OBLIGATIONS, "--help"],
            'python -c "import click"': [sys.executable, "-c", "import click"],
            "obligations due": [*OBLIGATIONS, "due", "--as-of", AS_OF],
            'python -c "import sqlmodel"': [sys.executable, "-c", "import sqlmodel"],
            # for scale, not targets: the Core schema due reads, and the ORM models it no longer loads
            'python -c "import obligations.tables"': [sys.executable, "-c", "import obligations.tables"],
            'python -c "import obligations.models"': [sys.executable, "-c", "import obligations.models"],
        }
        figures = measure(commands, options.runs, demo, env)

    print(
        f"bench_cli: {options.runs} runs each, medians; {sys.executable}; load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{'process':40} {'CPU (user+sys)':>15} {'wall':>9}")
    for name, measured in figures.items():
        print(f"{name:40} {measured.cpu * 1000:12.0f} ms {measured.wall * 1000:6.0f} ms")
    missed = 0
    for target in TARGETS:
        ratio = figures[target.command].cpu / figures[target.reference].cpu
        wall_ratio = figures[target.command].wall / figures[target.reference].wall
        held = ratio <= target.most
        missed += not held
        print(
            f"{target.command} / {target.reference}: CPU {ratio:.2f}x, wall {wall_ratio:.2f}x "
            f"(target CPU <= {target.most}x): {'met' if held else 'MISSED'}"
        )
    if missed and not options.report_only:
        sys.exit(1)


if __name__ == "__main__":
    main()
