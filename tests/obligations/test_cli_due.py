"""The registry and `due` through the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from obligations import db
from obligations.cli import cli
from obligations.duelist import DUE_FIELDS
from tests.obligations.conftest import POSITIONS, _members, run


def test_init_creates_the_config_file_and_the_database(workspace: tuple[Path, str]) -> None:
    result = run(workspace, "init")
    assert result.exit_code == 0
    assert workspace[0].read_text(encoding="utf-8").startswith("# obligations 配置文件")
    head = db.head_revision()
    assert f"数据库已创建到版本 {head}" in result.stdout
    again = run(workspace, "init")
    assert f"数据库已是最新版本（{head}）" in again.stdout


def test_init_upgrades_a_database_of_the_first_version_keeping_its_data(imported: tuple[Path, str]) -> None:
    from alembic import command

    engine = db.make_engine(db.resolve_url(imported[1], imported[0].parent))
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), "0001")
    engine.dispose()
    assert run(imported, "due").exit_code == 5
    result = run(imported, "init")
    assert f"数据库已升级到版本 {db.head_revision()}" in result.stdout
    assert "jg.b1" in run(imported, "org", "list").stdout


def test_commands_refuse_a_database_that_was_never_initialized(workspace: tuple[Path, str]) -> None:
    workspace[0].write_text("", encoding="utf-8")  # a config file named with --config must exist
    result = run(workspace, "due")
    assert result.exit_code == 5
    assert "数据库尚未初始化" in result.stderr and "obligations init" in result.stderr


def test_commands_refuse_a_database_older_than_the_code(workspace: tuple[Path, str]) -> None:
    run(workspace, "init")
    engine = db.make_engine(db.resolve_url(workspace[1], workspace[0].parent))
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    engine.dispose()
    result = run(workspace, "due")
    assert result.exit_code == 5
    assert "比本程序新" in result.stderr or "旧于程序版本" in result.stderr


def test_due_json_has_exactly_the_documented_keys(imported: tuple[Path, str]) -> None:
    result = run(imported, "due", "--as-of", "2026-11-21", "--format", "json")
    assert result.exit_code == 0
    records = json.loads(result.stdout)
    assert records and all(tuple(record) == DUE_FIELDS for record in records)
    election = next(r for r in records if r["org"] == "jg.b1" and r["rule"] == "term-election")
    assert election == {
        **election,
        "org_name": "第一党支部",
        "title": "按期换届",
        "subject": "jg.b1",
        "period": "2023-11-20/P3Y",
        "period_start": "2023-11-20",
        "due": "2026-11-20",
        "status": "overdue",
        "assignee": "党员jgb1m1",
        "done_count": 0,
        "required_count": 1,
        "days_left": -1,
    }
    assert [r["due"] for r in records] == sorted(r["due"] for r in records)
    assert not [r for r in records if r["org"] == "jg.b2" and r["rule"] == "committee-meeting"]


def test_due_defaults_to_overdue_and_the_next_30_days(imported: tuple[Path, str]) -> None:
    records = json.loads(run(imported, "due", "--as-of", "2026-11-21", "--format", "json").stdout)
    assert all(r["days_left"] <= 30 and r["status"] in ("open", "overdue") for r in records)
    later = json.loads(
        run(imported, "due", "--as-of", "2026-11-21", "--within", "45", "--format", "json").stdout
    )
    wujin_life = [r for r in later if r["org"] == "jg.b2" and r["rule"] == "organizational-life-meeting"]
    assert [(r["period"], r["due"]) for r in wujin_life] == [
        ("2026-H1", "2026-06-30"),
        ("2026-H2", "2026-12-31"),
    ]
    overdue = json.loads(
        run(imported, "due", "--as-of", "2026-11-21", "--overdue", "--format", "json").stdout
    )
    assert overdue and all(r["status"] == "overdue" and r["days_left"] < 0 for r in overdue)


def test_due_for_an_org_covers_its_subtree_and_csv_has_the_same_fields(imported: tuple[Path, str]) -> None:
    result = run(imported, "due", "--as-of", "2026-11-21", "--org", "jg.b1", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == DUE_FIELDS
    assert {row["org"] for row in rows} == {"jg.b1", "jg.b1.g1"}


def test_the_due_table_is_chinese_and_colours_overdue_red_and_the_next_week_yellow(
    imported: tuple[Path, str],
) -> None:
    config, url = imported
    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "--db", url, "due", "--as-of", "2026-11-24", "--within", "40"],
        color=True,
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("截至 2026-11-24")
    assert "状态" in lines[1] and "期限" in lines[1] and "责任人" in lines[1]
    overdue = next(line for line in lines if "按期换届" in line)
    assert overdue.startswith("\x1b[31m") and "逾期 4 天" in overdue
    soon = next(line for line in lines if "支部委员会会议" in line and "2026-11-30" in line)
    assert soon.startswith("\x1b[33m") and "还剩 6 天" in soon
    later = next(line for line in lines if "支部委员会会议" in line and "2026-12-31" in line)
    assert not later.startswith("\x1b[") and "还剩 37 天" in later


def test_an_unknown_org_suggests_the_closest_codes(imported: tuple[Path, str]) -> None:
    result = run(imported, "due", "--org", "jg.b3")
    assert result.exit_code == 8
    assert "没有组织 'jg.b3'" in result.stderr and "jg.b1" in result.stderr


def test_an_unknown_rule_suggests_the_closest_ids(imported: tuple[Path, str]) -> None:
    result = run(imported, "due", "--rule", "commitee-meeting")
    assert result.exit_code == 8
    assert "committee-meeting" in result.stderr


def test_org_list_and_show_give_tree_positions_vacancies_and_term_end(imported: tuple[Path, str]) -> None:
    listing = run(imported, "org", "list").stdout
    assert "  jg.b1 " in listing and "    jg.b1.g1" in listing
    assert "2026-11-20" in listing and "2027-03-10" in listing
    shown = run(imported, "org", "show", "jg.b1").stdout
    assert "任期届满：2026-11-20" in shown
    assert "副书记：空缺（自 2026-06-01 起）" in shown
    assert "书记：党员jgb1m1" in shown


def test_a_bad_file_imports_nothing_and_lists_every_problem(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        textwrap.dedent(
            """
            [[org]]
            code = "jg.b9"
            name = "新支部"
            kind = "branch"
            parent = "jg"

            [[member]]
            id = "new1"
            name = "新党员"
            org = "jg.b9"
            status = "full"
            joined_on = "2026-02-30"

            [[position]]
            org = "jg.b9"
            role = "treasurer"
            member = "new1"
            """
        ),
        encoding="utf-8",
    )
    result = run(imported, "import", str(bad), "--as-of", "2026-11-21")
    assert result.exit_code == 4
    assert "第 8 行 [[member]] joined_on" in result.stderr and "2026-02-30" in result.stderr
    assert "第 15 行 [[position]] role" in result.stderr and "treasurer" in result.stderr
    listing = run(imported, "org", "list").stdout
    assert "jg.b9" not in listing
    future = tmp_path / "future.toml"
    future.write_text(
        bad.read_text(encoding="utf-8")
        .replace('"2026-02-30"', "2030-01-01")
        .replace("treasurer", "secretary"),
        encoding="utf-8",
    )
    result = run(imported, "import", str(future), "--as-of", "2026-11-21")
    assert result.exit_code == 4
    assert "2030-01-01" in result.stderr
    assert "jg.b9" not in run(imported, "org", "list").stdout


def test_dry_run_reports_and_writes_nothing(imported: tuple[Path, str], tmp_path: Path) -> None:
    extra = tmp_path / "extra.toml"
    extra.write_text(
        '[[org]]\ncode = "jg.b3"\nname = "第三党支部"\nkind = "branch"\nparent = "jg"\n', encoding="utf-8"
    )
    result = run(imported, "import", str(extra), "--dry-run", "--as-of", "2026-11-21")
    assert result.exit_code == 0 and "试运行（未写入）：组织：新增 1" in result.stdout
    assert "jg.b3" not in run(imported, "org", "list").stdout


def test_reimport_is_idempotent_and_prune_removes_what_the_file_no_longer_lists(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    registry = imported[0].parent / "registry.toml"
    again = run(imported, "import", str(registry), "--as-of", "2026-11-21")
    assert (
        "组织：新增 0，更新 0，移除 0；党员：新增 0，更新 0，移除 0；职务：新增 0，更新 0，移除 0"
        in again.stdout
    )
    smaller = tmp_path / "smaller.toml"
    text_without_b2 = registry.read_text(encoding="utf-8").split('[[org]]\ncode = "jg.b2"')[0]
    smaller.write_text(
        text_without_b2 + "\n" + _members().split('org = "jg.b2"')[0].rsplit("[[member]]", 1)[0] + POSITIONS,
        encoding="utf-8",
    )
    kept = run(imported, "import", str(smaller), "--as-of", "2026-11-21")
    assert kept.exit_code == 0, kept.stderr
    assert "jg.b2" in run(imported, "org", "list").stdout  # without --prune nothing is removed
    pruned = run(imported, "import", str(smaller), "--prune", "--yes", "--as-of", "2026-11-21")
    assert pruned.exit_code == 0, pruned.stderr
    assert "组织：新增 0，更新 0，移除 1" in pruned.stdout
    assert "jg.b2" not in run(imported, "org", "list").stdout
    records = json.loads(run(imported, "due", "--as-of", "2026-11-21", "--all", "--format", "json").stdout)
    assert not [r for r in records if r["org"] == "jg.b2"]


def test_plan_reports_and_is_a_no_op_the_second_time(imported: tuple[Path, str]) -> None:
    assert "任务计划已是最新" in run(imported, "plan", "--as-of", "2026-11-21").stdout
    result = run(imported, "plan", "--as-of", "2026-11-21", "--all")
    assert "新增 0，更新 0，移除 0" in result.stdout
    later = run(imported, "plan", "--as-of", "2028-01-05")
    assert "已计划 4 个组织（2027-01-01 至 2029-12-31）" in later.stdout


def test_a_gb18030_members_csv_with_chinese_headers_imports_by_org_name(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    sheet = tmp_path / "党员名册.csv"
    sheet.write_text(
        "姓名,所在组织,人员类别,入党日期,预备期开始日期,邮箱,企业微信,手机\r\n"
        "刘新,第二党支部,正式党员,2015/7/1,,liuxin@example.org,liuxin,13900000001\r\n"
        "陈预,第二党支部,预备党员,2026年3月15日,2026年3月15日,,chenyu,13900000002\r\n",
        encoding="gb18030",
    )
    result = run(imported, "import", str(sheet), "--as-of", "2026-11-21")
    assert result.exit_code == 0, result.stderr
    assert "党员：新增 2" in result.stdout
    shown = run(imported, "org", "show", "jg.b2").stdout
    assert "刘新" in shown and "陈预" in shown and "预备党员" in shown
    records = json.loads(
        run(imported, "due", "--as-of", "2027-03-01", "--rule", "probation-review", "--format", "json").stdout
    )
    assert [(r["subject"], r["due"]) for r in records] == [("jg.b2/陈预", "2027-03-15")]
