"""Who may call each address: every API route and page, declared once, enforced in one place.

`enforce_declared_access` runs before every handler of every router the app includes: an
address missing from `ROUTES` is refused to everyone (deny by default), one declared with
capabilities needs a signed-in user holding at least one of them (`permissions.can`). The
actions behind the handlers check their own capability again (`permissions.action`), so the
CLI and imports, which have no route, are held to the same declaration. A test calls every
route as a user of every agency kind and role and compares the answer with this table.
"""

from __future__ import annotations

from typing import Final

from fastapi import Request
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.permissions import can, can_any
from retorno.agencies.visibility import ends_at_arrival
from retorno.errors import Forbidden, NotAuthenticated, Term
from retorno.web.deps import SessionDep, bearer_user, came_from_another_site, session_user
from retorno.web.pages.accounts import PASSWORD_PAGE, PasswordChangeRequired
from retorno.web.pages.common import CrossSiteLink, LoginRequired
from retorno.web.refusals import ENDS_AT_ARRIVAL, READER_AGENCY, READS_PROTECTION

PUBLIC: Final = "public"
SIGNED_IN: Final = "signed_in"
Access = tuple[str, ...] | str

CASE_READERS = ("case.read", "returnee.read")

ROUTES: dict[tuple[str, str], Access] = {
    # ---- API: accounts
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("GET", "/api/v1/me"): SIGNED_IN,
    # One's own API tokens, a viewer's too; a supervisor's of their agency's users (tokens.manage): the action decides
    # whose, and answers 404 for anyone else's (agencies.service.manages_tokens_of).
    ("GET", "/api/v1/auth/tokens"): SIGNED_IN,
    ("GET", "/api/v1/users/{username}/tokens"): SIGNED_IN,
    ("POST", "/api/v1/users/{username}/tokens/{token_id}/revoke"): SIGNED_IN,
    # What waits for the caller: each kind holds only what their capabilities let them act on.
    ("GET", "/api/v1/inbox"): SIGNED_IN,
    ("POST", "/api/v1/users"): ("admin.users",),
    ("POST", "/api/v1/users/{username}/disable"): ("admin.users",),
    ("GET", "/api/v1/agencies"): ("admin.users",),
    ("POST", "/api/v1/agencies"): ("admin.users",),
    ("POST", "/api/v1/agencies/{code}/disable"): ("admin.users",),
    ("POST", "/api/v1/agencies/{code}/enable"): ("admin.users",),
    # ---- API: audit
    ("GET", "/api/v1/audit"): ("audit.read",),
    ("GET", "/api/v1/audit/verify"): ("audit.read",),
    ("GET", "/api/v1/audit/checkpoint"): ("audit.read",),
    # ---- API: cases, screening, documents, verification
    ("POST", "/api/v1/cases"): ("case.register",),
    ("GET", "/api/v1/cases"): CASE_READERS,
    ("GET", "/api/v1/cases/{reference}"): CASE_READERS,
    ("PATCH", "/api/v1/cases/{reference}"): ("case.update",),
    ("GET", "/api/v1/cases/{reference}/timeline"): ("case.timeline",),
    ("POST", "/api/v1/cases/{reference}/withdraw"): ("case.withdraw",),
    ("POST", "/api/v1/cases/import"): ("case.register",),
    ("POST", "/api/v1/cases/{reference}/documents"): ("document.add",),
    ("GET", "/api/v1/cases/{reference}/documents"): ("document.read",),
    ("POST", "/api/v1/cases/{reference}/emergency-document"): ("document.issue_emergency",),
    ("POST", "/api/v1/cases/{reference}/documents/{document_id}/withdraw"): ("document.withdraw",),
    ("GET", "/api/v1/emergency-documents/{number}.pdf"): ("document.issue_emergency",),
    ("POST", "/api/v1/cases/{reference}/screenings"): ("screening.record",),
    ("GET", "/api/v1/cases/{reference}/screenings"): ("screening.read_details",),
    ("POST", "/api/v1/cases/{reference}/screenings/resolution"): ("screening.resolve",),
    ("POST", "/api/v1/cases/{reference}/best-interests"): ("child.decide",),
    ("GET", "/api/v1/cases/{reference}/possible-duplicates"): ("duplicate.read",),
    ("POST", "/api/v1/cases/{reference}/possible-duplicates/{other_ref}/decision"): ("duplicate.decide",),
    ("POST", "/api/v1/cases/{reference}/verification-request"): ("verification.request",),
    ("POST", "/api/v1/cases/{reference}/verification-decision"): ("verification.decide",),
    ("POST", "/api/v1/cases/{reference}/verification-revocation"): ("verification.revoke",),
    ("GET", "/api/v1/verification/queue"): ("verification.queue",),
    ("POST", "/api/v1/verification/audit-sample"): ("verification.decide",),
    # ---- API: flights and manifests
    ("POST", "/api/v1/flights"): ("flight.propose",),
    ("GET", "/api/v1/flights"): ("flight.read",),
    ("GET", "/api/v1/flights/{reference}"): ("flight.read",),
    ("GET", "/api/v1/flights/{reference}/passengers"): ("paxlst.read",),
    ("POST", "/api/v1/flights/{reference}/accept"): ("flight.accept",),
    ("POST", "/api/v1/flights/{reference}/cancel"): ("flight.cancel",),
    ("POST", "/api/v1/flights/{reference}/passengers"): ("manifest.propose",),
    ("POST", "/api/v1/flights/{reference}/passengers/{case_ref}/remove"): ("manifest.propose",),
    ("POST", "/api/v1/flights/{reference}/manifest/propose"): ("manifest.propose",),
    ("POST", "/api/v1/flights/{reference}/passengers/{case_ref}/decision"): ("manifest.decide",),
    ("POST", "/api/v1/flights/{reference}/manifest/lock"): ("manifest.lock",),
    ("POST", "/api/v1/flights/{reference}/locked-changes"): ("manifest.change_locked",),
    ("POST", "/api/v1/flights/{reference}/passengers/{case_ref}/boarding"): ("boarding.record",),
    ("POST", "/api/v1/flights/{reference}/passengers/{case_ref}/no-show-correction"): ("boarding.correct_no_show",),
    ("POST", "/api/v1/flights/{reference}/passengers/{case_ref}/boarding-correction"): ("boarding.correct_no_show",),
    ("GET", "/api/v1/flights/{reference}/deboardings"): ("flight.read",),
    ("POST", "/api/v1/flights/{reference}/deboardings"): ("boarding.record",),
    ("POST", "/api/v1/flights/{reference}/depart"): ("flight.depart",),
    ("POST", "/api/v1/flights/{reference}/landing"): ("arrival.confirm",),
    ("POST", "/api/v1/flights/{reference}/passengers/{case_ref}/arrival"): ("arrival.confirm",),
    ("POST", "/api/v1/flights/{reference}/arrival-discrepancy"): ("arrival.confirm",),
    ("GET", "/api/v1/flights/{reference}/paxlst"): ("paxlst.read",),
    ("GET", "/api/v1/flights/{reference}/manifest.pdf"): ("paxlst.read",),
    ("GET", "/api/v1/flights/{reference}/manifest.csv"): ("paxlst.read",),
    ("GET", "/api/v1/flights/{reference}/bulletin"): ("flight.read",),
    ("GET", "/api/v1/households/{agency_reference}"): ("case.read",),
    ("POST", "/api/v1/households/{agency_reference}/split"): ("household.split",),
    ("POST", "/api/v1/cases/{reference}/household"): ("household.split",),
    ("POST", "/api/v1/plans"): ("manifest.propose",),
    ("POST", "/api/v1/plans/apply"): ("manifest.propose",),
    # ---- API: bulk actions (each person still one action: `travel.bulk`)
    ("POST", "/api/v1/flights/{reference}/approvals"): ("manifest.decide",),
    ("POST", "/api/v1/flights/{reference}/rejections"): ("manifest.decide",),
    ("POST", "/api/v1/flights/{reference}/boardings"): ("boarding.record",),
    ("POST", "/api/v1/flights/{reference}/selection"): ("manifest.propose",),
    ("POST", "/api/v1/cases/assignments"): ("case.assign",),
    # ---- API: reintegration
    ("POST", "/api/v1/cases/{reference}/consent"): ("consent.record",),
    ("POST", "/api/v1/cases/{reference}/consent/withdraw"): ("consent.withdraw",),
    ("GET", "/api/v1/cases/{reference}/intake"): ("intake.record",),
    ("PUT", "/api/v1/cases/{reference}/intake"): ("intake.record",),
    ("POST", "/api/v1/cases/{reference}/intake/transfer"): ("intake.transfer",),
    ("GET", "/api/v1/returnees"): ("returnee.read",),
    ("POST", "/api/v1/opportunities"): ("opportunity.manage",),
    ("POST", "/api/v1/opportunities/import"): ("opportunity.manage",),
    ("GET", "/api/v1/opportunities/{reference}"): ("returnee.read",),
    ("PATCH", "/api/v1/opportunities/{reference}"): ("opportunity.manage",),
    ("GET", "/api/v1/opportunities"): ("returnee.read",),
    ("GET", "/api/v1/matching/preview"): ("matching.run",),
    ("POST", "/api/v1/matching/runs"): ("matching.run",),
    ("GET", "/api/v1/cases/{reference}/placements"): ("returnee.read",),
    ("POST", "/api/v1/placements/{placement_id}"): ("placement.manage",),
    ("POST", "/api/v1/placements/{placement_id}/reopen"): ("placement.reopen",),
    ("GET", "/api/v1/follow-ups"): ("followup.record",),
    ("POST", "/api/v1/follow-ups/{follow_up_id}"): ("followup.record",),
    # ---- API: reports
    ("GET", "/api/v1/reports/dashboard"): SIGNED_IN,
    ("GET", "/api/v1/reports/public"): PUBLIC,
    ("GET", "/api/v1/reports/public.csv"): PUBLIC,
    # ---- pages: sign-in, language, public statistics, the dashboard
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("POST", "/language"): PUBLIC,
    ("GET", "/estadisticas"): PUBLIC,
    # Each official's work queue; the figures and charts of their agency on the dashboard.
    ("GET", "/"): SIGNED_IN,
    ("GET", "/dashboard"): SIGNED_IN,
    # ---- pages: one's own password; user administration (web.pages.accounts)
    ("GET", "/account/password"): SIGNED_IN,
    ("POST", "/account/password"): SIGNED_IN,
    ("GET", "/account/tokens"): SIGNED_IN,
    ("POST", "/users/{username}/tokens/{token_id}/revoke"): SIGNED_IN,
    ("GET", "/users"): ("users.read",),
    ("POST", "/users"): ("users.manage",),
    ("GET", "/users/{username}"): ("users.read",),
    ("POST", "/users/{username}/role"): ("users.manage",),
    ("POST", "/users/{username}/password-reset"): ("users.manage",),
    ("POST", "/users/{username}/disable"): ("users.manage",),
    ("POST", "/users/{username}/enable"): ("users.manage",),
    # ---- pages: the sending side
    ("GET", "/cases"): ("case.read",),
    ("GET", "/cases.{fmt}"): ("case.read",),
    ("POST", "/cases/searches"): ("search.save",),
    ("POST", "/cases/searches/{search_id}/delete"): ("search.save",),
    ("POST", "/cases/assignments"): ("case.assign",),
    ("GET", "/cases/new"): ("case.register",),
    ("POST", "/cases/new"): ("case.register",),
    ("GET", "/cases/import"): ("case.register",),
    ("POST", "/cases/import"): ("case.register",),
    ("POST", "/cases/import/report"): ("case.register",),
    ("GET", "/cases/import/template.{fmt}"): ("case.register",),
    ("GET", "/cases/{reference}"): ("case.read",),
    ("GET", "/cases/{reference}/edit"): ("case.update",),
    ("POST", "/cases/{reference}/edit"): ("case.update",),
    ("POST", "/cases/{reference}/screening"): ("screening.record",),
    ("POST", "/cases/{reference}/resolution"): ("screening.resolve",),
    ("POST", "/cases/{reference}/best-interests"): ("child.decide",),
    ("POST", "/cases/{reference}/possible-duplicates/{other_ref}/decision"): ("duplicate.decide",),
    ("POST", "/cases/{reference}/verification-request"): ("verification.request",),
    ("POST", "/cases/{reference}/documents"): ("document.add",),
    ("POST", "/cases/{reference}/withdraw"): ("case.withdraw",),
    ("POST", "/cases/{reference}/intake/transfer"): ("intake.transfer",),
    ("GET", "/flights/new"): ("flight.propose",),
    ("POST", "/flights/new"): ("flight.propose",),
    ("GET", "/planning"): ("manifest.plan",),
    ("POST", "/planning"): ("manifest.plan",),
    ("POST", "/planning/review"): ("manifest.plan",),
    ("POST", "/planning/apply"): ("manifest.propose",),
    # ---- pages: flights, both sides and the carrier
    ("GET", "/flights"): ("flight.read",),
    ("GET", "/flights/{reference}"): ("flight.read",),
    ("POST", "/flights/{reference}/accept"): ("flight.accept",),
    ("POST", "/flights/{reference}/cancel"): ("flight.cancel",),
    ("POST", "/flights/{reference}/passengers"): ("manifest.propose",),
    ("POST", "/flights/{reference}/passengers/{case_reference}/remove"): ("manifest.propose",),
    ("POST", "/flights/{reference}/manifest/propose"): ("manifest.propose",),
    ("POST", "/flights/{reference}/manifest/lock"): ("manifest.lock",),
    ("POST", "/flights/{reference}/landing"): ("arrival.confirm",),
    ("GET", "/flights/{reference}/paxlst"): ("paxlst.read",),
    ("GET", "/flights/{reference}/manifest.pdf"): ("paxlst.read",),
    ("GET", "/flights/{reference}/manifest.csv"): ("paxlst.read",),
    ("POST", "/flights/{reference}/boarding/{case_reference}"): ("boarding.record",),
    ("POST", "/cases/{reference}/no-show-correction"): ("boarding.correct_no_show",),
    ("POST", "/cases/{reference}/boarding-correction"): ("boarding.correct_no_show",),
    ("POST", "/cases/{reference}/household"): ("household.split",),
    ("POST", "/flights/{reference}/deboardings"): ("boarding.record",),
    ("POST", "/flights/{reference}/depart"): ("flight.depart",),
    # Bulk actions on a flight: a preview, then the confirmation (web.pages.bulkpages).
    ("POST", "/flights/{reference}/approvals"): ("manifest.decide",),
    ("POST", "/flights/{reference}/rejections"): ("manifest.decide",),
    ("POST", "/flights/{reference}/boardings"): ("boarding.record",),
    ("GET", "/flights/{reference}/add"): ("manifest.propose",),
    ("POST", "/flights/{reference}/selection"): ("manifest.propose",),
    ("GET", "/flights/{reference}/passengers.{fmt}"): ("flight.read",),
    # ---- pages: the receiving side
    ("GET", "/verification"): ("verification.queue",),
    ("GET", "/verification.{fmt}"): ("verification.queue",),
    ("POST", "/verification/{reference}"): ("verification.decide",),
    ("POST", "/cases/{reference}/verification-decision"): ("verification.decide",),
    ("POST", "/cases/{reference}/verification-revocation"): ("verification.revoke",),
    ("POST", "/cases/{reference}/emergency-document"): ("document.issue_emergency",),
    ("POST", "/cases/{reference}/documents/{document_id}/withdraw"): ("document.withdraw",),
    ("GET", "/flights/{reference}/arrivals"): ("flight.read",),
    ("POST", "/flights/{reference}/arrivals/{case_reference}"): ("arrival.confirm",),
    ("POST", "/flights/{reference}/discrepancy"): ("arrival.confirm",),
    ("POST", "/flights/{reference}/decisions/{case_reference}"): ("manifest.decide",),
    # ---- pages: monitors
    ("GET", "/monitor"): ("audit.read",),
    ("GET", "/audit"): ("audit.read",),
    ("GET", "/audit/verify"): ("audit.read",),
    # ---- pages: reintegration operators
    ("GET", "/reintegration/returnees"): ("returnee.read",),
    ("GET", "/reintegration/returnees.{fmt}"): ("returnee.read",),
    ("GET", "/reintegration/placements.{fmt}"): ("returnee.read",),
    ("GET", "/reintegration/follow-ups.{fmt}"): ("followup.record",),
    ("POST", "/reintegration/consent"): ("consent.record",),
    ("GET", "/reintegration/returnees/{reference}"): ("returnee.read",),
    ("POST", "/reintegration/returnees/{reference}/intake"): ("intake.record",),
    ("POST", "/reintegration/returnees/{reference}/intake/transfer"): ("intake.transfer",),
    ("POST", "/reintegration/returnees/{reference}/withdraw"): ("consent.withdraw",),
    ("GET", "/reintegration/opportunities"): ("returnee.read",),
    ("GET", "/reintegration/opportunities/new"): ("opportunity.manage",),
    ("POST", "/reintegration/opportunities/new"): ("opportunity.manage",),
    ("GET", "/reintegration/opportunities/{reference}"): ("opportunity.manage",),
    ("POST", "/reintegration/opportunities/{reference}"): ("opportunity.manage",),
    ("GET", "/reintegration/matching"): ("matching.run",),
    ("POST", "/reintegration/matching/run"): ("matching.run",),
    ("GET", "/reintegration/placements"): ("returnee.read",),
    ("POST", "/reintegration/placements/{placement_id}"): ("placement.manage",),
    ("POST", "/reintegration/placements/{placement_id}/reopen"): ("placement.reopen",),
    ("GET", "/reintegration/follow-ups"): ("followup.record",),
    ("GET", "/reintegration/follow-ups/{follow_up_id}"): ("followup.record",),
    ("POST", "/reintegration/follow-ups/{follow_up_id}"): ("followup.record",),
}


