"""Slow clients cannot stall the production setup (run by .ci/run after pytest).

Starts the production pair on loopback, from the repository's own files:
gunicorn with billing/deploy/gunicorn.conf.py (3 sync workers, DEBUG off, a
throwaway SQLite database) and Debian's nginx with billing/deploy/nginx.conf as
its site. Then it opens 50 slow sockets that send one header byte every half
second for 20 seconds (reconnecting when nginx drops them), makes 40 ordinary
requests meanwhile, and fails unless every one of those answered 200 and their
p95 is under a second. It prints the figures. Ports are picked free at start,
every loop has a deadline, and the processes it started are stopped at exit.

    .venv/bin/python tests/slow_clients.py [--slow 50] [--seconds 20] [--requests 40]
    .venv/bin/python tests/slow_clients.py --without-nginx   # the same against bare gunicorn
"""

from __future__ import annotations

import argparse
import getpass
import http.client
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
P95_LIMIT_S = 1.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def site_config(tmp: Path, port: int) -> str:
    """billing/deploy/nginx.conf with loopback addresses and throwaway paths."""
    text = (REPO / "billing/deploy/nginx.conf").read_text()
    replacements = {
        "listen 80 default_server;": f"listen 127.0.0.1:{port};",
        "listen [::]:80 default_server;": "",
        "unix:/run/ar/gunicorn.sock": f"unix:{tmp}/gunicorn.sock",
        "/srv/ar/staticfiles/": f"{tmp}/static/",
    }
    for old, new in replacements.items():
        if old not in text:
            sys.exit(f"billing/deploy/nginx.conf no longer contains {old!r}; update this test.")
        text = text.replace(old, new)
    return text


def main_config(tmp: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf provides, pointed at the temporary directory."""
    return f"""
user {getpass.getuser()};
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log {tmp}/nginx-access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
"""


class Stack:
    def __init__(self, tmp: Path, *, without_nginx: bool = False) -> None:
        self.tmp = tmp
        self.without_nginx = without_nginx
        self.processes: list[subprocess.Popen] = []
        self.port = 0
        self.env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": "",
            "SQLITE_PATH": str(tmp / "db.sqlite3"),
            "GUNICORN_BIND": f"unix:{tmp}/gunicorn.sock",
            "WEB_CONCURRENCY": "3",
        }

    def start(self) -> None:
        python = str(REPO / ".venv/bin/python")
        subprocess.run(
            [python, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=REPO,
            env=self.env,
            check=True,
            timeout=300,
        )
        self._spawn(
            [str(REPO / ".venv/bin/gunicorn"), "-c", "billing/deploy/gunicorn.conf.py"],
            self.tmp / "gunicorn.log",
        )
        if self.without_nginx:
            if not self._wait_healthy(self.processes[0]):
                raise SystemExit("gunicorn did not come up; see the logs above.")
            return
        for _ in range(5):  # a port picked free may be taken before nginx binds it
            self.port = free_port()
            (self.tmp / "site.conf").write_text(site_config(self.tmp, self.port))
            (self.tmp / "nginx.conf").write_text(main_config(self.tmp))
            nginx = self._spawn(
                [
                    NGINX,
                    "-p",
                    str(self.tmp),
                    "-c",
                    str(self.tmp / "nginx.conf"),
                    "-g",
                    "daemon off;",
                ],
                self.tmp / "nginx.log",
            )
            if self._wait_healthy(nginx):
                return
            self._stop(nginx)
        raise SystemExit("nginx and gunicorn did not come up; see the logs above.")

    def _spawn(self, argv: list[str], log: Path) -> subprocess.Popen:
        process = subprocess.Popen(
            argv,
            cwd=REPO,
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def _wait_healthy(self, nginx: subprocess.Popen) -> bool:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if nginx.poll() is not None:
                return False
            try:
                status, _ = request(self.port, "/healthz", timeout=2)
                if status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.25)
        return False

    def _stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if process in self.processes:
            self.processes.remove(process)

    def stop(self) -> None:
        for process in reversed(list(self.processes)):
            self._stop(process)

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
            for log in sorted(self.tmp.glob("*.log"))
        )


def request(port: int, path: str, timeout: float) -> tuple[int, float]:
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1"})
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - start
    finally:
        connection.close()


class SlowClient(threading.Thread):
    """One socket sending a request header one byte every half second, and a new
    one whenever the server drops it, until the deadline."""

    def __init__(self, port: int, deadline: float, stats: dict, lock: threading.Lock) -> None:
        super().__init__(daemon=True)
        self.port, self.deadline, self.stats, self.lock = port, deadline, stats, lock

    def run(self) -> None:
        while time.monotonic() < self.deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    self._count("connections")
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                    while time.monotonic() < self.deadline:
                        sock.sendall(b"a")
                        self._count("bytes")
                        time.sleep(0.5)
            except OSError:
                self._count("dropped by the server")
                time.sleep(0.1)

    def _count(self, what: str) -> None:
        with self.lock:
            self.stats[what] = self.stats.get(what, 0) + 1


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def attack(port: int, slow: int, seconds: float, requests: int) -> bool:
    stats: dict[str, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    clients = [SlowClient(port, deadline, stats, lock) for _ in range(slow)]
    for client in clients:
        client.start()
    time.sleep(1.0)  # every slow socket is open and trickling before the first request

    latencies, failures = [], []
    spacing = (seconds - 2.0) / requests
    for n in range(requests):
        try:
            status, seconds_taken = request(port, "/healthz", timeout=10)
        except OSError as error:
            failures.append(f"request {n + 1}: {error!r}")
            latencies.append(10.0)
        else:
            latencies.append(seconds_taken)
            if status != 200:
                failures.append(f"request {n + 1}: HTTP {status}")
        time.sleep(max(0.0, spacing - latencies[-1]))
    for client in clients:
        client.join(timeout=seconds + 10)

    p95 = percentile(latencies, 0.95)
    print(
        f"slow clients: {slow} sockets, one header byte every 0.5 s for {seconds:.0f} s "
        f"({stats.get('connections', 0)} connections, {stats.get('bytes', 0)} bytes trickled, "
        f"{stats.get('dropped by the server', 0)} dropped by the server)"
    )
    print(
        f"ordinary requests meanwhile: {len(latencies)} GET /healthz, "
        f"{len(latencies) - len(failures)} answered 200; latency min "
        f"{min(latencies) * 1000:.1f} ms, median {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms (limit p95 < "
        f"{P95_LIMIT_S * 1000:.0f} ms)"
    )
    for failure in failures:
        print(f"  {failure}")
    return not failures and p95 < P95_LIMIT_S


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument(
        "--without-nginx",
        action="store_true",
        help="Attack gunicorn directly, to see what nginx prevents (expected to fail).",
    )
    args = parser.parse_args()
    if not os.access(NGINX, os.X_OK):
        print(f"nginx not found at {NGINX}: apt-get install nginx", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="ar-slow-clients-"))
    stack = Stack(tmp, without_nginx=args.without_nginx)
    if args.without_nginx:
        stack.port = free_port()
        stack.env["GUNICORN_BIND"] = f"127.0.0.1:{stack.port}"
    ok = False
    try:
        stack.start()
        front = "nothing" if args.without_nginx else "nginx"
        print(f"{front} on 127.0.0.1:{stack.port} in front of gunicorn (3 sync workers)")
        ok = attack(stack.port, args.slow, args.seconds, args.requests)
    finally:
        stack.stop()
        if not ok:
            print(stack.logs(), file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
    print("slow clients: PASSED" if ok else "slow clients: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
