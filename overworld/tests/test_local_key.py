"""The checkout's local secret key (overworld/local_key.py): made once, atomically, private."""

import stat
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from overworld.local_key import checkout_secret_key, is_checkout


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