# What a user whose password someone else set may still do (public addresses aside, logging out among them).
PENDING_PASSWORD = frozenset({("GET", PASSWORD_PAGE), ("POST", PASSWORD_PAGE)})


def declared_access(method: str, path: str) -> Access | None:
    method = method.upper()
    return ROUTES.get(("GET" if method == "HEAD" else method, path))


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def _caller(request: Request, session: Session) -> User | None:
    token = _bearer(request)
    return bearer_user(request, session, token) if token is not None else session_user(request, session)


# The one address another site may link to with the login cookie: the official's own work list, which reads nothing
# that is recorded as read (every other page or API read may record a read of protection data, an export, a
# timeline: red team round 43, L1).
CROSS_SITE_LANDING = "/"


def _refuse_cross_site(request: Request) -> None:
    """Refuse what another site's link or redirect asks for with the login cookie (SameSite=Lax sends it along with a
    top-level navigation): the read and its audit record would be the attacker's doing in the official's name. A page
    answers with a page of ours that links to the address, so the official's own click opens it; the API refuses."""
    if request.method not in ("GET", "HEAD") or not came_from_another_site(request):
        return  # a change from another site is refused by its CSRF check already
    if request.url.path == CROSS_SITE_LANDING and not request.url.query:
        return
    if request.url.path.startswith("/api/"):
        raise Forbidden("a read through the API with the login cookie must come from this site, not from a link or "
                        "redirect of another site", code="forbidden.cross_site")
    raise CrossSiteLink(request.url.path + (f"?{request.url.query}" if request.url.query else ""))


