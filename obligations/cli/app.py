"""The `obligations` command line: the application context, the group, shared options and error handling.

Each command is a few lines that call the core; commands live in the sibling modules by subject.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from calendars import instants
from obligations.cli import messages
from obligations.cli.commands import LazyGroup
from obligations.errors import NotFound, UserError, not_found

# What only some commands need is imported where it is used: `obligations --help` loads click and this module,
# `due` no Alembic, no channel (tests/obligations/test_cli_startup.py).
if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.exc import DBAPIError
    from sqlmodel import Session

    from calendars.model import Profile
    from calendars.workdays import WorkCalendar
    from obligations import audit
    from obligations.config import Config
    from obligations.tables import Reader

PARTY_TIME = instants.PARTY_TIME

messages.install()  # click's own texts in Chinese; before the group below is declared with its --version


def today() -> dt.date:
    """The only place the CLI reads the clock for a date: today in party time (Asia/Shanghai)."""
    return dt.datetime.now(PARTY_TIME).date()


def cli_actor() -> audit.Actor:
    """Who acts on the command line: the operating-system user, on this host."""
    import getpass
    import socket

    from obligations import audit

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = None
    return audit.Actor(who, "cli", socket.gethostname())


def now_utc() -> dt.datetime:
    """The CLI's clock for instants (when a record was made), aware and in UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass
class App:
    """What every command needs, built once in the group callback."""

    config_path: Path
    db_url: str | None
    # True when the operator named the file (--config, OBLIGATIONS_CONFIG): then it must exist. Only the
    # default ./config.toml may be absent (the built-in defaults apply, and nothing is delivered).
    config_required: bool = False
    warn: Callable[[str], None] = field(default=lambda message: _say(message))
    may_create_database: bool = False  # set by `init` only

    @cached_property
    def config(self) -> Config:
        from obligations.config import load_config

        config = load_config(self.config_path, required=self.config_required)
        for warning in config.warnings:
            self.warn(f"警告：{warning}")
        return config

    @cached_property
    def profiles(self) -> dict[str, Profile]:
        from obligations.config import configured_profiles

        return configured_profiles(self.config)

    def check_profiles(self, reader: Reader) -> None:
        """Every organization's profile is loaded (exit 3 otherwise); call before planning or sweeping."""
        from obligations import planstate
        from obligations.config import check_profiles_in_use

        check_profiles_in_use(self.config, self.profiles, planstate.profiles_in_use(reader))

    def profile(self, profile_id: str | None) -> Profile:
        wanted = profile_id or self.config.profiles.default
        if wanted not in self.profiles:
            raise not_found("职责日历", wanted, self.profiles)
        return self.profiles[wanted]

    @cached_property
    def work_calendar(self) -> WorkCalendar:
        from calendars.workdays import WorkCalendar

        return WorkCalendar(self.config.calendar, warn=self.warn)

    @cached_property
    def database_url(self) -> str:
        from obligations.config import database_url

        return database_url(self.config, self.db_url)

    @cached_property
    def raw_engine(self) -> Engine:
        """The engine of the database as it is: a SQLite file that does not exist is an error, unless the
        command is `init` (a mistyped path must not become a new empty database)."""
        from obligations import db

        return db.make_engine(
            self.database_url,
            busy_timeout=self.config.database.busy_timeout_seconds,
            create=self.may_create_database,
        )

    @cached_property
    def engine(self) -> Engine:
        """The engine of a database at the code's schema revision (checked once per command)."""
        from obligations import db

        db.check_schema(self.raw_engine)
        return self.raw_engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        from obligations import db

        with db.session_scope(self.engine) as session:
            yield session

    @property
    def attachments_dir(self) -> Path:
        return self.config.ledger.attachments

    def horizon(self, as_of: dt.date) -> dt.date:
        from obligations import planstate

        return planstate.default_horizon(as_of, self.config.planner.horizon_years)

    def keep_planned(self, session: Session, as_of: dt.date) -> None:
        """Bring the plan up to date before reading tasks (a no-op when nothing changed)."""
        from obligations import planner

        self.check_profiles(session)
        summary = planner.ensure_planned(session, self.profiles, as_of, self.horizon(as_of))
        if summary is not None and (summary.inserted or summary.removed or summary.updated):
            self.warn(
                f"已更新任务计划：新增 {summary.inserted}，更新 {summary.updated}，移除 {summary.removed}。"
            )

    @contextmanager
    def reading_tables(self, as_of: dt.date) -> Iterator[Reader]:
        """As `reading`, for a list read on the Core tables alone (obligations.tables): on a plan that is
        current, a bare connection, so that the command loads no ORM; otherwise `reading`'s session, after
        it planned."""
        from obligations import planstate

        with self.engine.connect() as connection:
            if planstate.is_current(connection, as_of, self.horizon(as_of)):
                if as_of == today():  # as `reading` checks them before it plans today's plan
                    self.check_profiles(connection)
                yield connection
                return
        with self.reading(as_of) as session:
            yield session

    @contextmanager
    def reading(self, as_of: dt.date, *, live: bool = True) -> Iterator[Session]:
        """A session for a command that only reads, with the plan as it stands on `as_of`.

        On today's date the plan is brought up to date and committed, as the daemon would do. Any other date
        (a replay of the past, a look ahead), or `live=False` (a dry run), is planned inside a transaction
        that is rolled back: a read never changes the stored plan, whatever date it is asked about.
        """
        from sqlmodel import Session

        from obligations import planner

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


