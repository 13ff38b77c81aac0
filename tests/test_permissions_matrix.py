"""Every URL the project serves, against every role, built from the URL configuration.

The URLs are found by walking ``get_resolver()``, and each must have a row in
``EXPECTED`` below: a view added without one fails ``test_every_url_has_an_expectation``,
so a new view cannot be forgotten. Each row says what a GET (and, for views that
take a form, an empty POST) answers for anonymous, viewer, clerk, supervisor and
superuser. Account-scoped URLs are also requested with another account's objects
(404) and with an account that does not exist (404).

Admin is left to Django's own permission system; static files are not views.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from billing.actors import Actor
from billing.api.keys import api_key_create, api_key_revoke
from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.models import ImportRun
from billing.receivables.payments import payment_record
from billing.roles import CLERK, SUPERVISOR, VIEWER
from billing.rules import today
from writeoffs.bulk.runs import bulk_run_create
from writeoffs.cases.attachments import attachment_add
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.reports.jobs import report_job_request, report_job_run

ROLES = ("anonymous", "viewer", "clerk", "supervisor", "superuser")

LOGIN = 302  # anonymous: redirected to sign-in
# A POST that got past access control: the form again (200), or done and redirected
# somewhere other than sign-in (an empty POST may be a complete settlement).
PASSED = 0
A, V, C, S, SU = ROLES


@dataclass(frozen=True)
class Expect:
    """Statuses per role, in ROLES order, for a GET and (if the view takes one) a POST."""

    get: tuple[int, int, int, int, int]
    post: tuple[int, int, int, int, int] | None = None
    # URL parameters that name an account's object: swapping in another account's gives 404.
    scoped: bool = True
    api: bool = False


# Columns:                  anonymous, viewer, clerk, supervisor, superuser
READ = (LOGIN, 200, 200, 200, 200)
CLERK_FORM = (LOGIN, 403, 200, 200, 200)
SUPERVISOR_FORM = (LOGIN, 403, 403, 200, 200)
CLERK_POST = (LOGIN, 403, PASSED, PASSED, PASSED)
SUPERVISOR_POST = (LOGIN, 403, 403, PASSED, PASSED)
CLERK_POST_ONLY = (LOGIN, 403, 405, 405, 405)
SUPERVISOR_POST_ONLY = (LOGIN, 403, 403, 405, 405)
VIEW_POST_ONLY = (LOGIN, 405, 405, 405, 405)
# The API authenticates with its own key, never a session: a signed-in supervisor
# without a key is as unknown to it as anyone.
API_NO_KEY = (401, 401, 401, 401, 401)
API_GET_ON_POST = (405, 405, 405, 405, 405)

EXPECTED: dict[str, Expect] = {
    # the load balancer's probe: public, and no sign-in redirect
    "healthz": Expect(get=(200, 200, 200, 200, 200), scoped=False),
    # sign-in
    "login": Expect(get=(200, 200, 200, 200, 200), scoped=False),
    "logout": Expect(get=(405, 405, 405, 405, 405), scoped=False),
    # billing pages
    "home": Expect(get=READ, scoped=False),
    "account_list": Expect(get=READ, scoped=False),
    "account_overview": Expect(get=READ),
    "invoice_list": Expect(get=READ),
    "invoice_detail": Expect(get=READ),
    "payment_list": Expect(get=READ),
    "payment_new": Expect(get=CLERK_FORM, post=CLERK_POST),
    "payment_confirm": Expect(get=CLERK_POST_ONLY, post=CLERK_POST),
    "payment_remove": Expect(get=SUPERVISOR_FORM, post=SUPERVISOR_POST),
    "invoice_void": Expect(get=SUPERVISOR_FORM, post=SUPERVISOR_POST),
    # the books (the Finance controller's own column is in tests/billing/test_books_views.py)
    "lock_date": Expect(
        get=(LOGIN, 403, 403, 403, 200), post=(LOGIN, 403, 403, 403, PASSED), scoped=False
    ),
    "trial_balance": Expect(get=SUPERVISOR_FORM, scoped=False),
    # the allowance provision: the controller's (tests/writeoffs/test_allowance_views.py)
    "report_allowance": Expect(get=(LOGIN, 403, 403, 403, 200), scoped=False),
    "report_allowance_confirm": Expect(
        get=(LOGIN, 403, 403, 403, 200), post=(LOGIN, 403, 403, 403, PASSED), scoped=False
    ),
    "report_allowance_rollforward": Expect(get=(LOGIN, 403, 403, 403, 200), scoped=False),
    "report_allowance_rollforward_csv": Expect(get=(LOGIN, 403, 403, 403, 200), scoped=False),
    "journal_export_page": Expect(get=SUPERVISOR_FORM, scoped=False),
    # Without a range the export answers its form with 400.
    "journal_export": Expect(get=(LOGIN, 403, 403, 400, 400), scoped=False),
    # write-offs pages
    "writeoff_page": Expect(get=READ),
    "writeoff_picker": Expect(get=CLERK_FORM),
    "dispute_picker": Expect(get=CLERK_FORM),
    "writeoff_entry": Expect(get=CLERK_FORM, post=CLERK_POST),
    "dispute_entry": Expect(get=CLERK_FORM, post=CLERK_POST),
    "writeoff_confirm": Expect(get=CLERK_POST_ONLY, post=CLERK_POST),
    "dispute_confirm": Expect(get=CLERK_POST_ONLY, post=CLERK_POST),
    "dispute_settle": Expect(get=SUPERVISOR_FORM, post=SUPERVISOR_POST),
    "writeoff_reverse": Expect(get=SUPERVISOR_FORM, post=SUPERVISOR_POST),
    "writeoff_csv": Expect(get=READ),
    "dispute_csv": Expect(get=READ),
    "recovery_new": Expect(get=CLERK_FORM, post=CLERK_POST),
    "credit_note_detail": Expect(get=READ),
    "writeoff_withdraw": Expect(get=CLERK_FORM, post=CLERK_POST),
    # the Approvals queue (across accounts): the approve permission
    "approval_queue": Expect(get=SUPERVISOR_FORM, scoped=False),
    # a requester's own write-offs that went for approval
    "my_requests": Expect(get=CLERK_FORM, scoped=False),
    "approval_approve": Expect(get=SUPERVISOR_FORM, post=SUPERVISOR_POST, scoped=False),
    "approval_reject": Expect(get=SUPERVISOR_FORM, post=SUPERVISOR_POST, scoped=False),
    # bulk runs (not account-scoped). Clerks create runs and edit their own drafts;
    # start, cancel and resume take a clerk's or an approver's role, and the service
    # then checks whose run it is and whose limit covers it (tests/writeoffs/test_bulk_views.py).
    "bulk_run_list": Expect(get=READ, scoped=False),
    "bulk_run_new": Expect(get=CLERK_FORM, post=CLERK_POST, scoped=False),
    "bulk_run_detail": Expect(get=READ, scoped=False),
    "bulk_run_progress": Expect(get=READ, scoped=False),
    "bulk_run_exclude": Expect(get=CLERK_POST_ONLY, post=CLERK_POST, scoped=False),
    # GET is the confirm pop-out naming what starting freezes.
    "bulk_run_start": Expect(get=CLERK_FORM, post=CLERK_POST, scoped=False),
    "bulk_run_request_approval": Expect(get=CLERK_POST_ONLY, post=CLERK_POST, scoped=False),
    "bulk_run_cancel": Expect(get=VIEW_POST_ONLY, post=CLERK_POST, scoped=False),
    "bulk_run_resume": Expect(get=VIEW_POST_ONLY, post=CLERK_POST, scoped=False),
    "bulk_run_log": Expect(get=READ, scoped=False),
    # report jobs: every reader asks for their own; a job is its requester's alone
    # (the matrix's job is the superuser's, so the others get 404) and an empty
    # request is refused beside its fields (tests/writeoffs/reports/test_jobs.py).
    "report_jobs": Expect(get=READ, scoped=False),
    "report_job_new": Expect(get=VIEW_POST_ONLY, post=(LOGIN, 400, 400, 400, 400), scoped=False),
    "report_job": Expect(get=(LOGIN, 404, 404, 404, 200), scoped=False),
    "report_job_download": Expect(get=(LOGIN, 404, 404, 404, 200), scoped=False),
    # reports and worklists: every billing role reads them
    "report_aging": Expect(get=READ, scoped=False),
    "report_aging_csv": Expect(get=READ, scoped=False),
    # Without its cell (currency, column) the drill-down is a bad request, past access control.
    "report_aging_invoices": Expect(get=(LOGIN, 400, 400, 400, 400), scoped=False),
    "report_writeoffs": Expect(get=READ, scoped=False),
    "report_writeoffs_csv": Expect(get=READ, scoped=False),
    "worklist_disputes": Expect(get=READ, scoped=False),
    "report_cases": Expect(get=READ, scoped=False),
    # dispute cases: addressed by their own number across accounts (another case's
    # attachment is a 404: tests/writeoffs/cases/test_file_views.py)
    "case_list": Expect(get=READ, scoped=False),
    # opening a case from an account
    "case_open_picker": Expect(get=CLERK_FORM),
    "case_open_entry": Expect(get=CLERK_FORM, post=CLERK_POST),
    "case_open_confirm": Expect(get=CLERK_POST_ONLY, post=CLERK_POST),
    "case_bulk_assign": Expect(get=CLERK_POST_ONLY, post=CLERK_POST, scoped=False),
    "case_detail": Expect(get=READ, scoped=False),
    "case_note_new": Expect(get=CLERK_FORM, post=CLERK_POST, scoped=False),
    "case_assign": Expect(get=CLERK_FORM, post=CLERK_POST, scoped=False),
    "case_status": Expect(get=CLERK_FORM, post=CLERK_POST, scoped=False),
    "case_settle": Expect(get=SUPERVISOR_FORM, post=SUPERVISOR_POST, scoped=False),
    "case_due_date": Expect(get=SUPERVISOR_FORM, post=SUPERVISOR_POST, scoped=False),
    "case_reject": Expect(get=SUPERVISOR_FORM, post=SUPERVISOR_POST, scoped=False),
    "case_attachment_new": Expect(get=CLERK_FORM, post=CLERK_POST, scoped=False),
    "case_attachment_download": Expect(get=READ, scoped=False),
    # API
    "api_create_writeoff_or_dispute_m": Expect(
        get=API_GET_ON_POST, post=API_NO_KEY, scoped=False, api=True
    ),
    "api_get_acct_writeoff_or_disputes_m": Expect(
        get=API_GET_ON_POST, post=API_NO_KEY, scoped=False, api=True
    ),
    "api_settle_dispute_hold_m": Expect(
        get=API_GET_ON_POST, post=API_NO_KEY, scoped=False, api=True
    ),
    "api_get_journal_lines_m": Expect(get=API_GET_ON_POST, post=API_NO_KEY, scoped=False, api=True),
    "api_openapi": Expect(get=(200, 200, 200, 200, 200), scoped=False, api=True),
    # The events feed is a GET with a Bearer key: a session is no key.
    "api_events": Expect(get=API_NO_KEY, post=API_GET_ON_POST, scoped=False, api=True),
    # The sync's PUT calls take a Bearer key and only PUT: GET and POST are 405.
    "api_put_account": Expect(get=API_GET_ON_POST, post=API_GET_ON_POST, scoped=False, api=True),
    "api_put_invoice": Expect(get=API_GET_ON_POST, post=API_GET_ON_POST, scoped=False, api=True),
    "api_put_payment": Expect(get=API_GET_ON_POST, post=API_GET_ON_POST, scoped=False, api=True),
    # Imports from the billing system: clerks and supervisors.
    "import_upload": Expect(get=CLERK_FORM, post=CLERK_POST, scoped=False),
    "import_detail": Expect(get=CLERK_FORM, scoped=False),
    "import_start": Expect(get=CLERK_POST_ONLY, post=CLERK_POST, scoped=False),
    "import_mapping": Expect(get=CLERK_FORM, post=CLERK_POST, scoped=False),
    "import_refused_csv": Expect(get=CLERK_FORM, scoped=False),
    # /api/v1/cases: Bearer keys only, so a session without one is unknown (401).
    "api_cases": Expect(get=API_GET_ON_POST, post=API_NO_KEY, scoped=False, api=True),
    "api_case": Expect(get=API_NO_KEY, post=API_GET_ON_POST, scoped=False, api=True),
    "api_case_notes": Expect(get=API_GET_ON_POST, post=API_NO_KEY, scoped=False, api=True),
    "api_case_settle": Expect(get=API_GET_ON_POST, post=API_NO_KEY, scoped=False, api=True),
    "api_case_attachment_upload": Expect(
        get=API_GET_ON_POST, post=API_NO_KEY, scoped=False, api=True
    ),
    "api_case_attachment_file": Expect(
        get=API_NO_KEY, post=API_GET_ON_POST, scoped=False, api=True
    ),
    "api_unknown_call": Expect(
        get=(404, 404, 404, 404, 404), post=(404, 404, 404, 404, 404), scoped=False, api=True
    ),
}


# --- walking the URL configuration ---------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str | None
    route: str
    params: tuple[str, ...]


def _params(pattern) -> tuple[str, ...]:
    converters = getattr(pattern, "converters", None)
    if converters:
        return tuple(converters)
    return tuple(pattern.regex.groupindex)


def walk(patterns, prefix: str = "", params: tuple[str, ...] = ()) -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin" or entry.app_name == "admin":
                continue
            yield from walk(
                entry.url_patterns, prefix + str(entry.pattern), params + _params(entry.pattern)
            )
        elif isinstance(entry, URLPattern):
            yield Route(entry.name, prefix + str(entry.pattern), params + _params(entry.pattern))


def project_routes() -> list[Route]:
    return list(walk(get_resolver().url_patterns))


def test_every_url_has_an_expectation():
    routes = project_routes()
    unnamed = [route.route for route in routes if route.name is None]
    missing = sorted({r.name for r in routes if r.name} - set(EXPECTED))
    stale = sorted(set(EXPECTED) - {r.name for r in routes})
    assert unnamed == [], "every view needs a URL name to be checked"
    assert missing == [], f"add a row to EXPECTED for {missing}"
    assert stale == [], f"EXPECTED names URLs that no longer exist: {stale}"


# --- the objects the URLs point at ---------------------------------------------


@dataclass
class Ledger:
    """One account's objects, to fill URL parameters with."""

    acct_no: int
    invoice_no: int
    payment_id: int
    writeoff_id: int
    dispute_hold_id: int
    case_number: int = 0
    attachment_id: int = 0
    credit_note_no: str = ""
    run_id: int = 0
    import_id: int = 0
    job_id: int = 0

    def value(self, param: str) -> object:
        values = {
            "acct_no": self.acct_no,
            "invoice_no": self.invoice_no,
            "payment_id": self.payment_id,
            "writeoff_id": self.writeoff_id,
            "writeoff_no": self.writeoff_id,
            "dispute_hold_id": self.dispute_hold_id,
            "dispute_id": self.dispute_hold_id,
            "action": "release",
            "dispute_no": self.dispute_hold_id,
            "hold_id": self.dispute_hold_id,
            "path": "no_such_call",
            "external_id": "ext-1",
            "run_id": self.run_id,
            "import_id": self.import_id,
            "number": self.case_number,
            "attachment_id": self.attachment_id,
            "credit_note_no": self.credit_note_no,
            "job_id": self.job_id,
        }
        if param not in values:
            pytest.fail(f"the matrix does not know how to fill URL parameter {param!r}")
        return values[param]


