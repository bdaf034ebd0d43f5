"""Benchmark: `obligations import 名册.xlsx --dry-run` of a large members roster, its peak memory and time.

    .venv/bin/python benchmarks/bench_import_xlsx.py --rows 50000

A workbook of `--rows` members (openpyxl's write-only mode: a title row merged above the header, Excel date
cells, mobiles stored as numbers) spread over 100 branches of a committee that is imported first. Each stage
runs in a fresh process, which reports its own peak RSS (resource.getrusage: ru_maxrss) and wall time:

- xlsx: `import --dry-run` of the workbook — read (openpyxl read-only, streamed), validated, applied inside
  a transaction that is rolled back;
- csv: the same roster as a CSV, through the same row pipeline — the reference the workbook should match;
- xlsx, a tenth: the same with a tenth of the rows, to show how memory grows with the roster;
- read: `registry.read_registry` alone on the workbook and on the CSV, under tracemalloc (slower), whose peak
  is the reader's own Python allocations: the records it returns, plus for the CSV the text and rows it holds;
- openpyxl full load: `load_workbook` without read_only, what reading the sheet whole would cost before any
  row is looked at.

The memory of a dry run grows with the members it must validate and write (one small record each), not with
the workbook's size: the sheet is never held whole. Nothing here is a test; it always exits 0.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BRANCHES = 100
HEADERS = ("编号", "姓名", "所在组织", "人员类别", "入党日期", "手机", "邮箱")


def orgs_toml(path: Path) -> None:
    lines = ['[[org]]\ncode = "bm"\nname = "基准党委"\nkind = "committee"\nelected_on = 2024-01-10\n']
    for index in range(BRANCHES):
        lines.append(
            f'[[org]]\ncode = "bm.b{index:03d}"\nname = "第{index + 1}党支部"\nkind = "branch"\n'
            f'parent = "bm"\nelected_on = 2024-03-01\n'
        )
    path.write_text("\n".join(lines), encoding="utf-8")


def roster_rows(rows: int) -> list[tuple[object, ...]]:
    return [
        (
            f"bm{number:06d}",
            f"党员{number}",
            f"bm.b{number % BRANCHES:03d}",
            "正式党员",
            dt.datetime(1990 + number % 30, 1 + number % 12, 1 + number % 28),
            float(13900000000 + number),  # a mobile stored as a number, as Excel keeps it
            f"m{number}@example.org",
        )
        for number in range(rows)
    ]


def write_xlsx(path: Path, rows: int) -> None:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("党员名册")
    title = WriteOnlyCell(sheet, value="基准党委党员名册")
    sheet.append([title])
    sheet.merged_cells.ranges.add("A1:G1")  # write-only sheets take the range directly
    sheet.append(HEADERS)
    for row in roster_rows(rows):
        sheet.append(row)
    book.save(path)


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        for code, name, org, status, joined, mobile, email in roster_rows(rows):
            assert isinstance(joined, dt.datetime) and isinstance(mobile, float)
            writer.writerow((code, name, org, status, joined.date().isoformat(), int(mobile), email))


def child(stage: str, args: list[str]) -> None:
    """One stage in this process: prints {"seconds", "peak_rss_mb", "output"} as JSON."""
    start = time.perf_counter()
    if stage == "read":
        import tracemalloc

        import obligations.workbook  # noqa: F401  (openpyxl's modules are not the reader's allocations)
        from obligations.registry import read_registry

        tracemalloc.start()
        members = len(read_registry(Path(args[0])).members)
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        output = f"{members} members read, tracemalloc peak {traced:.0f} MB"
    elif stage == "full-load":
        import openpyxl

        openpyxl.load_workbook(args[0]).close()
        output = ""
    else:
        from click.testing import CliRunner

        from obligations.cli import cli

        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        output = next((line for line in result.stdout.splitlines() if line.startswith("试运行")), "")
        if result.exit_code != 0:
            output = f"exit {result.exit_code}: {result.stderr[-500:]}"
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps({"seconds": seconds, "peak_rss_mb": peak_kb / 1024, "output": output}, ensure_ascii=False)
    )


def measure(stage: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", stage, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        return {"seconds": 0.0, "peak_rss_mb": 0.0, "output": done.stderr[-800:]}
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--child", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    if options.child:
        child(options.child[0], options.child[1:])
        return

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        config, database = work / "config.toml", work / "obligations.db"
        base = ["--config", str(config), "--db", f"sqlite:///{database}"]
        orgs_toml(work / "orgs.toml")
        for command in (["init"], ["import", str(work / "orgs.toml"), "--as-of", "2026-11-21"]):
            setup = measure("cli", *base, *command)
            assert not str(setup["output"]).startswith("exit"), setup
        started = time.perf_counter()
        write_xlsx(work / "members.xlsx", options.rows)
        written = time.perf_counter() - started
        write_xlsx(work / "tenth.xlsx", options.rows // 10)
        write_csv(work / "members.csv", options.rows)
        size = (work / "members.xlsx").stat().st_size / 1e6
        print(
            f"workbook: {options.rows} rows, {size:.1f} MB, written in {written:.1f} s (openpyxl write-only)"
        )

        dry = ["--as-of", "2026-11-21", "--dry-run"]
        stages = [
            (
                f"import --dry-run, xlsx, {options.rows} rows",
                "cli",
                [*base, "import", str(work / "members.xlsx"), *dry],
            ),
            (
                f"import --dry-run, csv, {options.rows} rows",
                "cli",
                [*base, "import", str(work / "members.csv"), *dry],
            ),
            (
                f"import --dry-run, xlsx, {options.rows // 10} rows",
                "cli",
                [*base, "import", str(work / "tenth.xlsx"), *dry],
            ),
            (f"read_registry only, xlsx, {options.rows} rows", "read", [str(work / "members.xlsx")]),
            (f"read_registry only, csv, {options.rows} rows", "read", [str(work / "members.csv")]),
            (
                f"openpyxl full load (no read_only), {options.rows} rows",
                "full-load",
                [str(work / "members.xlsx")],
            ),
        ]
        print(f"{'stage':58} {'time':>8} {'peak RSS':>10}")
        for label, stage, args in stages:
            figures = measure(stage, *args)
            print(f"{label:58} {figures['seconds']:7.1f}s {figures['peak_rss_mb']:8.0f} MB")
            if figures["output"]:
                print(f"    {figures['output']}")


if __name__ == "__main__":
    main()