class _Cli(LazyGroup):
    """The error funnel: every failure becomes one Chinese message and an exit status (the README's table),
    never a traceback. User mistakes arrive as `UserError`; a database driver's failures and the operating
    system's (a full disk, a read-only or missing folder) are classified here and in `db.problem`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as error:
            _tell(error)
            ctx.exit(error.exit_code)
        except _loaded("obligations.config.ConfigError", "calendars.problems.ProblemsError") as error:
            _tell(error)  # a broken config, profile or checklist file
            ctx.exit(3)
        except _loaded("sqlalchemy.exc.DBAPIError") as error:
            from obligations import db

            app = ctx.find_object(App)
            url = app.__dict__.get("database_url") if app is not None else None  # only if already resolved
            problem = db.problem(cast("DBAPIError", error), url)
            _tell(problem)
            ctx.exit(problem.exit_code)
        except BrokenPipeError:
            # The reader went away (`obligations due | head`): stop quietly, as a Unix tool does on SIGPIPE, with
            # its status; stdout goes to /dev/null so that the interpreter's last flush does not fail again.
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
            ctx.exit(BROKEN_PIPE)
        except OSError as error:
            _tell(os_problem(error))
            ctx.exit(1)


BROKEN_PIPE = 128 + 13  # what a shell reports for a process ended by SIGPIPE


def _say(message: str) -> None:
    """A line for the person on standard error (a warning, a failure): wrapped when standard error is a
    terminal, whole into a pipe or a log (render.prose)."""
    from obligations import render

    click.echo(render.prose(message, stream=sys.stderr), err=True)


def _tell(problem: object) -> None:
    """The one message of a failure."""
    _say(f"错误：{problem}")


def _loaded(*names: str) -> tuple[type[BaseException], ...]:
    """The exception classes named `module.Class` whose modules are loaded. A class never imported cannot have
    been raised; importing it to find out would slow every command (sqlalchemy.exc alone takes a quarter of a
    second)."""
    found = []
    for name in names:
        module, _, attribute = name.rpartition(".")
        if module in sys.modules:
            found.append(getattr(sys.modules[module], attribute))
    return tuple(found)


_OS_PROBLEMS = {
    errno.ENOSPC: "磁盘已满",
    errno.EDQUOT: "超出磁盘配额",
    errno.EROFS: "文件系统只读",
    errno.EACCES: "没有权限",
    errno.EPERM: "不允许的操作",
    errno.ENOENT: "文件或文件夹不存在",
    errno.ENOTDIR: "路径中有一段不是文件夹",
    errno.EISDIR: "这是一个文件夹，不是文件",
}


def os_problem(error: OSError) -> str:
    """A file the command had to read or write could not be: which one, and why, in Chinese."""
    reason = _OS_PROBLEMS.get(error.errno or 0) or error.strerror or type(error).__name__
    where = error.filename if error.filename is not None else ""
    return f"无法读写 {where}：{reason}。" if where else f"读写文件失败：{reason}。"


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
    # The log is English, for the daemon and the desk (obligations.logs sets it up); a command speaks through
    # its output and the error funnel only, so nothing of the log reaches the terminal through logging's last
    # resort.
    import logging

    logging.getLogger("obligations").addHandler(logging.NullHandler())
    ctx.color = colour(os.environ)
    named = ctx.get_parameter_source("config_path") is not click.core.ParameterSource.DEFAULT
    ctx.obj = App(config_path=config_path, db_url=db_url, config_required=named)


def colour(environ: Mapping[str, str]) -> bool | None:
    """Whether output may be coloured, for every command at once: never when NO_COLOR is set to anything
    (https://no-color.org); else None, click's own rule: only on a terminal (click.echo strips colour on its
    way to a pipe or a file, stream by stream)."""
    return False if environ.get("NO_COLOR") else None


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


# --as-of: one parser for every command and every date-time input (calendars.instants). Dates and times are
# party time (Beijing) unless they carry an offset; a bare date is 09:00 that day. Commands about days use the
# date, `remind` and `daemon` the instant.
EARLIEST_YEAR = instants.EARLIEST_YEAR


def parse_as_of(text: str, *, bare_date: dt.time = dt.time(9)) -> dt.datetime:
    """An aware instant in party time from a date, a Beijing date-time or an ISO 8601 date-time with an offset;
    UserError (exit 1) with one text for anything else."""
    try:
        return instants.parse_instant(text, bare_date=bare_date)
    except instants.InstantError as error:
        raise UserError(str(error)) from None


class AsOf(click.ParamType[dt.datetime]):
    """An instant option; a bare date means `bare_date` o'clock (09:00 for --as-of, 00:00 for --since)."""

    name = "时间"

    def __init__(self, bare_date: dt.time = dt.time(9)) -> None:
        self.bare_date = bare_date

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.datetime:
        return value if isinstance(value, dt.datetime) else parse_as_of(str(value), bare_date=self.bare_date)