def _ledger(acct_no: int, invoice_no: int, actor: Actor) -> Ledger:
    invoice = InvoiceFactory(
        account=AccountFactory(acct_no=acct_no), invoice_no=invoice_no, total_minor=100000
    )
    payment = payment_record(invoice_id=invoice.pk, amount="10.00", actor=actor)
    writeoff = writeoff_create(
        invoice_id=invoice.pk, amount="10.00", reason_code=0, comments="Matrix", actor=actor
    )
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="10.00", comments="Matrix", actor=actor
    )
    hold.refresh_from_db()
    attachment = attachment_add(
        case_id=hold.case_id,
        upload=SimpleUploadedFile("matrix.csv", b"invoice,amount\n1,2\n"),
        actor=actor,
    )
    # The write-off is revenue-impacting (the default): its credit note fills a credit
    # note's URL.
    return Ledger(
        acct_no,
        invoice_no,
        payment.pk,
        writeoff.pk,
        hold.pk,
        hold.case.number,
        attachment.pk,
        credit_note_no=str(writeoff.credit_note_no),
    )


def make_users() -> dict:
    return {
        V: UserFactory(username="m-viewer", groups=[VIEWER]),
        C: UserFactory(username="m-clerk", groups=[CLERK]),
        S: UserFactory(username="m-supervisor", groups=[SUPERVISOR]),
        SU: UserFactory(username="m-root", is_superuser=True, is_staff=True),
    }


