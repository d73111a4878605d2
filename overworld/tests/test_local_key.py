"""The checkout's local secret key (overworld/local_key.py): made once, atomically, private,
by the entry points; the settings only read it."""

import stat
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.core.exceptions import ImproperlyConfigured

from overworld.local_key import (
    checkout_secret_key,
    ensure_checkout_key,
    is_checkout,
    settings_secret_key,
)


def test_local_key_is_made_on_first_use_and_then_kept(tmp_path):
    first = checkout_secret_key(tmp_path)

    assert (tmp_path / ".secret_key").read_text() == first + "\n"
    assert stat.S_IMODE((tmp_path / ".secret_key").stat().st_mode) == 0o600
    assert checkout_secret_key(tmp_path) == first
    assert sorted(path.name for path in tmp_path.iterdir()) == [".secret_key"]  # no leftovers


def test_local_key_made_by_concurrent_first_runs_is_one_key(tmp_path):
    start = Barrier(8)

    def first_run(_):
        start.wait()
        return checkout_secret_key(tmp_path)

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(first_run, range(8)))

    assert keys == {(tmp_path / ".secret_key").read_text().strip()}
    assert sorted(path.name for path in tmp_path.iterdir()) == [".secret_key"]


def test_local_key_replaces_an_empty_file(tmp_path):
    # What an interrupted `... > .secret_key` of an older serve.sh left behind.
    (tmp_path / ".secret_key").write_text("\n")

    key = checkout_secret_key(tmp_path)

    assert len(key) >= 50
    assert (tmp_path / ".secret_key").read_text().strip() == key


def test_local_key_keeps_an_existing_key(tmp_path):
    (tmp_path / ".secret_key").write_text("a-key-serve-sh-made-before\n")

    assert checkout_secret_key(tmp_path) == "a-key-serve-sh-made-before"


def test_checkout_is_a_directory_with_git(tmp_path):
    assert not is_checkout(tmp_path)
    (tmp_path / ".git").write_text("gitdir: /elsewhere\n")  # a worktree's .git is a file
    assert is_checkout(tmp_path)


def test_local_key_entry_point_makes_it_in_a_checkout_without_a_given_key(tmp_path, monkeypatch):
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    (tmp_path / ".git").mkdir()

    ensure_checkout_key(tmp_path)

    assert settings_secret_key(tmp_path) == (tmp_path / ".secret_key").read_text().strip()


def test_local_key_entry_point_makes_nothing_when_a_key_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "a-given-key")
    (tmp_path / ".git").mkdir()

    ensure_checkout_key(tmp_path)

    assert not (tmp_path / ".secret_key").exists()


def test_local_key_entry_point_makes_nothing_in_a_deployment(tmp_path, monkeypatch):
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)

    ensure_checkout_key(tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_local_key_settings_only_read_it(tmp_path):
    (tmp_path / ".git").mkdir()

    with pytest.raises(ImproperlyConfigured, match="has no local key"):
        settings_secret_key(tmp_path)

    assert sorted(path.name for path in tmp_path.iterdir()) == [".git"]  # nothing written
