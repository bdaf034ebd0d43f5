"""config.toml: every mistake refused at load with its file and `[section] key`, all at once; one typed object."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from obligations.cli import cli
from obligations.config import ConfigError, defaults, example, load_config, parse_config


def _run(tmp_path: Path, text: str, *args: str) -> Result:
    config = tmp_path / "config.toml"
    config.write_text(textwrap.dedent(text), encoding="utf-8")
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_a_config_file_named_on_the_command_line_or_in_the_environment_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "config.toml"
    result = CliRunner().invoke(cli, ["--config", str(missing), "rules", "list"])
    assert result.exit_code == 3
    assert f"找不到配置文件 {missing}" in result.stderr
    result = CliRunner(env={"OBLIGATIONS_CONFIG": str(missing)}).invoke(cli, ["rules", "list"])
    assert result.exit_code == 3
    assert f"找不到配置文件 {missing}" in result.stderr


def test_every_mistake_is_refused_at_load_with_the_file_and_key_all_at_once(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        """
        [database]
        url = "mysql://root@localhost/party"
        busy_timeout_seconds = 0
        [planner]
        horizon_years = 100000
        [reminders]
        channels = []
        replan_at = "6am"
        office_hours = "18:00-08:30"
        sweep_minutes = 0
        max_attempts = 1000
        digest_items = 10001
        templates = "no-such-templates"
        [notifiers.email]
        port = 70000
        timeout_seconds = -5
        sender = "nobody"
        [notifiers.wecom]
        api_base = "qyapi.weixin.qq.com"
        [profiles]
        directory = "no-such-profiles"
        """,
        "rules",
        "list",
    )
    assert result.exit_code == 3
    err = result.stderr
    where = str(tmp_path / "config.toml")
    expected = [
        "[database] url 的数据库类型 mysql 不受支持",
        "[database] busy_timeout_seconds 不能小于 1",
        "[planner] horizon_years 不能大于 10，而不是 100000",
        "[reminders] channels 至少要选择一个提醒渠道",
        "[reminders] replan_at 应写作 24 小时制的“时:分”（如 06:00），而不是 '6am'",
        "[reminders] office_hours 办公时间 '18:00-08:30' 的开始应早于结束",
        "[reminders] sweep_minutes 不能小于 1，而不是 0",
        "[reminders] max_attempts 不能大于 100",
        "[reminders] digest_items 不能大于 10000",
        f"[reminders] templates 指定的目录 {tmp_path / 'no-such-templates'} 不存在",
        "[notifiers.email] port 不能大于 65535，而不是 70000",
        "[notifiers.email] timeout_seconds 不能小于 1，而不是 -5",
        "[notifiers.email] sender 应为邮件地址",
        "[notifiers.wecom] api_base 应为 http 或 https 地址",
        f"[profiles] directory 指定的目录 {tmp_path / 'no-such-profiles'} 不存在",
    ]
    for text in expected:
        assert f"{where}：{text}" in err, text
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[reminders]\nchannels = ["email", "sms"]',
            "[reminders] channels 中的 'sms' 无效，可选：email、wecom、wecom_robot、console",
        ),
        ('[reminders]\nchannels = ["email", "email"]', "[reminders] channels 中有重复的渠道"),
        ('[reminders]\nreplan_at = "25:00"', "[reminders] replan_at 应写作"),
        ('[reminders]\noffice_hours = "8-18"', "[reminders] office_hours 办公时间应写作 08:30-18:00"),
        ("[reminders]\nsweep_minutes = 1441", "[reminders] sweep_minutes 不能大于 1440"),
        ("[reminders]\nretry_base_seconds = 600\nretry_cap_seconds = 60", "retry_cap_seconds 不能小于"),
        ("[reminders]\nbreaker_failures = 0", "[reminders] breaker_failures 不能小于 1"),
        (
            "[reminders]\nbreaker_cooldown_minutes = 1441",
            "[reminders] breaker_cooldown_minutes 不能大于 1440",
        ),
        ("[notifiers.email]\nport = 0", "[notifiers.email] port 不能小于 1"),
        ('[notifiers.email]\nsender = "党建 <@example.org>"', "[notifiers.email] sender 应为邮件地址"),
        ('[notifiers.wecom]\napi_base = "ftp://qyapi.weixin.qq.com"', "[notifiers.wecom] api_base 应为"),
        ('[notifiers.wecom]\napi_base = "https://"', "[notifiers.wecom] api_base 应为"),
        ("[database]\nbusy_timeout_seconds = 3601", "[database] busy_timeout_seconds 不能大于 3600"),
        ('[database]\nurl = "oracle://scott@db/orcl"', "[database] url 的数据库类型 oracle 不受支持"),
        ('[database]\nurl = "postgresql://u@db:five/x"', "[database] url 无法识别（示例："),
        ('[ledger]\nattachments = ""', "[ledger] attachments 不能为空"),
    ],
)
def test_a_single_mistake_names_its_section_and_key(tmp_path: Path, text: str, message: str) -> None:
    result = _run(tmp_path, text, "rules", "list")
    assert result.exit_code == 3
    assert message in result.stderr


def test_a_secret_written_into_an_env_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        """
        [notifiers.email]
        password_env = "hunter2-Pa55word!"
        [notifiers.wecom]
        corp_secret_env = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
        [database]
        url = "sqlserver://sa:TopSecret@db/x"
        """,
        "rules",
        "list",
    )
    assert result.exit_code == 3
    assert (
        "[notifiers.email] password_env 应为环境变量名（如 OBLIGATIONS_SMTP_PASSWORD），不要填写密码本身"
        in result.stderr
    )
    assert "[notifiers.wecom] corp_secret_env 应为环境变量名（如 OBLIGATIONS_WECOM_SECRET）" in result.stderr
    for secret in ("hunter2", "Pa55word", "693a91f6", "TopSecret"):
        assert secret not in result.output + result.stderr
    wrong_type = _run(tmp_path, "[notifiers.wecom]\ncorp_secret_env = 12345", "rules", "list")
    assert "[notifiers.wecom] corp_secret_env 应为字符串" in wrong_type.stderr
    assert "12345" not in wrong_type.output + wrong_type.stderr


def test_wecom_without_an_application_is_refused_instead_of_posting_digests_to_a_group(
    tmp_path: Path,
) -> None:
    result = _run(tmp_path, '[reminders]\nchannels = ["email", "wecom"]', "rules", "list")
    assert result.exit_code == 3
    assert (
        "[reminders] channels 中的 wecom 是发给个人的企业微信应用消息，须设置 [notifiers.wecom] corp_id"
        in (result.stderr)
    )
    assert "请改用 wecom_robot" in result.stderr
    with_app = _run(
        tmp_path, '[reminders]\nchannels = ["wecom"]\n[notifiers.wecom]\ncorp_id = "ww-demo"', "rules", "list"
    )
    assert with_app.exit_code == 0, with_app.stderr


def test_group_robots_alone_are_refused_for_people_need_a_channel_of_their_own(tmp_path: Path) -> None:
    alone = _run(tmp_path, '[reminders]\nchannels = ["wecom_robot"]', "rules", "list")
    assert alone.exit_code == 3
    assert (
        "[reminders] channels 中除 wecom_robot（只发组织汇总）外，还须选择一个发给个人的渠道" in alone.stderr
    )
    beside = _run(tmp_path, '[reminders]\nchannels = ["email", "wecom_robot"]', "rules", "list")
    assert beside.exit_code == 0, beside.stderr


def test_the_old_group_robot_key_is_no_longer_read(tmp_path: Path) -> None:
    result = _run(tmp_path, '[notifiers.wecom]\nwebhook_key_env = "OBLIGATIONS_WECOM_KEY"', "rules", "list")
    assert result.exit_code == 0
    assert "[notifiers.wecom] 中未知的配置项 webhook_key_env，已忽略" in result.stderr


def test_an_unknown_default_profile_is_refused(tmp_path: Path) -> None:
    result = _run(tmp_path, '[profiles]\ndefault = "natoinal"', "rules", "list")
    assert result.exit_code == 3
    assert "[profiles] default 指定的职责日历 'natoinal' 不存在" in result.stderr
    assert "national" in result.stderr


def test_the_config_is_one_typed_object_built_from_the_spec(tmp_path: Path) -> None:
    (tmp_path / "local").mkdir()
    config = parse_config(
        {
            "reminders": {"channels": ["email", "wecom"], "replan_at": "5:30", "office_hours": "09:00-17:30"},
            "notifiers": {
                "wecom": {"corp_id": "ww-demo"},
                "email": {"port": 587, "sender": "提醒 <root@localhost>"},
                "console": {"path": "out/reminders.txt"},
            },
            "profiles": {"directory": "local"},
            "database": {"busy_timeout_seconds": 120},
        },
        tmp_path / "config.toml",
    )
    assert config.reminders.channels == ("email", "wecom")
    assert config.reminders.replan_at == dt.time(5, 30)
    assert (config.reminders.office_hours.opens, config.reminders.office_hours.closes) == (
        dt.time(9),
        dt.time(17, 30),
    )
    assert config.notifiers.email.port == 587
    assert config.notifiers.email.sender == "提醒 <root@localhost>"  # a local relay's address is an address
    assert config.notifiers.console.path == tmp_path / "out" / "reminders.txt"
    assert config.profiles.directory == tmp_path / "local"
    assert config.ledger.attachments == tmp_path / "attachments"  # relative to the file
    assert config.database.busy_timeout_seconds == 120
    assert config.reminders.templates is None
    with pytest.raises(AttributeError):
        config.reminders.sweep_minutes = 1  # type: ignore[misc]


def test_without_a_file_the_defaults_are_relative_to_the_working_folder(tmp_path: Path) -> None:
    config = defaults(tmp_path)
    assert config.path is None
    assert config.ledger.attachments == tmp_path / "attachments"
    assert config.database.busy_timeout_seconds == 30
    assert config.reminders.channels == ("console",)


def test_the_documented_example_loads_and_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(example(), encoding="utf-8")
    loaded = load_config(path, required=True)
    assert loaded.reminders == defaults(tmp_path).reminders
    assert loaded.notifiers == defaults(tmp_path).notifiers
    assert "busy_timeout_seconds = 30" in example()


def test_the_circuit_breaker_keys_are_documented_in_chinese_and_read_into_the_settings(
    tmp_path: Path,
) -> None:
    text = example()
    assert "breaker_failures = 3" in text and "breaker_cooldown_minutes = 10" in text
    assert "# 某一渠道连续几次超时或无法连接" in text and "# 渠道暂停几分钟" in text
    config = parse_config(
        {"reminders": {"breaker_failures": 5, "breaker_cooldown_minutes": 30}}, tmp_path / "config.toml"
    )
    assert (config.reminders.breaker_failures, config.reminders.breaker_cooldown_minutes) == (5, 30)


def test_parse_config_lists_every_problem_in_one_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({"reminders": {"sweep_minutes": 0, "max_attempts": 0}}, tmp_path / "c.toml")
    assert str(raised.value).count("  - ") == 2
