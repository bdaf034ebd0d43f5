"""The 组织员's view of a subtree (`/org/{code}`): what is overdue and due soon, the on-time heat map of the
report (obligations/report.py builds it; nothing is computed twice), the 台账 of each organization
(`/org/{code}/ledger?year=`, the export of obligations/ledger_export.py) and the pending requests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from obligations import duelist, ledger_export, report, requests
from obligations.models import Organization
from obligations.report_html import STATE_LABELS, STATE_SYMBOLS
from obligations.web.app import desk_of
from obligations.web.auth import Viewer, refuse, signed_in
from obligations.web.render import templates

DUE_SOON_DAYS = 30
PAGE_SIZE = 100
MAX_PAGE = 1000
HEAT_ROWS = 300  # organizations shown in the heat map; a larger subtree is read one level down at a time
FIRST_YEAR, LAST_YEAR = 1921, 2200
# The 台账 page is a self-contained printable document with its own inline style, served as it is exported.
LEDGER_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'none'"
)


@dataclass(frozen=True)
class OrgPage:
    org: Organization
    due: list[duelist.DueRow]
    more: bool  # another page of due rows follows
    report: report.Report
    pending: list[requests.Listed]


def _number(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or not low <= int(raw) <= high:
        raise HTTPException(404)
    return int(raw)


def _org(session: Session, code: str) -> Organization:
    org = session.get(Organization, code) if 0 < len(code) <= 100 else None
    if org is None or not org.active:
        raise HTTPException(404)
    return org


async def _page(request: Request, viewer: Viewer) -> Response:
    desk = desk_of(request)
    code = str(request.path_params["code"])
    page = _number(request, "page", 1, 1, MAX_PAGE)
    as_of = desk.today()
    start, end = report.year_range(as_of.year)

    def load(session: Session) -> OrgPage | None:
        org = _org(session, code)
        if not viewer.scope.sees_org(org):
            return None
        rows = duelist.iter_due_rows(session, desk.profiles, as_of=as_of, org=code, within=DUE_SOON_DAYS)
        due = list(itertools.islice(rows, (page - 1) * PAGE_SIZE, page * PAGE_SIZE + 1))
        scope = report.load_scope(session, org=code, start=start, end=end)
        built = report.build(scope, desk.profiles, as_of=as_of, start=start, end=end)
        pending = requests.pending_in(session, desk.profiles, org)
        return OrgPage(org, due[:PAGE_SIZE], len(due) > PAGE_SIZE, built, pending)

    found = await desk.run(load)
    if found is None:
        return await refuse(request, viewer, "org")
    return templates.TemplateResponse(
        request,
        "org.html.j2",
        {
            "viewer": viewer,
            "view": found,
            "page": page,
            "page_size": PAGE_SIZE,
            "as_of": as_of,
            "year": as_of.year,
            "soon": DUE_SOON_DAYS,
            "heat": found.report.heat[:HEAT_ROWS],
            "heat_limit": HEAT_ROWS,
            "state_labels": STATE_LABELS,
            "state_symbols": STATE_SYMBOLS,
            "percent": report.percent,
            "kinds": requests.KIND_LABELS,
            "states": requests.STATE_LABELS,
            "next": request.url.path,
        },
    )


async def _ledger(request: Request, viewer: Viewer) -> Response:
    desk = desk_of(request)
    code = str(request.path_params["code"])
    today = desk.today()
    year = _number(request, "year", today.year, FIRST_YEAR, LAST_YEAR)

    def load(session: Session) -> str | None:
        org = _org(session, code)
        if not viewer.scope.sees_org(org):
            return None
        return ledger_export.to_html(ledger_export.ledger(session, desk.profiles, code, year, today))

    html = await desk.run(load)
    if html is None:
        return await refuse(request, viewer, "ledger")
    return HTMLResponse(html, headers={"content-security-policy": LEDGER_CSP})


ROUTES = [
    Route("/org/{code}", signed_in(_page), methods=["GET"]),
    Route("/org/{code}/ledger", signed_in(_ledger), methods=["GET"]),
]