def make_ledgers(users: dict) -> tuple[Ledger, Ledger]:
    """Account 5101 (the one in the URLs) and account 5202 (the other one)."""
    actor = Actor.for_user(users[S])
    own, other = _ledger(5101, 51001, actor), _ledger(5202, 52002, actor)
    # A clerk's draft bulk run: a clerk's own run, a supervisor's or superuser's to approve.
    clerk = users.get(C) or UserFactory(username="m-clerk", groups=[CLERK])
    own.run_id = other.run_id = bulk_run_create(
        actor=Actor.for_user(clerk),
        max_balance={"USD": "5.00"},
        older_than_days=0,
        reason_code=0,
        comments="Matrix",
    ).pk
    own.import_id = other.import_id = ImportRun.objects.create(
        kind="accounts",
        file=ContentFile(b"external_id,name,currency\nm-1,Matrix,USD\n", name="matrix.csv"),
        original_name="matrix.csv",
        created_by=clerk,
    ).pk
    # A finished report job of the superuser's.
    job = report_job_request(kind="aging", as_of=today(), actor=Actor.for_user(users[SU]))
    own.job_id = other.job_id = report_job_run(job.pk).pk
    return own, other


@pytest.fixture
def users(db):
    return make_users()


@pytest.fixture
def ledgers(users):
    return make_ledgers(users)


