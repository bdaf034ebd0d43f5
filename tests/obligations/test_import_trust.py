"""What `init --demo` and `import` may write, and when they say so (issue 9: trust in the store)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select, text

from obligations import db
from obligations.cli import cli
from obligations.models import Member, Organization, Task
from tests.obligations.conftest import run


def _count(url: str, model: type[Organization] | type[Member] | type[Task]) -> int:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        engine.dispose()


def _refuse_new_tasks(url: str) -> None:
    """Make every insert into `task` fail, as a full disk or a dropped connection would, on either backend."""
    engine = db.make_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_tasks BEFORE INSERT ON task BEGIN SELECT RAISE(ABORT, 'no room'); END"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE FUNCTION refuse_tasks() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'no room'; END $$ LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_tasks BEFORE INSERT ON task FOR EACH ROW EXECUTE FUNCTION refuse_tasks()"
                )
            )
    engine.dispose()


# --- init --demo ---------------------------------------------------------------------------------------------


def test_demo_refuses_a_database_holding_a_real_registry_and_writes_nothing(
    imported: tuple[Path, str],
) -> None:
    url = imported[1]
    orgs, members, tasks = _count(url, Organization), _count(url, Member), _count(url, Task)

    result = run(imported, "init", "--demo", "--as-of", "2026-11-21")

    assert result.exit_code == 1
    assert "不属于演示数据的 4 个组织" in result.stderr
    assert "jg.b1（第一党支部）" in result.stderr  # the same codes as the demo's, but not the demo
    assert "--demo 不会写入这个数据库" in result.stderr
    assert (_count(url, Organization), _count(url, Member), _count(url, Task)) == (orgs, members, tasks)


def test_demo_may_be_loaded_again_into_a_database_holding_only_the_demo(workspace: tuple[Path, str]) -> None:
    first = run(workspace, "init", "--demo", "--as-of", "2026-11-21")
    assert first.exit_code == 0, first.stderr
    listed = run(workspace, "org", "list").stdout
    tasks = _count(workspace[1], Task)

    again = run(workspace, "init", "--demo", "--as-of", "2026-11-21")

    assert again.exit_code == 0, again.stderr
    assert "组织：新增 0，更新 0，移除 0；党员：新增 0，更新 0，移除 0" in again.stdout
    assert run(workspace, "org", "list").stdout == listed
    assert _count(workspace[1], Task) == tasks


# --- success after the commit ----------------------------------------------------------------------------------


def test_import_that_fails_while_planning_announces_nothing_and_writes_nothing(
    workspace: tuple[Path, str],
) -> None:
    config, url = workspace
    assert run(workspace, "init").exit_code == 0
    _refuse_new_tasks(url)

    result = CliRunner().invoke(
        cli, ["--config", str(config), "--db", url, "import", str(config.parent / "registry.toml")]
    )

    assert result.exit_code != 0
    assert "已导入" not in result.stdout
    assert (_count(url, Organization), _count(url, Member)) == (0, 0)


# --- what reaches the database ---------------------------------------------------------------------------------


def test_an_over_long_email_or_a_nul_in_a_name_is_a_registry_problem_on_both_backends(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    sheet = tmp_path / "members.csv"
    sheet.write_text(
        "姓名,所在组织,人员类别,入党日期,邮箱\n"
        f"刘新,jg.b2,正式党员,2015-07-01,{'x' * 200}@example.org\n"
        "陈\x00预,jg.b2,正式党员,2016-07-01,\n",
        encoding="utf-8",
    )
    members = _count(imported[1], Member)

    result = run(imported, "import", str(sheet), "--as-of", "2026-11-21")

    assert result.exit_code == 4
    assert f"{sheet} 第 2 行 邮箱：不能超过 200 个字符（现为 212 个）" in result.stderr
    assert f"{sheet} 第 3 行 姓名：含有不可见的控制字符 U+0000" in result.stderr
    assert _count(imported[1], Member) == members
