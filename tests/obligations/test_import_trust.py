"""What `init --demo` and `import` may write, and when they say so (issue 9: trust in the store)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select, text

from obligations import db
from obligations.cli import cli
from obligations.models import Member, Organization, Task
from tests.obligations.conftest import REGISTRY, run


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


# --- prune within the file's scope ---------------------------------------------------------------------------

ONE_BRANCH = """\
[[org]]
code = "jg.b1"
name = "第一党支部"
kind = "branch"
parent = "jg"
elected_on = 2023-11-20

[[position]]
org = "jg.b1"
role = "secretary"
member = "jgb1m1"
since = 2023-11-20
""" + "".join(
    f'\n[[member]]\nid = "jgb1m{i}"\nname = "党员jgb1m{i}"\norg = "jg.b1"\nstatus = "full"\njoined_on = 2012-07-01\n'
    for i in range(1, 7)  # jgb1m7 has left
)
PRUNED_MEMBERS = ("jgb1g1m1", "jgb1g1m2", "jgb1m7")  # the 党小组 the file no longer lists, and jgb1m7


def _active(url: str, model: type[Organization] | type[Member]) -> set[str]:
    engine = db.make_engine(url)
    key = Organization.code if model is Organization else Member.id
    try:
        with engine.connect() as connection:
            return set(connection.execute(select(key).where(model.active.is_(True))).scalars())  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_pruning_with_one_branch_removes_only_within_that_branch_and_lists_it_first(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    url = imported[1]
    branch = tmp_path / "branch.toml"
    branch.write_text(ONE_BRANCH, encoding="utf-8")
    removals = [
        "将移除以下 6 项（组织和党员停用，职务删除或改为空缺）：",
        "  组织 jg.b1.g1（第一党小组）",
        "  党员 jgb1m7（党员jgb1m7，jg.b1）",
        "  党员 jgb1g1m1（党员jgb1g1m1，jg.b1.g1）",
        "  党员 jgb1g1m2（党员jgb1g1m2，jg.b1.g1）",
        "  职务 jg.b1 副书记（空缺）",
        "  职务 jg.b1.g1 党小组长（jgb1g1m1）",
    ]
    orgs_before, members_before = _active(url, Organization), _active(url, Member)

    dry = run(imported, "import", str(branch), "--prune", "--dry-run", "--as-of", "2026-11-21")

    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.splitlines()[: len(removals)] == removals
    assert (
        "试运行（未写入）：组织：新增 0，更新 0，移除 1；党员：新增 0，更新 0，移除 3；职务：新增 0，更新 0，移除 2"
        in dry.stdout
    )
    assert (_active(url, Organization), _active(url, Member)) == (orgs_before, members_before)

    pruned = run(imported, "import", str(branch), "--prune", "--yes", "--as-of", "2026-11-21")

    assert pruned.exit_code == 0, pruned.stderr
    assert pruned.stdout.splitlines()[: len(removals)] == removals
    assert _active(url, Organization) == {"jg", "jg.b1", "jg.b2"}  # the parent and the sibling stay
    assert _active(url, Member) == members_before - set(PRUNED_MEMBERS)
    shown = run(imported, "org", "show", "jg.b1").stdout
    assert "副书记" not in shown and "书记：党员jgb1m1" in shown


def test_pruned_members_are_neither_planned_nor_reminded(imported: tuple[Path, str], tmp_path: Path) -> None:
    branch = tmp_path / "branch.toml"
    branch.write_text(ONE_BRANCH, encoding="utf-8")
    assert run(imported, "import", str(branch), "--prune", "--yes", "--as-of", "2026-11-21").exit_code == 0

    engine = db.make_engine(imported[1])
    with engine.connect() as connection:
        # What was already overdue stays on record, as it does for a pruned organization; nothing new is owed.
        planned_for_pruned = connection.execute(
            select(Task.rule, Task.subject, Task.assignee).where(
                Task.status == "open",
                Task.due >= dt.date(2026, 11, 21),
                (Task.subject.in_(PRUNED_MEMBERS)) | (Task.assignee.in_(PRUNED_MEMBERS)),  # type: ignore[attr-defined]
            )
        ).all()
    engine.dispose()
    reminded = run(imported, "remind", "--dry-run", "--as-of", "2026-11-25 09:00")

    assert planned_for_pruned == []
    assert reminded.exit_code == 0, reminded.stderr
    recipients = {line.split()[0] for line in reminded.stdout.splitlines() if line.startswith("党员")}
    assert "党员jgb1m2" in recipients  # the branch's remaining members are reminded of their own study hours
    assert recipients.isdisjoint(f"党员{member}" for member in PRUNED_MEMBERS)


def test_pruning_with_a_members_csv_keeps_the_seats_and_vacates_those_of_departed_members(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    seat = tmp_path / "seat.toml"
    seat.write_text(
        '[[position]]\norg = "jg.b1"\nrole = "organization"\nmember = "jgb1g1m2"\nsince = 2024-01-01\n',
        encoding="utf-8",
    )
    assert run(imported, "import", str(seat), "--as-of", "2026-11-21").exit_code == 0
    roster = tmp_path / "group.csv"  # the 党小组's roster: jgb1g1m2 has left
    roster.write_text(
        "编号,姓名,所在组织,人员类别,入党日期\njgb1g1m1,党员jgb1g1m1,第一党小组,正式党员,2012-07-01\n"
    )

    pruned = run(imported, "import", str(roster), "--prune", "--yes", "--as-of", "2026-11-21")

    assert pruned.exit_code == 0, pruned.stderr
    assert pruned.stdout.splitlines()[:3] == [
        "将移除以下 2 项（组织和党员停用，职务删除或改为空缺）：",
        "  党员 jgb1g1m2（党员jgb1g1m2，jg.b1.g1）",
        "  职务 jg.b1 组织委员（jgb1g1m2，改为空缺）",
    ]
    assert "党小组长：党员jgb1g1m1" in run(imported, "org", "show", "jg.b1.g1").stdout  # a CSV lists no seats
    assert "组织委员：空缺（自 2026-11-21 起）" in run(imported, "org", "show", "jg.b1").stdout
    assert _active(imported[1], Member) >= {"jgm1", "jgb1m1", "jgb2m1", "jgb1g1m1"}
    assert "jgb1g1m2" not in _active(imported[1], Member)


def test_pruning_with_a_file_of_organizations_only_keeps_every_member_and_seat(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    orgs_only = tmp_path / "orgs.toml"
    orgs_only.write_text(REGISTRY, encoding="utf-8")
    members = _active(imported[1], Member)

    result = run(imported, "import", str(orgs_only), "--prune", "--as-of", "2026-11-21")

    assert result.exit_code == 0, result.stderr
    assert "将移除" not in result.stdout
    assert "党员：新增 0，更新 0，移除 0；职务：新增 0，更新 0，移除 0" in result.stdout
    assert _active(imported[1], Member) == members


def test_a_local_profile_with_a_path_in_a_rule_id_is_a_configuration_error(
    workspace: tuple[Path, str], tmp_path: Path
) -> None:
    config, url = workspace
    local = tmp_path / "profiles"
    local.mkdir()
    (local / "county.toml").write_text(
        '[profile]\nid = "county"\ntitle = "某县"\nextends = "national"\n\n'
        '[[rule]]\nid = "../escape"\ntitle = "周例会"\nkind = "periodic"\ncadence = "week"\n'
        'applies_to = { kinds = ["branch"] }\nsource = "某文件"\n',
        encoding="utf-8",
    )
    config.write_text(f'[profiles]\ndirectory = "{local}"\n', encoding="utf-8")
    assert run(workspace, "init").exit_code == 0

    result = run(workspace, "import", str(tmp_path / "registry.toml"))

    assert result.exit_code == 3
    assert f"{local / 'county.toml'}：规则 ../escape 字段 id：规则编号'../escape' 只能由字母" in result.stderr
    assert _count(url, Organization) == 0