def url_for(route: Route, ledger: Ledger, **override: object) -> str:
    kwargs = {param: override.get(param, ledger.value(param)) for param in route.params}
    return reverse(route.name, kwargs=kwargs)


def request_as(client, users, role: str, method: str, url: str):
    client.logout()
    if role != A:
        client.force_login(users[role])
    if method == "GET":
        return client.get(url)
    return client.post(url, {})


def check(response, expected: int, role: str, url: str, api: bool) -> str | None:
    where = f"{response.request['REQUEST_METHOD']} {url} as {role}"
    if expected == PASSED:
        location = response.get("Location", "")
        if response.status_code in (200, 204) or (
            response.status_code == 302 and not location.startswith("/login/")
        ):
            return None
        return f"{where}: {response.status_code} {location}, expected to pass access control"
    if response.status_code != expected:
        return f"{where}: {response.status_code}, expected {expected}"
    if api:
        if "error_code" not in response.json() and expected != 200:
            return f"{where}: API error without an error_code"
        return None
    if expected == LOGIN and not response["Location"].startswith("/login/?next="):
        return f"{where}: redirected to {response['Location']}, not sign-in"
    return None


# --- the matrix -----------------------------------------------------------------


def boundary_roles(statuses: tuple[int, ...]) -> tuple[str, ...]:
    """The two roles either side of a view's line: the most privileged one refused
    (sign-in or 403) and the least privileged one let through. A view that answers
    every role alike is asked as anonymous and as superuser."""
    refused = [role for role, status in zip(ROLES, statuses, strict=True) if status in (LOGIN, 403)]
    allowed = [role for role in ROLES if role not in refused]
    if refused and allowed:
        return (refused[-1], allowed[0])
    return (A, SU)


