"""Settings read from the environment fail loudly: a value the helper does not
understand stops start-up with ImproperlyConfigured naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from billing.settings import env_bool, env_int

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("word", ["1", "true", "Yes", " ON "])
def test_env_bool_reads_true_words(monkeypatch, word):
    monkeypatch.setenv("SOME_FLAG", word)
    assert env_bool("SOME_FLAG", False) is True


@pytest.mark.parametrize("word", ["0", "false", "NO", "off"])
def test_env_bool_reads_false_words(monkeypatch, word):
    monkeypatch.setenv("SOME_FLAG", word)
    assert env_bool("SOME_FLAG", True) is False


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_unset_or_blank_is_the_default(monkeypatch, default):
    monkeypatch.delenv("SOME_FLAG", raising=False)
    assert env_bool("SOME_FLAG", default) is default
    monkeypatch.setenv("SOME_FLAG", "  ")
    assert env_bool("SOME_FLAG", default) is default


@pytest.mark.parametrize("typo", ["flase", "ture", "2", "enabled"])
def test_env_bool_typo_is_refused_naming_the_variable(monkeypatch, typo):
    monkeypatch.setenv("SOME_FLAG", typo)
    with pytest.raises(ImproperlyConfigured, match=f"SOME_FLAG is '{typo}'"):
        env_bool("SOME_FLAG", False)


def test_env_int_reads_a_whole_number(monkeypatch):
    monkeypatch.setenv("SOME_DAYS", " 45 ")
    assert env_int("SOME_DAYS", 30) == 45
    monkeypatch.setenv("SOME_DAYS", "-3")
    assert env_int("SOME_DAYS", 30) == -3


def test_env_int_unset_is_the_default(monkeypatch):
    monkeypatch.delenv("SOME_DAYS", raising=False)
    assert env_int("SOME_DAYS", 30) == 30


@pytest.mark.parametrize("raw", ["thirty", "4.5", "1e3", "12 days"])
def test_env_int_non_number_is_refused_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("SOME_DAYS", raw)
    with pytest.raises(ImproperlyConfigured, match=f"SOME_DAYS is '{raw}'; it must be a whole"):
        env_int("SOME_DAYS", 30)


def test_manage_py_refuses_to_start_with_a_mistyped_setting():
    env = {**os.environ, "DEBUG": "flase"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG is 'flase'" in result.stderr
