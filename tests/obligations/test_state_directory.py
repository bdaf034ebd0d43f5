"""Where the data lives: the SQLite file and the attachments under the state directory — systemd's
$STATE_DIRECTORY, /var/lib/obligations for a config under /etc, beside the config file otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from obligations.cli import cli
from obligations.config import ConfigError, database_url, example, parse_config, state_directory


def test_systemds_state_directory_comes_first(tmp_path: Path) -> None:
    environ = {
        "STATE_DIRECTORY": "/var/lib/obligations-test:/var/lib/other"
    }  # StateDirectory= may list several
    for config in (Path("/etc/obligations/config.toml"), tmp_path / "config.toml", None):
        assert state_directory(config, environ, tmp_path) == Path("/var/lib/obligations-test")


@pytest.mark.parametrize(
    "config",
    ["/etc/obligations/config.toml", "/etc/config.toml", "/etc/obligations/../obligations/config.toml"],
)
def test_a_config_under_etc_keeps_its_data_in_var_lib(config: str, tmp_path: Path) -> None:
    assert state_directory(Path(config), {}, tmp_path) == Path("/var/lib/obligations")


@pytest.mark.parametrize("config", ["/srv/obligations/config.toml", "/etcetera/config.toml", "config.toml"])
def test_elsewhere_the_data_lies_beside_the_config(config: str, tmp_path: Path) -> None:
    assert state_directory(Path(config), {"STATE_DIRECTORY": ""}, tmp_path) == (tmp_path / config).parent


def test_without_a_config_file_the_data_is_in_the_working_folder(tmp_path: Path) -> None:
    assert state_directory(None, {}, tmp_path) == tmp_path


def test_the_database_and_the_attachments_follow_the_state_directory_and_the_rest_the_file(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    config = parse_config({}, Path("/etc/obligations/config.toml"), environ={"STATE_DIRECTORY": str(state)})
    assert config.state_dir == state
    assert database_url(config) == f"sqlite:///{state / 'obligations.db'}"
    assert config.ledger.attachments == state / "attachments"
    assert database_url(config, "sqlite:///other.db") == f"sqlite:///{state / 'other.db'}"  # --db too
    assert database_url(config, "sqlite:////srv/x.db") == "sqlite:////srv/x.db"
    system = parse_config({}, Path("/etc/obligations/config.toml"), environ={})
    assert database_url(system) == "sqlite:////var/lib/obligations/obligations.db"
    assert system.ledger.attachments == Path("/var/lib/obligations/attachments")
    # What is not data the service writes stays relative to the file.
    (tmp_path / "profiles").mkdir()
    data = {"profiles": {"directory": "profiles"}, "notifiers": {"console": {"path": "sent.txt"}}}
    beside = parse_config(data, tmp_path / "config.toml", environ={"STATE_DIRECTORY": str(state)})
    assert beside.notifiers.console.path == tmp_path / "sent.txt"
    assert beside.profiles.directory == tmp_path / "profiles"
    assert beside.ledger.attachments == state / "attachments"


def test_a_database_left_beside_the_config_is_named_not_replaced_by_an_empty_one(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    config_file = tmp_path / "etc" / "config.toml"
    config_file.write_text(example(), encoding="utf-8")
    (tmp_path / "etc" / "obligations.db").write_bytes(b"")  # where an earlier version put it
    state = tmp_path / "state"
    with pytest.raises(ConfigError) as raised:
        database_url(parse_config({}, config_file, environ={"STATE_DIRECTORY": str(state)}))
    assert str(raised.value) == (
        f"数据库文件 {tmp_path / 'etc' / 'obligations.db'} 在配置文件旁（旧版本的默认位置），现在的默认位置是状态目录 "
        f"{state}：请把它移到 {state / 'obligations.db'}，或在 [database] url 中写明绝对路径。"
    )
    result = _init(config_file, {"STATE_DIRECTORY": str(state)})
    assert result.exit_code == 3 and result.stderr.startswith("错误：数据库文件 ")
    assert not state.exists()


def _init(config: Path, env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "init"], env=env, catch_exceptions=False)


def test_init_puts_the_database_beside_a_config_in_a_folder_of_ones_own(tmp_path: Path) -> None:
    config = tmp_path / "site" / "config.toml"
    result = _init(config, {"STATE_DIRECTORY": None})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "site" / "obligations.db").is_file()
    assert str(tmp_path / "site" / "obligations.db") in result.stdout


def test_init_under_systemd_puts_the_database_in_its_state_directory(tmp_path: Path) -> None:
    config, state = tmp_path / "site" / "config.toml", tmp_path / "state"
    result = _init(config, {"STATE_DIRECTORY": str(state)})
    assert result.exit_code == 0, result.output
    assert (state / "obligations.db").is_file() and not (tmp_path / "site" / "obligations.db").exists()
    due = CliRunner().invoke(cli, ["--config", str(config), "due"], env={"STATE_DIRECTORY": str(state)})
    assert due.exit_code == 0, due.output