class Day(click.ParamType[dt.date]):
    """A date option (--on, --until, --from, --to…): 2026-11-23, or a date-time standing for its Beijing date."""

    name = "日期"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return instants.parse_day(str(value))
        except instants.InstantError as error:
            raise UserError(str(error)) from None


as_of_option = click.option(
    "--as-of",
    "as_of",
    type=AsOf(),
    help='按哪一天计算，默认今天；可用于重放任意日期。可写 2026-11-23、"2026-11-23 09:00"（北京时间）或带时区的 ISO 8601 时间。',
)
instant_option = click.option(
    "--as-of",
    "as_of",
    type=AsOf(),
    help='按哪个时刻执行，默认现在："2026-11-23 09:30"（北京时间）、带时区的 ISO 8601 时间（如 2026-11-23T01:30:00Z）；只写日期则按当天 09:00。',
)


class RowId(click.ParamType[int]):
    """The number of a task, a record or a message: a row id, which both backends store as a 32-bit integer.
    A number no row can have is unknown (NotFound, exit 8), not an overflow in the database driver."""

    name = "编号"
    LARGEST = 2**31 - 1

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise NotFound(f"编号 {value!r} 不是整数：请用 obligations due 或 outbox 查看编号。") from None
        if not 1 <= number <= self.LARGEST:
            raise NotFound(f"没有编号为 {number} 的记录：编号是 1 至 {self.LARGEST} 之间的整数。")
        return number


def as_of_date(value: dt.datetime | None) -> dt.date:
    """The day a date command works on: the date of --as-of in party time, default today."""
    return value.date() if value is not None else today()


def as_of_instant(value: dt.datetime | None, *, sends: bool = False) -> dt.datetime:
    """The instant `remind` and `daemon` work at: --as-of, default now (aware, in party time).

    A command that `sends` refuses an instant in the future: it would send the future's reminders now and
    use up their steps, so that nothing is sent when that day comes. The future is previewed with --dry-run.
    """
    now = dt.datetime.now(PARTY_TIME)
    if value is None:
        return now
    if sends and value > now + dt.timedelta(minutes=1):
        raise UserError(
            f"--as-of {value:%Y-%m-%d %H:%M} 晚于现在（{now:%Y-%m-%d %H:%M}，北京时间）："
            "提前执行会把将来的提醒现在发出，届时不再提醒。"
            "预览将来的提醒请加 --dry-run。"
        )
    return value
