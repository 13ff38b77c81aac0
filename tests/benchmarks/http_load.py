"""H (HTTP): the real server under load. gunicorn on loopback, driven by wrk.

gunicorn runs from the production config (``billing/deploy/gunicorn.conf.py``)
with what the benchmark changes on its command line: 2 workers, a free loopback
port, keep-alive. The production config's sync worker closes every connection
after its response (nginx keeps the clients' connections alive in front of it),
so keep-alive needs the threaded worker; with one thread a worker still serves
one request at a time, as a sync worker does. ``--http-worker-class sync``
measures the production class instead (wrk then reconnects for every request).

wrk counts the status of every response through a small Lua script: anything
but 200 makes the run invalid. A signed-out htmx request is answered 204 with
``HX-Redirect`` (billing.ops.middleware.HtmxAuthMiddleware), so "2xx" is not enough.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv/bin/gunicorn"

# Per-thread status counts, gathered in done() and printed as one line to parse.
WRK_SCRIPT = """
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    statuses = {}
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
    local counts = {}
    for _, thread in ipairs(threads) do
        for status, n in pairs(thread:get("statuses")) do
            counts[status] = (counts[status] or 0) + n
        end
    end
    local parts = {}
    for status, n in pairs(counts) do
        table.insert(parts, status .. ":" .. n)
    end
    local e = summary.errors
    io.write(string.format(
        "figures requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d "
        .. "connect=%d read=%d write=%d timeout=%d statuses=%s\\n",
        summary.requests, summary.duration, summary.bytes,
        latency:percentile(50), latency:percentile(99),
        e.connect, e.read, e.write, e.timeout, table.concat(parts, ",")))
end
"""


class LoadToolMissing(Exception):
    """wrk is not installed and could not be installed."""


@dataclass
class WrkRun:
    name: str
    requests: int
    seconds: float
    bytes: int
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    socket_errors: dict[str, int]
    summary: str
    workers_booted: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def not_ok(self) -> int:
        """Responses other than 200, plus socket errors (each a request that failed)."""
        return sum(n for status, n in self.statuses.items() if status != 200) + sum(
            self.socket_errors.values()
        )


@dataclass
class Server:
    """gunicorn on a free loopback port, its output in a temporary log."""

    worker_class: str
    port: int = 0
    process: subprocess.Popen | None = None
    log: Path = field(default_factory=lambda: Path(tempfile.mkstemp(suffix="-gunicorn.log")[1]))

    def start(self) -> None:
        for _ in range(5):  # a port picked free may be taken before gunicorn binds it
            self.port = free_port()
            argv = [
                str(GUNICORN),
                "-c",
                "billing/deploy/gunicorn.conf.py",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--worker-class",
                self.worker_class,
                "--keep-alive",
                "5",
            ]
            if self.worker_class == "gthread":
                argv += ["--threads", "1"]
            self.process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=os.environ.copy(),
                stdout=self.log.open("ab"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            if self._healthy():
                return
            self.stop()
        raise SystemExit(f"gunicorn did not come up:\n{self.tail()}")

    def _healthy(self) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                if get(self.port, "/healthz", {}, timeout=5)[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.25)
        return False

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def booted(self) -> int:
        """Workers booted so far: 2 at start, one more per max_requests recycle."""
        return self.log.read_text(errors="replace").count("Booting worker")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.process = None

    def remove_log(self) -> None:
        self.log.unlink(missing_ok=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package if it is missing (as .ci/run
    installs nginx)."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if apt and (not sudo or shutil.which("sudo")):
        print("Installing Debian's wrk (the load tool for H)", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*sudo, apt, "update", "-qq"], env=env, check=False)
        subprocess.run(
            [*sudo, apt, "install", "-y", "-qq", "wrk"],
            env=env,
            stdout=subprocess.DEVNULL,
            check=False,
        )
        found = shutil.which("wrk")
        if found:
            return found
    raise LoadToolMissing(
        "wrk is not installed and could not be installed: apt-get install wrk, "
        "or run without the HTTP part (--no-http)"
    )


def get(port: int, path: str, headers: dict[str, str], timeout: float) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def check_response(server: Server, path: str, headers: dict[str, str]) -> None:
    """One request before the load: it must be a 200, not the sign-in redirect."""
    status, answer, _ = get(server.port, path, headers, timeout=30)
    if status != 200 or "HX-Redirect" in answer:
        raise SystemExit(
            f"H (HTTP): {path} answered {status} {answer.get('HX-Redirect', '')}; "
            "the benchmark's session was not accepted"
        )


def run_wrk(
    wrk: str,
    name: str,
    url: str,
    headers: dict[str, str],
    *,
    seconds: float,
    connections: int = 8,
    threads: int = 2,
) -> WrkRun:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        argv = [
            wrk,
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={max(1, round(seconds))}s",
            "--timeout=10s",
            "--latency",
            f"--script={script.name}",
        ]
        for header, value in headers.items():
            argv += ["--header", f"{header}: {value}"]
        done = subprocess.run(
            [*argv, url], capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    finally:
        os.unlink(script.name)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    match = re.search(r"^figures (.*)$", done.stdout, re.MULTILINE)
    if match is None:
        raise SystemExit(f"wrk printed no figures:\n{done.stdout}\n{done.stderr}")
    figures = dict(item.split("=", 1) for item in match.group(1).split())
    statuses = {
        int(status): int(n)
        for status, n in (pair.split(":") for pair in figures["statuses"].split(",") if pair)
    }
    summary = done.stdout[: match.start()].rstrip()
    return WrkRun(
        name=name,
        requests=int(figures["requests"]),
        seconds=int(figures["duration_us"]) / 1e6,
        bytes=int(figures["bytes"]),
        p50_ms=int(figures["p50_us"]) / 1000,
        p99_ms=int(figures["p99_us"]) / 1000,
        statuses=statuses,
        socket_errors={
            kind: int(figures[kind])
            for kind in ("connect", "read", "write", "timeout")
            if int(figures[kind])
        },
        summary=summary,
    )
