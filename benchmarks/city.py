"""A synthetic city registry for benchmarks: committees, branches, 党小组, members and positions.

`city_registry(committees)` builds, deterministically from a seed, a registry shaped like a large city's:

- `committees` committees (党委), codes `c1` … `cN`, their duty calendars rotating among the shipped profiles;
- 10 branches (党支部) under each, codes `c{i}.b{j}`, inheriting their committee's profile (a few wujin-2016
  branches declare the allowed two-year term);
- 3 党小组 under each branch, codes `c{i}.b{j}.g{k}`;
- 30 members per branch: 21 directly in the branch and 3 in each of its groups (about 1 in 40 probationary,
  about 1 in 200 full-time party staff), and 3 members directly in each committee;
- secretary, deputy secretary and organization member for every branch and committee, a group leader for
  every group; about 1 deputy seat in 17 and 1 organization seat in 29 is vacant;
- election dates spread over the last six years, so that some terms are overdue and some expire soon.

`write_toml(registry, path)` writes it in the registry import format (see obligations/registry.py), so that
the real `obligations import` path can be timed too.

    .venv/bin/python benchmarks/city.py --committees 20 --out /tmp/city.toml
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path

from calendars.model import OrgKind
from obligations.registry import MemberRecord, OrgRecord, PositionRecord, Registry

PROFILES = ("national", "wujin-2016", "haimen-2019", "luoyang-2020", "linyi-mengshan-2018", "suzhou-2020")
BRANCHES_PER_COMMITTEE = 10
GROUPS_PER_BRANCH = 3
MEMBERS_IN_BRANCH = 21  # directly in the branch
MEMBERS_PER_GROUP = 3  # 21 + 3 x 3 = 30 members per branch
MEMBERS_IN_COMMITTEE = 3  # the committee's own officers
AS_OF = dt.date(2026, 11, 21)  # nothing in the registry is dated after this day
SEED = 20261121

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
_GIVEN = "建国秀兰伟洋静帆磊丽强敏涛燕军婷峰娜勇玲超欣斌佳凯芳雪亮瑶浩然琳阳媛辉晴明悦志博薇"
_NUMERALS = "一二三四五六七八九十"


def _day_before(day: dt.date, rng: random.Random, low_days: int, high_days: int) -> dt.date:
    return day - dt.timedelta(days=rng.randint(low_days, high_days))


def _numeral(n: int) -> str:
    return _NUMERALS[n - 1] if n <= len(_NUMERALS) else str(n)


class _People:
    """Members with invented names, dated plausibly relative to AS_OF."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.count = 0

    def member(self, member_id: str, org: str) -> MemberRecord:
        rng = self.rng
        self.count += 1
        name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))
        probationary = rng.random() < 0.025
        staff_since = _day_before(AS_OF, rng, 30, 3000) if rng.random() < 0.005 else None
        if probationary:
            joined = _day_before(AS_OF, rng, 10, 360)
            probation_start, full_on = joined, None
        else:
            joined = _day_before(AS_OF, rng, 400, 40 * 365)
            probation_start, full_on = None, joined + dt.timedelta(days=365)
        return MemberRecord(
            id=member_id,
            name=name,
            org=org,
            status="probationary" if probationary else "full",
            joined_on=joined,
            probation_start=probation_start,
            full_on=full_on,
            email=f"{member_id}@example.org",
            wecom=member_id.replace(".", "_"),
            mobile=f"139{self.count:08d}",
            staff_since=staff_since,
        )


