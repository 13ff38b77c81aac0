"""Client addresses behind the production proxy (run by .ci/run after tests/slow_clients.py).

The sign-in lockout and the API key throttle count failures per client address.
Behind nginx every request reaches gunicorn from nginx itself (over a unix socket,
so REMOTE_ADDR is empty), and the app learns the client's address only from the
header nginx sets. This starts the production pair as tests/slow_clients.py does
(nginx with billing/deploy/nginx.conf in front of gunicorn with
billing/deploy/gunicorn.conf.py, DEBUG off, 3 workers), configured as
docs/operations.md says for it (CLIENT_ADDRESS_HEADER=X-Real-IP), with a private
Redis on loopback as the shared cache when redis-server is installed (otherwise
one worker and its local-memory cache). Clients connect from different loopback
addresses (127.0.0.x), which nginx sees as $remote_addr, and check that:

1. wrong passwords for one username, each from another address, lock that
   username at the fifth (AXES_FAILURE_LIMIT), which gets the 429 lockout page;
   the right password then gets it too, and no session;
2. wrong passwords from one address, each for another username, lock that address
   at the fifth: the right password of a sixth user from it gets 429, while the
   same user signs in from another address;
3. a client's own X-Real-IP and X-Forwarded-For change nothing: nginx overwrites
   the header the app trusts, so rotating them does not escape the address lock;
4. the API key throttle counts per client: past API_AUTH_FAILURE_LIMIT bad keys
   (each with a made-up X-Real-IP) that address gets 429 (1014), and a valid key
   from another address still answers 200;
5. a signed-in page comes through nginx with Cache-Control: no-store.

Ports are picked free at start, every request has a timeout, the whole run a
deadline, and the processes it started are stopped at exit.

    .venv/bin/python tests/proxy_checks.py
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.slow_clients import NGINX, Stack, free_port  # noqa: E402

DEADLINE_S = 300
PASSWORD = "proxy-check-password-42"
FAILURE_LIMIT = 5  # AXES_FAILURE_LIMIT's default
# The form refuses each wrong password, and the one that reaches the limit gets the lockout page.
LOCKED_AT_THE_LIMIT = [200] * (FAILURE_LIMIT - 1) + [429]
API_FAILURE_LIMIT = 20  # API_AUTH_FAILURE_LIMIT's default
REDIS = shutil.which("redis-server")

SETUP = f"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from billing.api.keys import api_key_create
from billing.models import Account
from billing.roles import VIEWER
viewers = Group.objects.get(name=VIEWER)
for name in ["target", *[f"user{{n}}" for n in range(1, 12)]]:
    get_user_model().objects.create_user(name, password={PASSWORD!r}).groups.add(viewers)
Account.objects.create(acct_no=5001, name="Proxy check", currency="USD")
print(api_key_create("proxy-check", "clerk")[1])
"""