def sweep(client, users, own: Ledger, roles_for) -> int:
    """Request every URL by each method it takes as the roles ``roles_for(statuses)``
    names, and check each answer against EXPECTED. Returns how many were checked."""
    problems, checked = [], 0
    for route in project_routes():
        expect = EXPECTED[route.name]
        url = url_for(route, own)
        for method, statuses in (("GET", expect.get), ("POST", expect.post)):
            if statuses is None:
                continue
            for role in roles_for(statuses):
                expected = statuses[ROLES.index(role)]
                response = request_as(client, users, role, method, url)
                problems.append(check(response, expected, role, url, expect.api))
                checked += 1
    problems = [p for p in problems if p]
    assert problems == [], "\n".join(problems)
    return checked


@pytest.mark.slow
def test_every_url_answers_every_role_as_expected(client, users, ledgers):
    own, _ = ledgers
    checked = sweep(client, users, own, lambda statuses: ROLES)
    print(f"permissions matrix: {checked} URL x role x method requests checked")


def test_every_url_answers_a_refused_and_an_allowed_role_as_expected(client, users, ledgers):
    """The everyday loop's part of the matrix above: each URL and method, as the role
    just refused and the role just let through (the full sweep is marked slow)."""
    own, _ = ledgers
    checked = sweep(client, users, own, boundary_roles)
    print(f"permissions matrix, boundary roles: {checked} requests checked")


