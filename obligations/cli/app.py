"""The `obligations` command line: the application context, the group, shared options and error handling.

Each command is a few lines that call the core; commands live in the sibling modules by subject.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Engine
from sqlmodel import Session

from calendars.model import Profile
from calendars.problems import ProblemsError
from calendars.profiles import load_profiles
from calendars.workdays import WorkCalendar
from obligations import db, planner
from obligations.config import Config, ConfigError, load_config
from obligations.errors import UserError, not_found

PARTY_TIME = ZoneInfo("Asia/Shanghai")


def today() -> dt.date:
    """The only place the CLI reads the clock for a date: today in party time (Asia/Shanghai)."""
    return dt.datetime.now(PARTY_TIME).date()


def now_utc() -> dt.datetime:
    """The CLI's clock for instants (when a record was made), aware and in UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass
class App:
    """What every command needs, built once in the group callback."""

    config_path: Path
    db_url: str | None
    warn: Callable[[str], None] = field(default=lambda message: click.echo(message, err=True))

    @cached_property
    def config(self) -> Config:
        config = load_config(self.config_path)
        for warning in config.warnings:
            self.warn(f"警告：{warning}")
        return config

    @cached_property
    def profiles(self) -> dict[str, Profile]:
        return load_profiles(self.config.profile_dirs)

    def profile(self, profile_id: str | None) -> Profile:
        wanted = profile_id or str(self.config.get("profiles", "default"))
        if wanted not in self.profiles:
            raise not_found("职责日历", wanted, self.profiles)
        return self.profiles[wanted]

    @cached_property
    def work_calendar(self) -> WorkCalendar:
        return WorkCalendar(self.config.calendar, warn=self.warn)

    @cached_property
    def database_url(self) -> str:
        url = self.db_url or str(self.config.get("database", "url"))
        base = self.config_path.resolve().parent if self.config.path else Path.cwd()
        return db.resolve_url(url, base)

    @cached_property
    def raw_engine(self) -> Engine:
        return db.make_engine(self.database_url)

    @cached_property
    def engine(self) -> Engine:
        """The engine of a database at the code's schema revision (checked once per command)."""
        db.check_schema(self.raw_engine)
        return self.raw_engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        with db.session_scope(self.engine) as session:
            yield session

    @property
    def attachments_dir(self) -> Path:
        folder = Path(str(self.config.get("ledger", "attachments")))
        return folder if folder.is_absolute() else Path.cwd() / folder

    def horizon(self, as_of: dt.date) -> dt.date:
        return planner.default_horizon(as_of, int(self.config.get("planner", "horizon_years")))

    def keep_planned(self, session: Session, as_of: dt.date) -> None:
        """Bring the plan up to date before reading tasks (a no-op when nothing changed)."""
        summary = planner.ensure_planned(session, self.profiles, as_of, self.horizon(as_of))
        if summary is not None and (summary.inserted or summary.removed or summary.updated):
            self.warn(
                f"已更新任务计划：新增 {summary.inserted}，更新 {summary.updated}，移除 {summary.removed}。"
            )

    @contextmanager
    def reading(self, as_of: dt.date, *, live: bool = True) -> Iterator[Session]:
        """A session for a command that only reads, with the plan as it stands on `as_of`.

        On today's date the plan is brought up to date and committed, as the daemon would do. Any other date
        (a replay of the past, a look ahead), or `live=False` (a dry run), is planned inside a transaction
        that is rolled back: a read never changes the stored plan, whatever date it is asked about.
        """
        if live and as_of == today():
            with self.session() as session:
                self.keep_planned(session, as_of)
                yield session
            return
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                planner.ensure_planned(session, self.profiles, as_of, self.horizon(as_of))
                yield session
            finally:
                session.rollback()


pass_app = click.make_pass_decorator(App)


class _Cli(click.Group):
    """Turns user mistakes into one Chinese message and a non-zero exit, without a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as error:
            click.echo(f"错误：{error}", err=True)
            ctx.exit(error.exit_code)
        except (ConfigError, ProblemsError) as error:  # a broken config, profile or checklist file
            click.echo(f"错误：{error}", err=True)
            ctx.exit(3)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="config.toml",
    envvar="OBLIGATIONS_CONFIG",
    show_default=True,
    help="配置文件路径（环境变量 OBLIGATIONS_CONFIG）。",
)
@click.option(
    "--db",
    "db_url",
    envvar="OBLIGATIONS_DATABASE_URL",
    help="数据库地址（环境变量 OBLIGATIONS_DATABASE_URL），覆盖配置文件中的 [database] url。",
)
@click.version_option(package_name="obligations")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, db_url: str | None) -> None:
    """党组织职责日历与提醒：把“三会一课”、换届、空缺补齐等职责变成有期限的任务。

    \b
    示例：
      obligations init --demo
      obligations due
      obligations --config /etc/obligations/config.toml due --org jg.b1 --overdue
    """
    ctx.obj = App(config_path=config_path, db_url=db_url)


profile_option = click.option("--profile", "profile_id", help="职责日历编号，默认取配置 [profiles] default。")


def format_option(*choices: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices or ("table", "json", "csv")),
        default="table",
        show_default=True,
        help="输出格式。",
    )


as_of_option = click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    help="按哪一天计算（YYYY-MM-DD），默认今天；可用于重放任意日期。",
)


def as_of_date(value: dt.datetime | None) -> dt.date:
    return value.date() if value is not None else today()