class Client:
    """HTTP through nginx from one loopback address, keeping its cookies."""

    def __init__(self, port: int, source: str) -> None:
        self.port, self.source = port, source
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, http.client.HTTPMessage, str]:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=15, source_address=(self.source, 0)
        )
        all_headers = {"Host": "127.0.0.1", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.headers, text

    def sign_in(self, username: str, password: str, headers: dict | None = None) -> int:
        """The sign-in form's answer: 302 signed in, 200 refused, 429 locked out."""
        self.cookies.pop("sessionid", None)
        status, _, page = self.request("GET", "/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise AssertionError(f"GET /login/ answered {status} without a form")
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token[1]}
        ).encode()
        status, response_headers, _ = self.request(
            "POST",
            "/login/",
            form,
            {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )
        if status == 302 and response_headers.get("Location", "").startswith("/login"):
            raise AssertionError("sign-in redirected back to the form")
        return status

    def api_list(self, key: str, headers: dict | None = None) -> tuple[int, int]:
        body = json.dumps({"client_no": 1000, "auth_key": key, "acct_no": 5001}).encode()
        status, _, text = self.request(
            "POST",
            "/api/get_acct_writeoff_or_disputes_m",
            body,
            {"Content-Type": "application/json", **(headers or {})},
        )
        return status, json.loads(text).get("error_code", -1)


def _runs(values: list) -> str:
    """[200, 200, 429] as "2 x 200, 429"."""
    runs: list[list] = []
    for value in values:
        if runs and runs[-1][0] == value:
            runs[-1][1] += 1
        else:
            runs.append([value, 1])
    return ", ".join(f"{n} x {v!r}" if n > 1 else repr(v) for v, n in runs)


class Checks:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def expect(self, what: str, got: object, want: object) -> None:
        ok = got == want
        shown = _runs(got) if isinstance(got, list) else repr(got)
        wanted = _runs(want) if isinstance(want, list) else repr(want)
        print(f"  {'ok  ' if ok else 'FAIL'} {what}: {shown}" + ("" if ok else f", want {wanted}"))
        if not ok:
            self.failures.append(what)


def lockout_per_username(port: int, checks: Checks) -> None:
    print("1. wrong passwords for one username, each from another address:")
    answers = [
        Client(port, f"127.0.1.{n}").sign_in("target", "wrong") for n in range(1, FAILURE_LIMIT + 1)
    ]
    checks.expect(f"{FAILURE_LIMIT} wrong passwords", answers, LOCKED_AT_THE_LIMIT)
    late = Client(port, "127.0.1.51")
    checks.expect("then the right password", late.sign_in("target", PASSWORD), 429)
    checks.expect("no session after the lockout", "sessionid" in late.cookies, False)


def lockout_per_address(port: int, checks: Checks) -> None:
    print("2. wrong passwords from one address, each for another username:")
    guesser = Client(port, "127.0.2.1")
    answers = [guesser.sign_in(f"user{n}", "wrong") for n in range(1, FAILURE_LIMIT + 1)]
    checks.expect(f"{FAILURE_LIMIT} usernames guessed", answers, LOCKED_AT_THE_LIMIT)
    checks.expect("a sixth user's right password from it", guesser.sign_in("user6", PASSWORD), 429)
    other = Client(port, "127.0.2.2")
    checks.expect("the same user from another address", other.sign_in("user6", PASSWORD), 302)
    status, headers, _ = other.request("GET", "/")
    checks.expect("5. the signed-in home page", status, 200)
    checks.expect("5. its Cache-Control", headers.get("Cache-Control"), "no-store")


def spoofed_headers(port: int, checks: Checks) -> None:
    print("3. a client rotating its own X-Real-IP and X-Forwarded-For:")
    spoofer = Client(port, "127.0.3.1")
    answers = []
    for n in range(7, 7 + FAILURE_LIMIT):
        fake = f"198.51.100.{n}"
        headers = {"X-Real-IP": fake, "X-Forwarded-For": fake}
        answers.append(spoofer.sign_in(f"user{n}", "wrong", headers))
    checks.expect(
        f"{FAILURE_LIMIT} guesses, each claiming another address", answers, LOCKED_AT_THE_LIMIT
    )


def api_throttle(port: int, key: str, checks: Checks) -> None:
    print("4. the API key throttle:")
    guesser = Client(port, "127.0.4.1")
    answers = [
        guesser.api_list("x" * 43, {"X-Real-IP": f"203.0.113.{n}"})
        for n in range(API_FAILURE_LIMIT + 1)
    ]
    checks.expect(
        f"{API_FAILURE_LIMIT + 1} bad keys, each claiming another address",
        answers,
        [(401, 1004)] * API_FAILURE_LIMIT + [(429, 1014)],
    )
    checks.expect("a valid key from that address", guesser.api_list(key), (429, 1014))
    other = Client(port, "127.0.4.2")
    checks.expect("a valid key from another address", other.api_list(key), (200, 0))


def start_redis(stack: Stack) -> str:
    """A private Redis for the workers' shared cache; its URL."""
    port = free_port()
    stack._spawn(
        [REDIS, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stack.tmp / "redis.log",
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.1)
    raise SystemExit("redis-server did not come up; see the logs.")


def on_deadline(signum, frame) -> None:
    raise SystemExit(f"proxy checks: not done within {DEADLINE_S} s")


def main() -> int:
    if not Path(NGINX).exists():
        print(f"nginx not found at {NGINX}: apt-get install nginx", file=sys.stderr)
        return 1
    signal.signal(signal.SIGALRM, on_deadline)
    signal.alarm(DEADLINE_S)
    tmp = Path(tempfile.mkdtemp(prefix="ar-proxy-checks-"))
    stack = Stack(tmp)
    # As docs/operations.md configures the shipped pair: the app trusts the header
    # nginx sets, and nothing else.
    stack.env["CLIENT_ADDRESS_HEADER"] = "X-Real-IP"
    for name in ("AXES_FAILURE_LIMIT", "API_AUTH_FAILURE_LIMIT", "API_AUTH_FAILURE_WINDOW"):
        stack.env.pop(name, None)
    checks = Checks()
    ok = False
    try:
        if REDIS:
            stack.env["CACHE_URL"] = start_redis(stack)
            cache = "a private Redis"
        else:
            stack.env["WEB_CONCURRENCY"] = "1"
            cache = "one worker's local memory (no redis-server installed)"
        # The pages link their static files by the manifest's hashed names (DEBUG off).
        python = str(REPO / ".venv/bin/python")
        stack.env["STATIC_ROOT"] = str(tmp / "static")
        subprocess.run(
            [python, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=REPO,
            env=stack.env,
            check=True,
            timeout=120,
        )
        stack.start()
        setup = subprocess.run(
            [python, "manage.py", "shell", "-c", SETUP],
            cwd=REPO,
            env=stack.env,
            check=True,
            timeout=120,
            capture_output=True,
            text=True,
        )
        key = setup.stdout.strip().splitlines()[-1]
        workers = stack.env["WEB_CONCURRENCY"]
        print(f"nginx on 127.0.0.1:{stack.port} in front of gunicorn ({workers} workers), {cache}")
        lockout_per_username(stack.port, checks)
        lockout_per_address(stack.port, checks)
        spoofed_headers(stack.port, checks)
        api_throttle(stack.port, key, checks)
        ok = not checks.failures
    finally:
        signal.alarm(0)
        stack.stop()
        if not ok:
            print(stack.logs(), file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
    print("proxy checks: PASSED" if ok else f"proxy checks: FAILED ({', '.join(checks.failures)})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