def test_another_accounts_objects_are_404_for_every_role_that_may_see_them(client, users, ledgers):
    """An invoice, payment or entry of account B under account A's URL is a 404,
    even for the superuser, and so is an account that does not exist."""
    own, other = ledgers
    problems, checked = [], 0
    for route in project_routes():
        expect = EXPECTED[route.name]
        if not expect.scoped:
            continue
        method = "GET" if expect.get[ROLES.index(SU)] == 200 else "POST"
        foreign_params = [p for p in route.params if p != "acct_no"]
        urls = [url_for(route, own, acct_no=987654)]
        if foreign_params:
            urls.append(url_for(route, own, **{p: other.value(p) for p in foreign_params}))
        for url in urls:
            for role in (V, C, S, SU):
                statuses = expect.get if method == "GET" else expect.post
                if statuses[ROLES.index(role)] == 403:
                    continue  # refused before the object is looked up, which is fine
                response = request_as(client, users, role, method, url)
                checked += 1
                if response.status_code != 404:
                    problems.append(f"{method} {url} as {role}: {response.status_code}")
    assert problems == [], "\n".join(problems)
    print(f"cross-account: {checked} requests answered 404")


def test_api_keys_are_checked_by_role_and_revocation(client, ledgers):
    """Only a supervisor key settles or reads the journal; a revoked key is unknown."""
    own, _ = ledgers
    keys = {role: api_key_create(f"matrix-{role}", role)[1] for role in ("clerk", "supervisor")}
    revoked = api_key_create("matrix-revoked", "supervisor")[1]
    api_key_revoke("matrix-revoked")

    def settle(key: str):
        return client.post(
            reverse("api_settle_dispute_hold_m"),
            {
                "client_no": "1000",
                "auth_key": key,
                "dispute_no": own.dispute_hold_id,
                "settlement_action": "3",
                "comments": "Matrix",
            },
        )

    assert settle(keys["clerk"]).status_code == 403
    assert settle(revoked).status_code == 401
    assert settle(keys["supervisor"]).status_code == 200

    def journal(key: str):
        return client.post(
            reverse("api_get_journal_lines_m"),
            {
                "client_no": "1000",
                "auth_key": key,
                "start_date": "2000-01-01",
                "end_date": "2999-12-31",
            },
        )

    # Reading the journal needs billing.export_journal: supervisor keys only.
    assert journal(keys["clerk"]).status_code == 403
    assert journal(revoked).status_code == 401
    assert journal(keys["supervisor"]).status_code == 200


def test_anonymous_htmx_requests_get_hx_redirect_to_sign_in_never_a_login_fragment(
    client, users, ledgers
):
    own, _ = ledgers
    checked = 0
    for route in project_routes():
        expect = EXPECTED[route.name]
        url = url_for(route, own)
        for method, statuses in (("GET", expect.get), ("POST", expect.post)):
            if statuses is None or statuses[0] != LOGIN:
                continue
            call = client.get if method == "GET" else client.post
            response = call(
                url, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=f"http://testserver{url}"
            )
            assert response.status_code == 204, (method, url)
            assert response["HX-Redirect"].startswith("/login/?next="), (method, url)
            assert b"Sign in" not in response.content
            checked += 1
    assert checked > 10
    print(f"htmx anonymous: {checked} requests answered HX-Redirect")


def test_forbidden_htmx_requests_get_a_readable_403_fragment(client, users, ledgers):
    own, _ = ledgers
    client.force_login(users[V])
    checked = 0
    for route in project_routes():
        expect = EXPECTED[route.name]
        if expect.api or expect.get[ROLES.index(V)] != 403:
            continue
        response = client.get(url_for(route, own), HTTP_HX_REQUEST="true")
        body = response.content.decode()
        assert response.status_code == 403, route.name
        assert "allow this action. Nothing was changed." in body, route.name
        assert "<html" not in body, route.name
        checked += 1
    assert checked > 5


PUT_ROUTES = ("api_put_account", "api_put_invoice", "api_put_payment")


