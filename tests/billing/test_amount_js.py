"""The drawer's amount preview (static/js/remaining-balance.js) reads what the clerk types
exactly as the server does: the same inputs through ``readAmount`` in Node and
``billing.money.parse_amount`` here give the same minor units, or both refuse. So the
preview never shows a figure the server would not record.

The formats come from ``amount_widget_attrs``, the attributes the amount inputs carry.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from billing import money
from billing.errors import BillingError
from billing.money import AmountFormat, amount_widget_attrs, parse_amount, to_minor

SCRIPT = Path(__file__).resolve().parents[2] / "static" / "js" / "remaining-balance.js"
NODE = shutil.which("node") or shutil.which("nodejs")

RUNNER = """
const {readAmount} = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const cases = JSON.parse(input);
  const read = cases.map(([text, format]) => {
    const minor = readAmount(text, format);
    return minor === null ? null : minor.toString();
  });
  process.stdout.write(JSON.stringify(read));
});
"""

SPEC_TEXTS = [
    "1,234.56", "1234.56", "1,50", "2,5", "1.000,00", "1.2.3", "12.345", "1.5", "1.000",
    "1,000", "0", "0.00", "-5", "+5", "1e3", "0x10", "\u0661\u0662", "\uff11", "", "  ",
    ".5", "5.", " 7 ", "999,999,999,999.99", "1,000,000,000,000", "1.234,56", "1 000",
    "12,34,567.89", "0,123", ",500", "1,2345", "\u00a01", "1\u00a0000",
]  # fmt: skip


def corpus(seed: int = 20260101, count: int = 4000) -> list[str]:
    """The SPEC's forms, and random strings of digits, separators and other characters."""
    rng = random.Random(seed)
    alphabet = list("0123456789") * 5 + list(".,'_ -+eEx\t") + ["\u00a0", "\u0661"]
    texts = list(SPEC_TEXTS)
    for _ in range(count):
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))))
    for _ in range(count // 4):  # well-formed grouped amounts, some with a wrong group
        whole = f"{rng.randint(1, 10**12):,}"
        if rng.random() < 0.3:
            cut = rng.randint(0, len(whole))
            whole = whole[:cut] + rng.choice(",.") + whole[cut:]
        texts.append(whole + rng.choice(["", ".", ".5", ".50", ".505", ",50"]))
    return texts


def js_format(attrs: dict[str, str]) -> dict:
    """What ``formatOf`` in the script makes of an input's attributes."""
    grouping = [int(size) for size in attrs["data-amount-grouping"].split(",") if size]
    return {
        "decimal": attrs["data-amount-decimal"],
        "group": attrs["data-amount-group"] if grouping else "",
        "grouping": grouping,
        "places": int(attrs["data-amount-places"]),
        "max": attrs["data-amount-max"],
    }


def python_minor(text: str, currency: str, locale: str) -> str | None:
    try:
        return str(to_minor(parse_amount(text, currency, locale=locale), currency))
    except BillingError:
        return None


@pytest.fixture
def indian_grouping(monkeypatch):
    """A locale that groups 12,34,567.89, to check the grouping rule beyond threes."""
    real = money.amount_format

    def amount_format(locale=None):
        if locale == "xx-in":
            return AmountFormat(decimal=".", group=",", grouping=(3, 2, 0))
        return real(locale)

    monkeypatch.setattr("billing.money.amount_format", amount_format)


def check_the_preview_reads_as_the_server_does(count: int) -> None:
    cases, expected = [], []
    for locale in ("en", "de", "xx-in"):
        for currency in ("USD", "JPY", "KWD"):
            form = js_format(amount_widget_attrs(currency, locale))
            for text in corpus(count=count):
                cases.append([text, form])
                expected.append(python_minor(text, currency, locale))
    result = subprocess.run(
        [NODE, "-e", RUNNER, str(SCRIPT)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    read = json.loads(result.stdout)
    differences = [
        (text, form["decimal"], form["places"], js, py)
        for (text, form), js, py in zip(cases, read, expected, strict=True)
        if js != py
    ]
    assert differences == []
    # The corpus exercises both answers, in every format.
    assert sum(r is not None for r in read) > len(read) // 10
    assert sum(r is None for r in read) > len(read) // 10


needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")


@needs_node
@pytest.mark.usefixtures("indian_grouping")
def test_the_preview_reads_every_input_as_the_server_does():
    check_the_preview_reads_as_the_server_does(count=300)


@pytest.mark.slow
@needs_node
@pytest.mark.usefixtures("indian_grouping")
def test_the_preview_reads_every_input_as_the_server_does_at_length():
    check_the_preview_reads_as_the_server_does(count=4000)
