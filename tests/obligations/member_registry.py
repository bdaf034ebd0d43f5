"""A registry for the member duties (转正, 民主评议, 党费): a branch with a 党小组, probationary members in both,
and a 组织委员 on the parent committee."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from sqlmodel import Session

from obligations import db
from tests.obligations.conftest import run

REGISTRY = textwrap.dedent(
    """
    [[org]]
    code = "jg"
    name = "机关党委"
    kind = "committee"
    profile = "national"
    elected_on = 2022-03-10

    [[org]]
    code = "jg.b1"
    name = "第一党支部"
    kind = "branch"
    parent = "jg"
    elected_on = 2024-11-20

    [[org]]
    code = "jg.b1.g1"
    name = "第一党小组"
    kind = "group"
    parent = "jg.b1"

    [[org]]
    code = "jg.b2"
    name = "第二党支部"
    kind = "branch"
    parent = "jg"
    elected_on = 2024-04-01

    [[member]]
    id = "g1p1"
    name = "小组预备党员"
    org = "jg.b1.g1"
    status = "probationary"
    joined_on = 2025-12-10
    probation_start = 2025-12-10

    [[member]]
    id = "b1p1"
    name = "支部预备党员"
    org = "jg.b1"
    status = "probationary"
    joined_on = 2025-11-25
    probation_start = 2025-11-25

    [[position]]
    org = "jg"
    role = "secretary"
    member = "jgm1"
    since = 2022-03-10

    [[position]]
    org = "jg"
    role = "organization"
    member = "jgm2"
    since = 2022-03-10

    [[position]]
    org = "jg.b1"
    role = "secretary"
    member = "b1m1"
    since = 2024-11-20

    [[position]]
    org = "jg.b1"
    role = "organization"
    member = "b1m2"
    since = 2024-11-20

    [[position]]
    org = "jg.b2"
    role = "secretary"
    member = "b2m1"
    since = 2024-04-01
    """
)
FULL = {
    "jg": ["jgm1", "jgm2"],
    "jg.b1": [f"b1m{i}" for i in range(1, 8)],
    "jg.b1.g1": ["g1m1", "g1m2", "g1m3"],
}
FULL["jg.b2"] = [f"b2m{i}" for i in range(1, 6)]
BRANCH_FULL = FULL["jg.b1"] + FULL["jg.b1.g1"]  # 10 voting members: a 党员大会 needs at least 6


def registry(profile: str = "national") -> str:
    members = [
        f'[[member]]\nid = "{member}"\nname = "党员{member}"\norg = "{org}"\nstatus = "full"\njoined_on = 2010-07-01\n'
        for org, ids in FULL.items()
        for member in ids
    ]
    return REGISTRY.replace('profile = "national"', f'profile = "{profile}"', 1) + "\n" + "\n".join(members)


def load(workspace: tuple[Path, str], as_of: str, profile: str = "national") -> tuple[Path, str]:
    path = workspace[0].parent / "members.toml"
    path.write_text(registry(profile), encoding="utf-8")
    assert run(workspace, "init").exit_code == 0
    result = run(workspace, "import", str(path), "--as-of", as_of)
    assert result.exit_code == 0, result.stderr
    return workspace


def session(workspace: tuple[Path, str]) -> Session:
    return Session(db.make_engine(db.resolve_url(workspace[1], workspace[0].parent)))


def due(workspace: tuple[Path, str], as_of: str, *args: str) -> list[dict[str, object]]:
    result = run(workspace, "due", "--as-of", as_of, "--all", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def attending(members: list[str]) -> list[str]:
    return [arg for member in members for arg in ("--attendee", member)]
