"""Accounts of the web desk: members of the registry who may sign in, their passwords (argon2), the lockout
after repeated failures, and server-side sessions (revocable, with an idle timeout).

Roles are never stored here: what a person may see and do is read from the registry at each request
(obligations/web/scope.py)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, col, delete, select, update

from obligations.db import aware
from obligations.errors import NotFound, UserError
from obligations.models import Account, Member, WebSession
from obligations.render import minute_text

MIN_PASSWORD = 8
MAX_PASSWORD = 128  # argon2 takes any length; a bound keeps hashing work bounded
SESSION_TOUCH_SECONDS = 60  # last_seen is written at most once a minute per session

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the member is unknown, so that an unknown id costs as much as a wrong password.
    Made on first use, not at import: every command imports this module, few sign anyone in."""
    return _hasher.hash(secrets.token_urlsafe(16))


class AccountError(UserError):
    exit_code = 1


def password_problem(password: str) -> str | None:
    """The password policy: 8–128 characters with letters and digits."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 位。"
    if len(password) > MAX_PASSWORD:
        return f"密码最多 {MAX_PASSWORD} 位。"
    if not re.search(r"[A-Za-z]", password) or not re.search(r"[0-9]", password):
        return "密码须同时包含字母和数字。"
    if any(ord(char) < 32 or ord(char) == 127 for char in password):
        return "密码不能包含控制字符。"
    return None


def hash_password(password: str) -> str:
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    return _hasher.hash(password)


def _member(session: Session, member_id: str) -> Member:
    member = session.get(Member, member_id)
    if member is None or not member.active:
        raise AccountError(
            f"名册中没有党员 {member_id!r}（账号只能开给名册中的党员）。", exit_code=NotFound.exit_code
        )
    return member


def add(session: Session, member_id: str, password: str | None, *, now: dt.datetime) -> Account:
    """Open an account for a registry member (password None: 企业微信 sign-in only)."""
    _member(session, member_id)
    if session.get(Account, member_id) is not None:
        raise AccountError(f"党员 {member_id} 已有账号；改密码请用 obligations user passwd。")
    account = Account(
        member=member_id,
        password_hash=hash_password(password) if password is not None else None,
        created_at=now,
        password_changed_at=now if password is not None else None,
    )
    session.add(account)
    session.flush()
    return account


def account_of(session: Session, member_id: str) -> Account:
    account = session.get(Account, member_id)
    if account is None:
        raise AccountError(
            f"党员 {member_id} 没有账号；可用 obligations user add 开通。", exit_code=NotFound.exit_code
        )
    return account


def set_password(session: Session, member_id: str, password: str, *, now: dt.datetime) -> Account:
    """A new password also lifts a lockout and signs the member out everywhere."""
    account = account_of(session, member_id)
    account.password_hash = hash_password(password)
    account.password_changed_at = now
    account.failed_logins = 0
    account.locked_until = None
    session.add(account)
    revoke_all(session, member_id, now=now)
    session.flush()
    return account


def set_disabled(session: Session, member_id: str, disabled: bool, *, now: dt.datetime) -> Account:
    account = account_of(session, member_id)
    account.disabled = disabled
    if not disabled:
        account.failed_logins = 0
        account.locked_until = None
    session.add(account)
    if disabled:
        revoke_all(session, member_id, now=now)
    session.flush()
    return account


def accounts(session: Session) -> Sequence[tuple[Account, Member]]:
    return session.exec(
        select(Account, Member)
        .join(Member, col(Member.id) == col(Account.member))
        .order_by(col(Account.member))
    ).all()


@dataclass(frozen=True)
class SignIn:
    """The outcome of a password check: `account` when it succeeded, else the Chinese reason."""

    account: Account | None
    problem: str | None = None
    locked: bool = False


WRONG = "党员编号或密码不正确。"


def authenticate(
    session: Session,
    member_id: str,
    password: str,
    *,
    now: dt.datetime,
    attempts: int,
    lockout: dt.timedelta,
) -> SignIn:
    """Check a password; `attempts` consecutive failures lock the account for `lockout`. The caller commits
    (a failure is counted even though the sign-in is refused). Slow (argon2): call it off the event loop."""
    account = session.get(Account, member_id) if member_id else None
    member = session.get(Member, member_id) if account is not None else None
    if account is None or account.password_hash is None or member is None or not member.active:
        _verify(_dummy_hash(), password)
        return SignIn(None, WRONG)
    if account.disabled:
        return SignIn(None, "账号已停用，请联系党委（党总支）的组织员。")
    if account.locked_until is not None and is_locked(account, now):
        return SignIn(None, _locked_message(account.locked_until), locked=True)
    if not _verify(account.password_hash, password):
        # Counted in the database, so that two simultaneous guesses count twice.
        session.exec(
            update(Account)
            .where(col(Account.member) == member_id)
            .values(failed_logins=col(Account.failed_logins) + 1)
        )
        session.refresh(account)
        if account.failed_logins >= attempts:
            account.locked_until = now + lockout
            account.failed_logins = 0
            session.add(account)
            session.flush()
            return SignIn(None, _locked_message(account.locked_until), locked=True)
        left = attempts - account.failed_logins
        return SignIn(None, f"{WRONG}再错 {left} 次账号将被锁定。")
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    session.add(account)
    session.flush()
    return SignIn(account)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password[: MAX_PASSWORD + 1])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def is_locked(account: Account, now: dt.datetime) -> bool:
    return account.locked_until is not None and aware(account.locked_until) > now


def _locked_message(until: dt.datetime) -> str:
    return f"密码连续输错次数过多，账号已锁定至 {minute_text(until)}（北京时间）；可请组织员重设密码解锁。"


# ---------------------------------------------------------------------------------------------------
# Sessions


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Opened:
    cookie: str  # the value for the browser; only its hash is stored
    csrf_token: str


def open_session(
    session: Session, member_id: str, *, method: str, now: dt.datetime, address: str | None
) -> Opened:
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id_hash=_digest(cookie),
            member=member_id,
            csrf_token=csrf,
            method=method,
            created_at=now,
            last_seen=now,
            address=address[:100] if address else None,
        )
    )
    session.flush()
    return Opened(cookie, csrf)


def current_session(
    session: Session, cookie: str, *, now: dt.datetime, idle: dt.timedelta
) -> WebSession | None:
    """The live session a cookie names: not revoked, not idle longer than `idle`, its account enabled and its
    member still in the registry. Touches `last_seen` (at most once a minute)."""
    if not cookie or len(cookie) > 100:
        return None
    web_session = session.get(WebSession, _digest(cookie))
    if web_session is None or web_session.revoked_at is not None:
        return None
    if aware(web_session.last_seen) + idle < now:
        web_session.revoked_at = now
        session.add(web_session)
        session.flush()
        return None
    account = session.get(Account, web_session.member)
    member = session.get(Member, web_session.member)
    if account is None or account.disabled or member is None or not member.active:
        return None
    if (now - aware(web_session.last_seen)).total_seconds() >= SESSION_TOUCH_SECONDS:
        web_session.last_seen = now
        session.add(web_session)
        session.flush()
    return web_session


def revoke(session: Session, cookie: str, *, now: dt.datetime) -> None:
    web_session = session.get(WebSession, _digest(cookie)) if cookie else None
    if web_session is not None and web_session.revoked_at is None:
        web_session.revoked_at = now
        session.add(web_session)
        session.flush()


def revoke_all(session: Session, member_id: str, *, now: dt.datetime) -> int:
    result = session.exec(
        update(WebSession)
        .where(col(WebSession.member) == member_id, col(WebSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)


STALE_SESSION_DAYS = 30


def prune_sessions(session: Session, *, now: dt.datetime) -> int:
    """Remove sessions unused for a month (revoked or timed out long ago); the audit log keeps the sign-ins."""
    cutoff = now - dt.timedelta(days=STALE_SESSION_DAYS)
    result = session.exec(delete(WebSession).where(col(WebSession.last_seen) < cutoff))
    return int(result.rowcount or 0)
