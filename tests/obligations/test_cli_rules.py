from __future__ import annotations

import contextlib
import csv
import io
import json
import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from calendars.profiles import load_profiles
from obligations.cli import cli
from obligations.config import example


def _run(*args: str, config: Path | None = None) -> tuple[int, str, str]:
    """Run with `config`, or without a config file (the default ./config.toml, absent, in an empty folder)."""
    runner = CliRunner(env={"OBLIGATIONS_CONFIG": None})
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
        prefix = ["--config", str(config)] if config else []
        result = runner.invoke(cli, [*prefix, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = [(path, group)]
    context = click.Context(group)
    for name in group.list_commands(context):  # every command, loaded on first use or not
        command = group.get_command(context, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*path, name)))
        else:
            found.append(((*path, name), command))
    return found


@pytest.mark.parametrize(
    "path", [path for path, _ in _commands(cli)], ids=lambda path: " ".join(path) or "obligations"
)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    code, out, _ = _run(*path, "--help")
    assert code == 0
    assert "示例" in out, f"`obligations {' '.join(path)} --help` has no example"
    assert "obligations " in out.split("示例", 1)[1], "the example shows no command line"


def test_rules_list_shows_a_chinese_table_of_the_profile() -> None:
    code, out, _ = _run("rules", "list", "--profile", "wujin-2016")
    assert code == 0
    header = out.splitlines()[1]
    for column in ("编号", "名称", "周期/期限", "适用对象", "依据"):
        assert column in header
    assert "继承链：wujin-2016 → national" in out
    line = next(line for line in out.splitlines() if line.startswith("organizational-life-meeting"))
    assert "每半年" in line and "武组发〔2016〕113号" in line


def test_rules_list_json_and_csv_are_machine_readable() -> None:
    code, out, _ = _run("rules", "list", "--format", "json")
    assert code == 0
    records = json.loads(out)
    assert {record["id"] for record in records} >= {"general-meeting", "term-election", "study-hours"}
    assert set(records[0]) == {
        "id", "title", "kind", "cadence", "applies_to", "responsible", "source", "evidence",
    }  # fmt: skip
    code, out, _ = _run("rules", "list", "--format", "csv", "--profile", "suzhou-2020")
    rows = list(csv.DictReader(io.StringIO(out)))
    assessment = next(row for row in rows if row["id"] == "standard-assessment")
    assert assessment["cadence"] == "每年（11月30日前）"
    assert assessment["responsible"] == "上级党组织书记"


def test_rules_list_shows_what_each_rules_record_must_show() -> None:
    """Issue 10 §3: each rule declares its evidence (003 二(四)3 参加人员; 000 四(一) the secretary lectures); the
    list shows it in the words of `rules show` (JSON and CSV in full, the table cut to its column)."""
    code, out, _ = _run("rules", "list", "--profile", "wujin-2016", "--format", "json")
    assert code == 0
    evidence = {record["id"]: record["evidence"] for record in json.loads(out)}
    code, shown, _ = _run("rules", "show", "secretary-lesson", "--profile", "wujin-2016")
    assert f"台账要求   {evidence['secretary-lesson']}" in shown
    assert "主讲人须为书记" in evidence["secretary-lesson"]
    assert evidence["organizational-life-meeting"] == "日期、参加人员、报上级党组织备案"
    assert evidence["general-meeting"] == "日期、参加人员、到会正式党员须超过半数"
    code, out, _ = _run("rules", "list", "--format", "csv", "--profile", "wujin-2016")
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(out))}
    assert rows["theme-party-day"]["evidence"] == "日期、参加人员"
    code, out, _ = _run("rules", "list", "--profile", "wujin-2016")
    lines = out.splitlines()
    assert lines[1].rstrip().endswith("台账要求")
    line = next(line for line in lines if line.startswith("group-meeting"))
    # not a terminal: whole rows (test_terminal_output cuts them at 80 columns)
    assert line.endswith("日期、参加人员")


def test_rules_show_resolves_the_rule_through_the_chain_with_its_clause() -> None:
    code, out, _ = _run("rules", "show", "organizational-life-meeting", "--profile", "wujin-2016")
    assert code == 0
    assert "周期/期限  每半年" in out
    # The national clause first, then Wujin's own (issue 10 §5: an override adds its clause).
    assert "依据       《中国共产党支部工作条例（试行）》第十七条；武组发〔2016〕113号 二(三)2" in out
    assert "national：定义" in out
    assert "wujin-2016：修改 cadence, note, source" in out


def test_rules_show_of_a_term_election_lists_its_long_reminder_ladder() -> None:
    code, out, _ = _run("rules", "show", "term-election")
    assert code == 0
    assert "提前六个月提醒（到期前6个月，责任人、上级书记）" in out


