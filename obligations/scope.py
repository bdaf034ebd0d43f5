"""What a signed-in member may see and do, read from the registry at each request (never stored):

- a secretary, deputy secretary or 组织委员 of a 党委, 党总支 or 党组 supervises its subtree: sees every
  organization, task and record in it and decides the extension and exemption requests of the organizations
  below it (the parent's 组织员 approves);
- a secretary, deputy secretary or 组织委员 of a 党支部 records for the branch and its 党小组; a 党小组长 for the
  group;
- every member sees and records their own tasks (学时, 政治生日 …) and the tasks assigned to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from calendars.model import OrgKind, Role
from obligations.models import Member, Organization, Position, Task

# The seats that act for an organization on the desk.
ACTING_ROLES = frozenset({Role.SECRETARY.value, Role.DEPUTY_SECRETARY.value, Role.ORGANIZATION.value})
SUPERVISING_KINDS = frozenset(
    {OrgKind.COMMITTEE.value, OrgKind.GENERAL_BRANCH.value, OrgKind.LEADING_GROUP.value}
)


@dataclass(frozen=True)
class Scope:
    member: str
    name: str
    branch: str  # the organization the member sits in
    supervised: tuple[tuple[str, str], ...]  # (code, path) of each 党委/党总支 whose subtree is seen
    records_for: frozenset[str]  # organizations whose tasks the member records (branch and its groups)

    @property
    def supervises(self) -> bool:
        return bool(self.supervised)

    def sees_org(self, org: Organization) -> bool:
        return org.code in self.records_for or self._under(org.path)

    def sees_task(self, task: Task, org: Organization) -> bool:
        return self.own(task) or self.sees_org(org)

    def records(self, task: Task, org: Organization) -> bool:
        """Who may record, undo and ask to extend: the acting seats of the task's organization (a 党小组's
        branch included), a supervisor of its subtree, or the member whose own task it is."""
        return self.own(task) or self.sees_org(org)

    def decides(self, org: Organization) -> bool:
        """Approves an extension or exemption of `org`'s task: a supervisor of a subtree strictly above it."""
        return any(org.path.startswith(path) and org.path != path for _code, path in self.supervised)

    def own(self, task: Task) -> bool:
        return task.assignee == self.member or (task.subject_kind != "org" and task.subject == self.member)

    def _under(self, path: str) -> bool:
        return any(path.startswith(root) for _code, root in self.supervised)


def scope_of(session: Session, member_id: str) -> Scope | None:
    """The member's scope now; None when the member left the registry."""
    member = session.get(Member, member_id)
    if member is None or not member.active:
        return None
    seats = session.exec(
        select(Organization, Position.role)
        .join(Position, col(Position.org) == col(Organization.code))
        .where(col(Position.member) == member_id, col(Organization.active).is_(True))
    ).all()
    supervised: list[tuple[str, str]] = []
    records_for: set[str] = set()
    for org, role in seats:
        if role in ACTING_ROLES and org.kind in SUPERVISING_KINDS:
            supervised.append((org.code, org.path))
        elif role in ACTING_ROLES and org.kind == OrgKind.BRANCH.value:
            records_for.add(org.code)
            records_for.update(
                session.exec(
                    select(col(Organization.code)).where(
                        col(Organization.parent) == org.code,
                        col(Organization.kind) == OrgKind.GROUP.value,
                        col(Organization.active).is_(True),
                    )
                ).all()
            )
        elif role == Role.GROUP_LEADER.value:
            records_for.add(org.code)
    return Scope(
        member=member_id,
        name=member.name,
        branch=member.org,
        supervised=tuple(sorted(supervised)),
        records_for=frozenset(records_for),
    )