def test_other_methods_are_refused_with_405_on_every_url(client, users, ledgers):
    own, _ = ledgers
    client.force_login(users[SU])
    problems, checked = [], 0
    for route in project_routes():
        if route.name in ("api_unknown_call", "login"):
            continue  # unknown API calls are 404 for any method; LoginView takes PUT as POST
        url = url_for(route, own)
        # The sync's PUT calls take PUT (with a Bearer key: a session gets 401).
        methods = ("patch", "delete") if route.name in PUT_ROUTES else ("put", "patch", "delete")
        for method in methods:
            response = getattr(client, method)(url)
            checked += 1
            if response.status_code != 405:
                problems.append(f"{method.upper()} {url}: {response.status_code}")
    assert problems == [], "\n".join(problems)
    print(f"other methods: {checked} requests answered 405")


def test_every_form_post_without_a_csrf_token_is_refused(users, ledgers):
    """The pages' POSTs need the CSRF token; only the API, which authenticates by
    key and ignores the session, is exempt."""
    own, _ = ledgers
    client = Client(enforce_csrf_checks=True)
    client.force_login(users[SU])
    checked = 0
    for route in project_routes():
        expect = EXPECTED[route.name]
        if expect.post is None or expect.api:
            continue
        response = client.post(url_for(route, own), {})
        assert response.status_code == 403, route.name
        assert b"CSRF" in response.content, route.name
        checked += 1
    logout = client.post(reverse("logout"))
    assert logout.status_code == 403
    assert checked >= 8


NUL_MESSAGE = "Illegal characters entered: remove the invisible character U+0000"


def nul_sweep(client, users, own: Ledger, roles: tuple[str, ...]) -> int:
    """NUL in a query parameter or form field never reaches a text column (PostgreSQL
    refuses it with a 500): pages answer a readable 400, the API its own JSON error.
    Returns how many requests were checked."""
    problems, checked = [], 0
    nul_query = {"q": "\x00", "page": "1\x00", "sort": "\x00date", "status": "sent\x00"}
    nul_form = {"comments": "a\x00b", "amount": "1\x00", "reason": "\x00", "auth_key": "\x00"}
    for route in project_routes():
        if route.name == "healthz":
            continue  # takes no parameters and reads none
        expect = EXPECTED[route.name]
        url = url_for(route, own)
        for role in roles:
            client.logout()
            if role != A:
                client.force_login(users[role])
            answers = [client.get(url, nul_query)]
            if expect.post is not None:
                answers.append(client.post(url, nul_form))
            for response in answers:
                checked += 1
                where = f"{response.request['REQUEST_METHOD']} {url} as {role}"
                if expect.api:
                    if response.status_code >= 500 or (
                        response.status_code != 200 and "error_code" not in response.json()
                    ):
                        problems.append(f"{where}: {response.status_code}")
                elif response.status_code != 400 or NUL_MESSAGE not in response.content.decode():
                    problems.append(f"{where}: {response.status_code}, expected the NUL 400")
    assert problems == [], "\n".join(problems)
    return checked


@pytest.mark.slow
def test_nul_in_any_parameter_of_any_url_is_a_clean_answer_for_every_role(client, users, ledgers):
    own, _ = ledgers
    checked = nul_sweep(client, users, own, ROLES)
    print(f"NUL inputs: {checked} requests answered cleanly")


def test_nul_in_any_parameter_of_any_url_is_a_clean_answer_signed_out_and_as_superuser(
    client, users, ledgers
):
    """The everyday loop's part of the sweep above: the NUL guard answers before
    access control, so the least and the most privileged role stand for the rest."""
    own, _ = ledgers
    checked = nul_sweep(client, users, own, (A, SU))
    print(f"NUL inputs, two roles: {checked} requests answered cleanly")


def test_nul_in_admin_changelist_filters_and_searches_is_a_400_on_every_model(client, users):
    from django.contrib import admin

    client.force_login(users[SU])
    checked = 0
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        queries = [{"q": "\x00"}, {"o": "\x00"}]
        for list_filter in model_admin.list_filter:
            if isinstance(list_filter, str):
                queries.append({f"{list_filter}__exact": "\x00"})
        for query in queries:
            response = client.get(url, query)
            assert response.status_code == 400, (url, query, response.status_code)
            assert NUL_MESSAGE in response.content.decode(), (url, query)
            checked += 1
    assert checked > 10
    print(f"admin NUL filters: {checked} requests answered 400")
