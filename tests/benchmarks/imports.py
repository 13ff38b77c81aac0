"""The import's benchmark: rows per second and peak memory of ``import_billing``.

    python tests/benchmarks/imports.py [--rows N] [--lines-per-invoice K] [--taxed-every T]

On its own it makes a throwaway SQLite database (migrated, one account per 1,000
invoices), writes an invoices file of N rows (K lines per invoice) and imports it
in a child process (``measured.py import_billing``), which reports the seconds
and its peak resident memory. ``run.py``'s ``measure_import`` step runs the same
on the benchmark's seeded database. Goals (SPEC Part 3): at least 2,000 rows/s on
SQLite for invoices, and under 200 MB for a one-million-row file. It ends by running
``verify_ledger`` on the imported database and fails unless the books check out.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADER = ["external_id", "account_external_id", "bill_date", "due_date", "line_description",
          "line_amount"]  # fmt: skip
INVOICES_PER_ACCOUNT = 1000


def write_invoices_file(
    path: Path,
    *,
    rows: int,
    lines_per_invoice: int,
    account_ids: list[str],
    tag: str,
    taxed_every: int = 0,
) -> None:
    """``rows`` rows, ``lines_per_invoice`` per invoice, spread over ``account_ids``;
    bill dates in the last year (after any lock date the seed sets is not assumed).
    With ``taxed_every`` T, the first line of one invoice in T is taxed at STD20 (the
    tax computed on import): taxed invoices are posted one by one, the rest in bulk."""
    today = datetime.date.today()
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER + (["tax_code"] if taxed_every else []))
        for row in range(rows):
            number = row // lines_per_invoice
            bill = today - datetime.timedelta(days=1 + number % 300)
            taxed = taxed_every > 0 and number % taxed_every == 0 and row % lines_per_invoice == 0
            tax = (["STD20" if taxed else ""]) if taxed_every else []
            writer.writerow(
                [
                    f"{tag}-{number}",
                    account_ids[number // INVOICES_PER_ACCOUNT % len(account_ids)],
                    bill.isoformat(),
                    (bill + datetime.timedelta(days=30)).isoformat(),
                    f"Line {row % lines_per_invoice + 1}",
                    f"{10 + row % 990}.{row % 100:02d}",
                    *tax,
                ]
            )


def run_import_child(path: Path, kind: str = "invoices") -> dict:
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("measured.py")),
            "import_billing",
            kind,
            str(path),
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"import failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--lines-per-invoice", type=int, default=2)
    parser.add_argument(
        "--taxed-every", type=int, default=0, help="tax one invoice in T (default: none)"
    )
    args = parser.parse_args()
    tag = f"import_bench_{os.getpid()}"
    database = Path(f"/tmp/{tag}.sqlite3")
    csv_path = Path(f"/tmp/{tag}.csv")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="billing.settings",
        SQLITE_PATH=str(database),
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="0",
        LOG_LEVEL="ERROR",
    )
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from billing.models import Account, AccountingCode

        call_command("migrate", verbosity=0)
        AccountingCode.objects.get_or_create(
            code="4000", defaults={"name": "Subscription revenue", "kind": "revenue"}
        )
        invoices = -(-args.rows // args.lines_per_invoice)
        accounts = max(1, -(-invoices // INVOICES_PER_ACCOUNT))
        Account.objects.bulk_create(
            Account(acct_no=n + 1, name=f"Account {n + 1}", external_id=f"acct-{n + 1}")
            for n in range(accounts)
        )
        ids = [f"acct-{n + 1}" for n in range(accounts)]
        write_invoices_file(
            csv_path,
            rows=args.rows,
            lines_per_invoice=args.lines_per_invoice,
            account_ids=ids,
            tag=tag,
            taxed_every=args.taxed_every,
        )
        started = time.perf_counter()
        figures = run_import_child(csv_path)
        figures["wall_seconds"] = time.perf_counter() - started
        figures["rows_per_second"] = figures["rows"] / figures["seconds"]
        figures["file_bytes"] = csv_path.stat().st_size
        taxed = f", one in {args.taxed_every} taxed" if args.taxed_every else ""
        print(
            f"{figures['rows']:,} invoice rows ({args.lines_per_invoice} per invoice{taxed}, "
            f"{figures['file_bytes'] / 2**20:.0f} MB): {figures['seconds']:.1f} s, "
            f"{figures['rows_per_second']:,.0f} rows/s (goal >= 2,000); peak memory "
            f"{figures['peak_rss_bytes'] / 2**20:.0f} MB (goal < 200 MB; "
            f"{figures['rss_before_bytes'] / 2**20:.0f} MB before)"
        )
        print(json.dumps(figures))
        # The books after a large import: every invoice's totals and the journal
        # agree (exit status 0), as after any other posting.
        verified = subprocess.run(
            [sys.executable, "manage.py", "verify_ledger"],
            cwd=ROOT,
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            check=False,
        )
        print(
            f"verify_ledger after the import: exit {verified.returncode}; "
            + (verified.stdout.strip().splitlines() or [""])[-1]
        )
        if verified.returncode != 0:
            raise SystemExit(verified.stdout[-3000:] + verified.stderr[-3000:])
    finally:
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm"), csv_path):
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