def enforce_declared_access(request: Request, session: SessionDep) -> None:
    """Refuse a request whose route is undeclared, or whose caller holds none of its capabilities."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    declared = declared_access(request.method, path) if path else None
    if declared is None:
        raise Forbidden("%(method)s %(path)s has no declared access", code="forbidden.undeclared_route",
                        method=request.method, path=path)
    if declared == PUBLIC:
        return
    user = _caller(request, session)
    if user is None:
        if request.url.path.startswith("/api/"):
            raise NotAuthenticated("log in, or send 'Authorization: Bearer <token>'")
        raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if _bearer(request) is None:
        _refuse_cross_site(request)
    if user.must_change_password and (request.method, path) not in PENDING_PASSWORD:
        # A password someone else set: nothing but choosing one's own until then.
        if request.url.path.startswith("/api/"):
            raise Forbidden("%(username)s must choose a new password on the page %(page)s first",
                            code="password_change_required", username=user.username, page=PASSWORD_PAGE)
        raise PasswordChangeRequired()
    # What the refusals of this request may tell its caller (`refusals.told_in`).
    setattr(request.state, READS_PROTECTION, can(user, "screening.read_details"))
    setattr(request.state, ENDS_AT_ARRIVAL, ends_at_arrival(user))
    setattr(request.state, READER_AGENCY, user.agency.code)
    if declared == SIGNED_IN or can_any(user, tuple(declared)):
        return
    raise Forbidden("%(username)s (%(agency)s, %(kind)s %(role)s) may not %(method)s %(path)s; it needs one of:"
                    " %(declared)s",
                    code="forbidden." + declared[0], username=user.username, agency=user.agency.code,
                    kind=Term("agency_kind", user.agency.kind), role=Term("role", user.role), method=request.method,
                    path=path,
                    declared=', '.join(declared))
