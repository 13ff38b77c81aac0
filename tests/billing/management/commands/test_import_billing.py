import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import Account, ImportMapping

pytestmark = pytest.mark.django_db

ACCOUNTS = "external_id,name,currency\ncus_1,Acme Corp,USD\ncus_2,Beta,EUR\n"


@pytest.fixture
def accounts_file(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS)
    return path


def run(*args):
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("import_billing", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_prints_a_progress_bar_and_a_summary_and_exits_0(accounts_file):
    out, err = run("--kind", "accounts", accounts_file)
    assert "2 rows: 2 created, 0 updated, 0 unchanged, 0 refused." in out
    assert "100% 2/2" in err
    assert Account.objects.filter(external_id__in=["cus_1", "cus_2"]).count() == 2
    out, _ = run("--kind", "accounts", accounts_file)
    assert "0 created, 0 updated, 2 unchanged" in out


def test_a_dry_run_writes_nothing(accounts_file):
    out, _ = run("--kind", "accounts", accounts_file, "--dry-run")
    assert "2 would be created" in out
    assert not Account.objects.exists()


def test_refused_rows_are_listed_and_the_command_exits_1_with_the_others_imported(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS + "cus_3,Gamma,dollars\n")
    with pytest.raises(CommandError) as refused:
        run("--kind", "accounts", path)
    assert "1 refused" in str(refused.value)
    assert Account.objects.count() == 2


def test_the_refused_rows_problems_are_printed(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS + "cus_3,Gamma,dollars\n")
    from io import StringIO

    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_billing", "--kind", "accounts", str(path), stdout=out)
    assert "Row 4, currency: Give the currency as its three-letter ISO 4217 code" in out.getvalue()


def test_a_file_that_cannot_be_read_exits_1_and_says_why(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError, match="The file is empty"):
        run("--kind", "accounts", path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run("--kind", "accounts", tmp_path / "nope.csv")


def test_a_saved_mapping_reads_the_files_own_layout(tmp_path):
    ImportMapping.objects.create(
        name="crm",
        kind="accounts",
        columns={"external_id": "Id", "name": "Company"},
        fixed={"currency": "GBP"},
    )
    path = tmp_path / "crm.csv"
    path.write_text("Id,Company,Phone\nc1,Acme,555\n")
    out, _ = run("--kind", "accounts", path, "--mapping", "crm")
    assert "1 created" in out
    assert Account.objects.get(external_id="c1").currency == "GBP"


def test_an_unknown_mapping_is_refused(accounts_file):
    with pytest.raises(CommandError, match="No column mapping is saved as 'nope'"):
        run("--kind", "accounts", accounts_file, "--mapping", "nope")


def test_an_unknown_user_is_refused(accounts_file):
    with pytest.raises(CommandError, match="no active user"):
        run("--kind", "accounts", accounts_file, "--as-user", "ghost")