def test_an_unknown_rule_is_a_chinese_error_suggesting_the_closest_ids() -> None:
    code, out, err = _run("rules", "show", "term-elections")
    assert code != 0
    assert out == ""
    assert "错误：没有职责日历 national 中的规则 'term-elections'" in err
    assert "term-election" in err
    assert "Traceback" not in err


def test_an_unknown_profile_is_a_chinese_error_suggesting_the_closest() -> None:
    code, _, err = _run("rules", "list", "--profile", "wujin")
    assert code != 0
    assert "没有职责日历 'wujin'" in err and "wujin-2016" in err


def test_rules_preview_expands_a_profile_for_one_organization() -> None:
    code, out, _ = _run(
        "rules", "preview", "--profile", "wujin-2016", "--full-members", "5", "--year", "2026",
        "--elected-on", "2024-11-20", "--term-years", "2",
    )  # fmt: skip
    assert code == 0
    assert "支部委员会会议" not in out
    assert out.count("组织生活会") == 2
    assert "2026-11-20" in out and "按期换届" in out
    assert "2026-10-31（休息日）" in out  # a Saturday
    assert "2026年下半年" in out and "2024年11月20日起2年任期" in out  # periods as a person reads them
    assert "2026-H2" not in out


def test_a_broken_config_file_is_reported_with_its_path_and_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles]\ndefault = "national"\ndirectory = \n', encoding="utf-8")
    code, _, err = _run("rules", "list", config=config)
    assert code == 3
    assert f"{config}：TOML 语法错误：第 3 行" in err


def test_a_config_value_of_the_wrong_type_names_section_and_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[profiles]\ndefault = 7\n[calendar.2027]\nholidays = ["2027-13-01"]\n', encoding="utf-8"
    )
    code, _, err = _run("rules", "list", config=config)
    assert code == 3
    assert "[profiles] default 应为字符串" in err
    assert "[calendar.2027] holidays 中的 '2027-13-01'" in err


def test_a_config_number_below_its_minimum_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[reminders]\ndigest_items = 0\nsweep_minutes = -5\n", encoding="utf-8")
    code, _, err = _run("rules", "list", config=config)
    assert code == 3
    assert "[reminders] digest_items 不能小于 1，而不是 0" in err
    assert "[reminders] sweep_minutes 不能小于 1，而不是 -5" in err


def test_config_names_the_default_profile_and_extra_profile_directory(tmp_path: Path) -> None:
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "county.toml").write_text(
        '[profile]\nid = "county"\ntitle = "某县"\nextends = "wujin-2016"\n', encoding="utf-8"
    )
    config = tmp_path / "config.toml"
    config.write_text(
        '[profiles]\ndefault = "county"\ndirectory = "local"\n[surprise]\nx = 1\n', encoding="utf-8"
    )
    code, out, err = _run("rules", "list", config=config)
    assert code == 0
    assert "继承链：county → wujin-2016 → national" in out
    assert "未知的配置节 [surprise]" in err


def test_a_calendar_declared_in_config_silences_the_unknown_year_warning(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    args = ("rules", "preview", "--year", "2027", "--full-members", "5")
    config.write_text("", encoding="utf-8")
    _, _, err = _run(*args, config=config)
    assert "不知道 2027 年的法定节假日和调休安排" in err
    config.write_text(
        '[calendar.2027]\nholidays = ["2027-01-01", "2027-02-05..2027-02-11"]\n', encoding="utf-8"
    )
    code, out, err = _run(*args, config=config)
    assert code == 0 and err == ""
    assert "2027-01-31（休息日）" in out


def test_the_shipped_config_toml_is_the_documented_example() -> None:
    shipped = Path(__file__).resolve().parents[2] / "config.toml"
    assert shipped.read_text(encoding="utf-8") == example()


@pytest.mark.parametrize(
    "rule_id", ["general-meeting", "committee-meeting", "term-election", "probation-review"]
)
def test_rules_show_names_the_reminder_steps_as_the_messages_do_without_ladder_ids(rule_id: str) -> None:
    """Issue 10 §6: `rules show` uses the same step names as the messages (Step.label, calendars/model.py
    STEP_LABELS), and no English id — neither the ladder's (`extended`, `long`) nor a step's (`early`)."""
    code, out, _ = _run("rules", "show", rule_id)
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("提醒"))
    assert not any("a" <= char.lower() <= "z" for char in line), line
    rule = load_profiles()["national"].rules[rule_id]
    assert [step.label for step in rule.ladder.steps] == [
        part.split("（")[0] for part in line.split(maxsplit=1)[1].split("；")
    ]
