"""Every screen, at the two desktop sizes a finance team uses (issue 25).

One browser, one sign-in per role and size. Each screen is checked for:
- no page-level sideways scroll (``scrollWidth <= innerWidth``);
- no template syntax in its visible text (``{#``, ``{%``, ``{{``, ``#}``);
- no serious or critical axe violation (with axe's ``label-content-name-mismatch``
  rule on as well: a visible label that is not part of the control's name);
- the top bar stays on one line;
- a table that scrolls inside its own container keeps its key columns in view
  (sticky), and what issue 25 found cut off (a Total, Net and Recovered column, the
  row's actions) is in view;
- and the disputes worklist shows at least 12 rows on an 800-pixel-high screen.

The screens come from the URLconf: ``test_the_walk_covers_every_screen_in_the_urlconf``
fails when a page is added without being walked here (or listed as not a screen).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page

from tests.browser.conftest import PASSWORD
from tests.browser.screens_fixture import Walk, build_walk_ledger
from tests.browser.support import htmx_settled
from tests.test_permissions_matrix import EXPECTED, project_routes

pytestmark = pytest.mark.django_db(transaction=True)

VIEWPORTS = [(1280, 800), (1440, 900)]
TEMPLATE_SYNTAX = re.compile(r"\{#|\{%|\{\{|#\}")
EXTRA_AXE_RULES = ("label-content-name-mismatch",)

# URL names that are not screens a person looks at, and why.
NOT_SCREENS = {
    "healthz": "the load balancer's text/plain probe",
    "logout": "POST only",
    "report_aging_csv": "a CSV file",
    "report_writeoffs_csv": "a CSV file",
    "journal_export": "a CSV file",
    "writeoff_csv": "a CSV file",
    "dispute_csv": "a CSV file",
    "bulk_run_log": "a CSV file",
    "payment_confirm": "POST only (the review step of payment_new)",
    "writeoff_confirm": "POST only (the review step of writeoff_entry)",
    "dispute_confirm": "POST only (the review step of dispute_entry)",
    "bulk_run_exclude": "POST only",
    "bulk_run_start": "POST only",
    "bulk_run_cancel": "POST only",
    "bulk_run_resume": "POST only",
    "bulk_run_progress": "the polled progress fragment of bulk_run_detail",
    "bulk_run_request_approval": "POST only",
    "report_allowance_rollforward_csv": "a CSV file",
    "case_bulk_assign": "POST only (the Cases page's bulk assign)",
    "case_open_confirm": "POST only (the review step of case_open_entry)",
    "case_attachment_download": "a file",
    "import_refused_csv": "a CSV file",
    "import_start": "POST only (the Import button of import_detail)",
    "report_job_new": "POST only (the job offer on the aging and trial balance pages)",
    "report_job_download": "a CSV file",
}


@dataclass(frozen=True)
class Screen:
    name: str  # the URL name
    url: Callable[[Walk], str]
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name


def _acct(walk: Walk) -> dict:
    return {"acct_no": walk.account.acct_no}


def _inv(walk: Walk) -> dict:
    return {"acct_no": walk.account.acct_no, "invoice_no": walk.invoice.invoice_no}


def _case(name: str, query: str = "") -> Callable[[Walk], str]:
    return lambda w: reverse(name, kwargs={"number": w.hold.case.number}) + query


def _settle(action: str) -> Callable[[Walk], str]:
    return lambda w: reverse(
        "dispute_settle",
        kwargs={"acct_no": w.account.acct_no, "dispute_id": w.hold.pk, "action": action},
    )


SCREENS: dict[str, list[Screen]] = {
    "supervisor": [
        Screen("home", lambda w: reverse("home")),
        Screen("account_list", lambda w: reverse("account_list")),
        Screen("account_overview", lambda w: reverse("account_overview", kwargs=_acct(w))),
        Screen("invoice_list", lambda w: reverse("invoice_list", kwargs=_acct(w))),
        Screen("invoice_detail", lambda w: reverse("invoice_detail", kwargs=_inv(w))),
        Screen("payment_list", lambda w: reverse("payment_list", kwargs=_acct(w))),
        Screen("payment_new", lambda w: reverse("payment_new", kwargs=_inv(w))),
        Screen(
            "payment_remove",
            lambda w: reverse(
                "payment_remove",
                kwargs={"acct_no": w.account.acct_no, "payment_id": w.payment.pk},
            ),
        ),
        Screen("writeoff_page", lambda w: reverse("writeoff_page", kwargs=_acct(w))),
        Screen(
            "writeoff_page",
            lambda w: reverse("writeoff_page", kwargs=_acct(w)) + "?tab=disputes",
            "writeoff_page, Disputes subtab",
        ),
        Screen("writeoff_picker", lambda w: reverse("writeoff_picker", kwargs=_acct(w))),
        Screen(
            "writeoff_entry",
            lambda w: reverse(
                "writeoff_entry",
                kwargs={"acct_no": w.account.acct_no, "invoice_no": w.invoice.invoice_no + 15},
            ),
        ),
        Screen("dispute_picker", lambda w: reverse("dispute_picker", kwargs=_acct(w))),
        Screen(
            "dispute_entry",
            lambda w: reverse(
                "dispute_entry",
                kwargs={"acct_no": w.account.acct_no, "invoice_no": w.invoice.invoice_no + 15},
            ),
        ),
        Screen("dispute_settle", _settle("convert"), "dispute_settle convert"),
        Screen("dispute_settle", _settle("release"), "dispute_settle release"),
        Screen("dispute_settle", _settle("release_reage"), "dispute_settle release_reage"),
        Screen(
            "writeoff_reverse",
            lambda w: reverse(
                "writeoff_reverse",
                kwargs={"acct_no": w.account.acct_no, "writeoff_id": w.active.pk},
            ),
        ),
        Screen("recovery_new", lambda w: reverse("recovery_new", kwargs=_inv(w))),
        Screen("invoice_void", lambda w: reverse("invoice_void", kwargs=_inv(w))),
        Screen("my_requests", lambda w: reverse("my_requests")),
        Screen("approval_queue", lambda w: reverse("approval_queue")),
        Screen(
            "approval_approve",
            lambda w: reverse("approval_approve", kwargs={"writeoff_id": w.pending.pk}),
        ),
        Screen(
            "approval_reject",
            lambda w: reverse("approval_reject", kwargs={"writeoff_id": w.pending.pk}),
        ),
        Screen("bulk_run_list", lambda w: reverse("bulk_run_list")),
        Screen("bulk_run_new", lambda w: reverse("bulk_run_new")),
        Screen(
            "bulk_run_detail", lambda w: reverse("bulk_run_detail", kwargs={"run_id": w.run.pk})
        ),
        Screen("report_aging", lambda w: reverse("report_aging")),
        Screen(
            "report_aging_invoices",
            lambda w: (
                reverse("report_aging_invoices")
                + f"?currency=EUR&column=current&acct_no={w.account.acct_no}"
            ),
        ),
        Screen("report_writeoffs", lambda w: reverse("report_writeoffs")),
        Screen("worklist_disputes", lambda w: reverse("worklist_disputes")),
        Screen("case_list", lambda w: reverse("case_list")),
        Screen("report_cases", lambda w: reverse("report_cases")),
        Screen("case_detail", _case("case_detail")),
        Screen("case_detail", _case("case_detail", "?tab=timeline"), "case_detail timeline"),
        Screen("case_note_new", _case("case_note_new")),
        Screen("case_assign", _case("case_assign")),
        Screen("case_status", _case("case_status")),
        Screen("case_settle", _case("case_settle")),
        Screen("case_due_date", _case("case_due_date")),
        Screen("case_reject", _case("case_reject")),
        Screen("case_attachment_new", _case("case_attachment_new")),
        Screen("case_open_picker", lambda w: reverse("case_open_picker", kwargs=_acct(w))),
        Screen(
            "case_open_entry",
            lambda w: (
                reverse("case_open_entry", kwargs=_acct(w))
                + f"?invoice={w.invoice.invoice_no + 15}&invoice={w.invoice.invoice_no + 14}"
            ),
        ),
        Screen("report_jobs", lambda w: reverse("report_jobs")),
        Screen("report_job", lambda w: reverse("report_job", kwargs={"job_id": w.job.pk})),
        Screen(
            "credit_note_detail",
            lambda w: reverse(
                "credit_note_detail",
                kwargs={"acct_no": w.account.acct_no, "credit_note_no": w.active.credit_note_no},
            ),
        ),
        Screen("trial_balance", lambda w: reverse("trial_balance")),
        Screen("journal_export_page", lambda w: reverse("journal_export_page")),
    ],
    "clerk": [
        Screen("import_upload", lambda w: reverse("import_upload")),
        Screen("import_detail", lambda w: reverse("import_detail", args=[w.import_run.pk])),
        Screen("import_mapping", lambda w: reverse("import_mapping", args=[w.import_run.pk])),
        Screen(
            "writeoff_withdraw",
            lambda w: reverse(
                "writeoff_withdraw",
                kwargs={"acct_no": w.account.acct_no, "writeoff_id": w.pending.pk},
            ),
        ),
    ],
    "controller": [
        Screen("lock_date", lambda w: reverse("lock_date")),
        Screen("report_allowance", lambda w: reverse("report_allowance")),
        Screen("report_allowance_confirm", lambda w: reverse("report_allowance_confirm")),
        Screen("report_allowance_rollforward", lambda w: reverse("report_allowance_rollforward")),
    ],
}

# What a clerk must see on a screen without scrolling sideways (issue 25 found each
# one cut off at 1280 pixels): a column header or the first control of that name.
MUST_SEE = {
    "writeoff_page": ["Actions", "Reverse"],
    "writeoff_page, Disputes subtab": ["Settle"],
    "approval_queue": ["Approve", "Reject"],
    "report_aging": ["Total"],
    "report_writeoffs": ["Net", "Recovered"],
    "worklist_disputes": ["Release & re-age"],
}

# What the page measures: its sideways overflow, its visible text, each table that
# scrolls inside its own container (whether a column sticks, whether the sticky
# columns are in view) and where each must-see label is.
MEASURE = """(mustSee) => {
  const inView = (el) => {
    const r = el.getBoundingClientRect();
    const box = el.closest(".table-responsive")?.getBoundingClientRect();
    return r.left >= -1 && r.right <= window.innerWidth + 1
      && (!box || (r.left >= box.left - 1 && r.right <= box.right + 1));
  };
  const tables = [...document.querySelectorAll(".table-responsive")]
    .filter(box => box.offsetParent !== null && !box.closest(".visually-hidden")
      && box.scrollWidth > box.clientWidth + 1)
    .map(box => {
      const sticky = [...box.querySelectorAll("thead th")].filter(
        cell => getComputedStyle(cell).position === "sticky");
      return {
        where: box.closest("[id], section, figure")?.id || box.className,
        sticky: sticky.length > 0 && sticky.every(inView),
      };
    });
  const hidden = mustSee.filter(label => {
    const el = [...document.querySelectorAll("main th, main a, main button")].find(e => {
      const text = e.textContent.replace(/\\s+/g, " ").trim();
      return text === label || text.startsWith(label + " ");
    });
    return !el || !inView(el);
  });
  return {
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    topBar: document.querySelector("header nav").getBoundingClientRect().height,
    text: document.body.innerText,
    tables,
    hidden,
  };
}"""

# Drawers and pop-outs opened in place, as a person opens them (each also has its own
# page above): the screen, the link that opens it, and which of the two it opens.
IN_PLACE = [
    (Screen("writeoff_page", lambda w: reverse("writeoff_page", kwargs=_acct(w))),
     "Create a Write-off", "#drawer"),
    (Screen("writeoff_page",
            lambda w: reverse("writeoff_page", kwargs=_acct(w)) + "?tab=disputes",
            "writeoff_page, Disputes subtab"),
     "Create a Dispute Hold", "#drawer"),
    (Screen("invoice_detail", lambda w: reverse("invoice_detail", kwargs=_inv(w))),
     "Record Payment", "#drawer"),
    (Screen("approval_queue", lambda w: reverse("approval_queue")), "Approve", "#popout"),
]  # fmt: skip

ROWS_IN_VIEW = """() => [...document.querySelectorAll("#dispute-worklist tbody tr")]
  .filter(row => row.getBoundingClientRect().bottom <= window.innerHeight).length"""


@pytest.fixture
def walk(clerk, supervisor, controller) -> Walk:
    return build_walk_ledger(clerk, supervisor)


def check_screen(page: Page, axe, screen: Screen, size: str) -> list[str]:
    m = page.evaluate(MEASURE, MUST_SEE.get(screen.title, []))
    problems = []
    if m["overflow"] > 0:
        problems.append(f"scrolls sideways by {m['overflow']} px")
    if m["topBar"] > 64:
        problems.append(f"the top bar wraps ({m['topBar']} px high)")
    if m["hidden"]:
        problems.append(f"{m['hidden']} out of view")
    leaks = TEMPLATE_SYNTAX.findall(m["text"])
    if leaks:
        problems.append(f"shows template syntax {sorted(set(leaks))}")
    for table in m["tables"]:
        if not table["sticky"]:
            problems.append(f"table {table['where']} scrolls without its key columns in view")
    violations = axe(page, f"{screen.title} {size}", enable=EXTRA_AXE_RULES)
    problems += [f"axe {v['id']}: {v['help']} at {v['targets'][:3]}" for v in violations]
    if screen.name == "worklist_disputes" and size == "1280x800":
        rows = page.evaluate(ROWS_IN_VIEW)
        if rows < 12:
            problems.append(f"{rows} worklist rows in view (at least 12 wanted)")
    return problems


def test_the_walk_covers_every_screen_in_the_urlconf():
    walked = {screen.name for screens in SCREENS.values() for screen in screens} | {"login"}
    names = {r.name for r in project_routes() if r.name and not EXPECTED[r.name].api}
    assert sorted(names - walked - set(NOT_SCREENS)) == []
    assert sorted((walked | set(NOT_SCREENS)) - names) == []


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v[0]}x{v[1]}")
def test_every_screen_fits_shows_no_template_syntax_and_passes_axe(
    browser: Browser, live_server, walk, axe, viewport
):
    width, height = viewport
    size = f"{width}x{height}"
    problems: dict[str, list[str]] = {}
    visited = 0

    # The sign-in page, before anyone signs in.
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    problems["login"] = check_screen(page, axe, Screen("login", lambda w: "/login/"), size)
    context.close()

    for role, screens in SCREENS.items():
        context = browser.new_context(
            viewport={"width": width, "height": height}, bypass_csp=True, locale="en-US"
        )
        page = context.new_page()
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(role)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign out").wait_for()
        for screen in screens:
            response = page.goto(live_server.url + screen.url(walk))
            assert response is not None and response.status == 200, (screen.title, role)
            page.wait_for_load_state("networkidle")
            problems[f"{screen.title} ({role})"] = check_screen(page, axe, screen, size)
            visited += 1
        if role == "supervisor":
            for screen, opener, target in IN_PLACE:
                page.goto(live_server.url + screen.url(walk))
                page.get_by_role("link", name=re.compile(f"^{opener}")).first.click()
                page.locator(f"{target}.show").wait_for()
                htmx_settled(page)
                name = f"{screen.title} with {opener} open"
                opened = Screen(screen.name, screen.url, name)
                problems[f"{name} ({role})"] = check_screen(page, axe, opened, size)
        context.close()

    assert visited == sum(len(screens) for screens in SCREENS.values())
    failing = [f"{name}: {problem}" for name, found in problems.items() for problem in found]
    assert not failing, "\n".join(failing)