def city_registry(committees: int, *, seed: int = SEED) -> Registry:
    """A city of `committees` committees, 10 branches each (see the module's docstring). Deterministic."""
    rng = random.Random(seed)
    people = _People(rng)
    orgs: list[OrgRecord] = []
    members: list[MemberRecord] = []
    positions: list[PositionRecord] = []

    def officers(org: str, elected_on: dt.date, holders: list[str], index: int) -> None:
        roles = ("secretary", "deputy_secretary", "organization")
        vacant = {"deputy_secretary": index % 17 == 5, "organization": index % 29 == 11}
        for role, holder in zip(roles, holders, strict=True):
            if vacant.get(role):
                since = _day_before(AS_OF, rng, 20, 400)
                positions.append(PositionRecord(org, role, None, None, since))
            else:
                # Most officers since the election; some appointed later (a by-election, a transfer).
                since = elected_on if rng.random() < 0.85 else _day_before(AS_OF, rng, 10, 500)
                positions.append(PositionRecord(org, role, holder, max(since, elected_on), None))

    branch_index = 0
    for i in range(1, committees + 1):
        committee = f"c{i}"
        profile = PROFILES[(i - 1) % len(PROFILES)]
        elected_on = _day_before(AS_OF, rng, 30, 6 * 365)
        orgs.append(
            OrgRecord(committee, f"{i}号机关党委", OrgKind.COMMITTEE, None, profile, elected_on, None)
        )
        own = [f"{committee}.m{n}" for n in range(1, MEMBERS_IN_COMMITTEE + 1)]
        members.extend(people.member(member_id, committee) for member_id in own)
        officers(committee, elected_on, own, i)
        for j in range(1, BRANCHES_PER_COMMITTEE + 1):
            branch_index += 1
            branch = f"{committee}.b{j}"
            elected_on = _day_before(AS_OF, rng, 15, 4 * 365)
            term_years = 2 if profile == "wujin-2016" and j % 4 == 0 else None
            orgs.append(
                OrgRecord(
                    branch,
                    f"{i}号党委第{_numeral(j)}党支部",
                    OrgKind.BRANCH,
                    committee,
                    None,
                    elected_on,
                    term_years,
                )
            )
            direct = [f"{branch}.m{n}" for n in range(1, MEMBERS_IN_BRANCH + 1)]
            members.extend(people.member(member_id, branch) for member_id in direct)
            officers(branch, elected_on, direct[:3], branch_index)
            for k in range(1, GROUPS_PER_BRANCH + 1):
                group = f"{branch}.g{k}"
                orgs.append(
                    OrgRecord(
                        group,
                        f"{i}号党委第{_numeral(j)}支部第{_numeral(k)}党小组",
                        OrgKind.GROUP,
                        branch,
                        None,
                        None,
                        None,
                    )
                )
                in_group = [f"{group}.m{n}" for n in range(1, MEMBERS_PER_GROUP + 1)]
                members.extend(people.member(member_id, group) for member_id in in_group)
                since = _day_before(AS_OF, rng, 10, 3 * 365)
                positions.append(PositionRecord(group, "group_leader", in_group[0], since, None))
    return Registry(tuple(orgs), tuple(members), tuple(positions))


def _value(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()  # a TOML local date
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string: JSON's escapes are TOML's


def _table(name: str, fields: dict[str, object]) -> Iterator[str]:
    yield f"[[{name}]]"
    for key, value in fields.items():
        if value is not None:
            yield f"{key} = {_value(value)}"
    yield ""


def toml_lines(registry: Registry) -> Iterator[str]:
    """The registry in the import format, one line at a time."""
    yield "# A synthetic city registry (benchmarks/city.py)."
    yield ""
    for org in registry.orgs:
        yield from _table(
            "org",
            {
                "code": org.code,
                "name": org.name,
                "kind": org.kind.value,
                "parent": org.parent,
                "profile": org.profile,
                "elected_on": org.elected_on,
                "term_years": org.term_years,
            },
        )
    for member in registry.members:
        fields = {name: getattr(member, name) for name in ("id", "name", "org", "status", "joined_on")}
        for name in ("probation_start", "full_on", "email", "wecom", "mobile", "staff_since"):
            fields[name] = getattr(member, name)
        yield from _table("member", fields)
    for position in registry.positions:
        fields = {
            name: getattr(position, name) for name in ("org", "role", "member", "since", "vacant_since")
        }
        yield from _table("position", fields)


def write_toml(registry: Registry, path: Path) -> None:
    with path.open("w", encoding="utf-8") as file:
        for line in toml_lines(registry):
            file.write(line)
            file.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Write a synthetic city registry as an importable TOML file."
    )
    parser.add_argument(
        "--committees", type=int, default=20, help="committees, 10 branches each (default 20)"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    registry = city_registry(args.committees, seed=args.seed)
    write_toml(registry, args.out)
    print(
        f"{args.out}: {len(registry.orgs)} organizations, {len(registry.members)} members, "
        f"{len(registry.positions)} positions"
    )


if __name__ == "__main__":
    main()
