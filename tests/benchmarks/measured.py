"""A child process of ``run.py`` that does one thing and reports its own peak memory.

    python tests/benchmarks/measured.py seed_billing ARG...     # the seed, timed
    python tests/benchmarks/measured.py stream URL USERNAME     # one streamed export
    python tests/benchmarks/measured.py import_billing KIND FILE  # one import, timed

It inherits the benchmark's environment (settings module, database, SECRET_KEY),
so it works on the same throwaway database. Its last line of output is JSON: the
seconds the work took (Django's start-up left out), the memory resident before
it, and the process's peak resident memory while it ran: the kernel's high-water
mark (VmHWM), reset after start-up, so the imports' own peak does not hide the
work's. Resident memory counts everything, the database driver's buffers too,
which tracemalloc would not see.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def memory_bytes(name: str) -> int:
    """VmRSS (resident now) or VmHWM (its peak) from /proc/self/status (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1]) * 1024  # kB
    raise SystemExit(f"no {name} in /proc/self/status")


def reset_peak() -> None:
    """Start the high-water mark again from what is resident now (Linux 4.0+)."""
    Path("/proc/self/clear_refs").write_text("5")


def seed(arguments: list[str]) -> dict[str, object]:
    from django.core.management import call_command

    start = time.perf_counter()
    call_command("seed_billing", *arguments)
    return {"seconds": time.perf_counter() - start}


def stream(url: str, username: str) -> dict[str, object]:
    """Read a streamed response through the test client chunk by chunk, keeping none."""
    from django.contrib.auth import get_user_model
    from django.http import StreamingHttpResponse
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    start = time.perf_counter()
    response = client.get(url)
    if response.status_code != 200 or not isinstance(response, StreamingHttpResponse):
        raise SystemExit(f"{url}: HTTP {response.status_code}, not a streamed 200")
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    return {"seconds": time.perf_counter() - start, "bytes": size, "rows": lines - 1}


def import_file(kind: str, path: str) -> dict[str, object]:
    """The import service over a whole file, as the command runs it (the system acting)."""
    from billing.actors import Actor
    from billing.sync.imports.service import import_billing

    start = time.perf_counter()
    result = import_billing(
        kind=kind,
        open_file=lambda: open(path, "rb"),  # noqa: SIM115 (the service closes it)
        size=os.path.getsize(path),
        actor=Actor.for_system(),
    )
    if result.file_error or result.refused:
        raise SystemExit(f"the import refused rows: {result.summary()} {result.problems[:5]}")
    return {"seconds": time.perf_counter() - start, "rows": result.rows}


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.settings")
    django.setup()
    what, *arguments = sys.argv[1:]
    before = memory_bytes("VmRSS")
    reset_peak()
    if what == "seed_billing":
        figures = seed(arguments)
    elif what == "stream":
        figures = stream(*arguments)
    elif what == "import_billing":
        figures = import_file(*arguments)
    else:
        raise SystemExit(f"unknown: {what}")
    figures.update(peak_rss_bytes=memory_bytes("VmHWM"), rss_before_bytes=before)
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
