"""The README and docs/configuration.md keep up with the code a newcomer runs."""

import os
import re

from django.conf import settings

ROOT = settings.BASE_DIR
# The contract's configuration table: the README's compact table names at least these.
CONTRACT_VARIABLES = {
    "DATABASE_URL",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "CORS_ALLOWED_ORIGINS",
    "OVERWORLD_THROTTLE_AUTH",
    "REDIS_URL",
    "DATABASE_REPLICA_URLS",
    "OVERWORLD_REPLICA_MAX_LAG",
    "OVERWORLD_PROFILE_EMAIL",
}


def table_variables(markdown: str) -> set[str]:
    """The `VARIABLE` names in the first column of the markdown tables of `markdown`."""
    names = set()
    for line in markdown.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def test_readme_configuration_table_lists_the_contract_variables():
    readme = (ROOT / "README.md").read_text()

    assert CONTRACT_VARIABLES - table_variables(readme) == set()


def test_configuration_doc_lists_every_variable_of_env_example():
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    documented = table_variables((ROOT / "docs" / "configuration.md").read_text())

    assert listed - documented == set()
    assert CONTRACT_VARIABLES - documented == set()


def test_readme_set_up_commands_exist_and_run():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(?:\w+=\S+ )?(\./scripts/\w+\.sh)", readme, re.M)

    assert {"./scripts/serve.sh", "./scripts/test.sh"} <= set(commands)
    assert "GUNICORN_BIND=127.0.0.1:8001 ./scripts/serve.sh" in readme
    for command in commands:
        assert os.access(ROOT / command, os.X_OK), command


def test_readme_and_docs_links_point_at_files_that_exist():
    for document in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", document.read_text()):
            assert (document.parent / target).exists(), f"{document.name}: {target}"
