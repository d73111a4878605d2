import pytest

FUZZ_STATS = pytest.StashKey[dict]()


@pytest.fixture
def fuzz_stats(request) -> dict:
    """Counters the fuzz tests add to; printed at the end of the run, passing or not."""
    return request.config.stash.setdefault(
        FUZZ_STATS, {"requests": 0, "server_errors": 0, "statuses": {}}
    )


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # A hook, not print(): `pytest -q` swallows the output of passing tests, and CI logs must
    # show how many requests the fuzz run really sent.
    for line in config.stash.get(FAULT_TABLE, []):
        terminalreporter.write_line(line)
    stats = config.stash.get(FUZZ_STATS, None)
    if stats is None:
        return
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(stats["statuses"].items()))
    terminalreporter.write_line(
        f"fuzz: {stats['requests']} requests, {stats['server_errors']} server errors "
        f"(statuses {statuses})"
    )


FAULT_TABLE = pytest.StashKey[list]()


@pytest.fixture
def fault_table(request) -> list:
    """Lines of the fault-injection table (test_faults.py), printed at the end of the run."""
    return request.config.stash.setdefault(FAULT_TABLE, [])
