"""The README and docs/configuration.md keep up with the code a newcomer runs."""

import os
import re
import subprocess

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


# --- Links, named files and sections stay true ------------------------------------------------

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Files the docs name that live outside this repository (the API document and the contract,
# beside the repository in the shared folder).
OUTSIDE_THE_REPOSITORY = ("shared/",)
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
# A repository path: relative, with a directory part, ending in a file name with an extension
# or in a slash (`core/errors.py`, `users/tests/`); no spaces, wildcards or placeholders.
REPO_PATH = re.compile(r"^(?:\./)?([\w.-]+(?:/[\w.-]+)*(?:/[\w-]*\.\w+|/))(?:::(\w+))?$")


def prose(markdown: str) -> str:
    """The markdown without its fenced code blocks (examples, commands, output)."""
    return FENCE.sub("", markdown)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def headings(path) -> list[str]:
    return [
        line.lstrip("#").strip()
        for line in prose(path.read_text()).splitlines()
        if re.match(r"#{1,6} ", line)
    ]


def ignored_by_git(relative: str) -> bool:
    """Generated files (bench results, screenshots): named in the docs, never committed."""
    for pattern in (ROOT / ".gitignore").read_text().split():
        directory = pattern.strip("/")
        if relative == directory or relative.startswith(directory.rstrip("/") + "/"):
            return True
    return False


def named_paths(document):
    """(path, test name or None) for every repository path in backticks in the prose."""
    for line in prose(document.read_text()).splitlines():
        last_file = None
        for code in INLINE_CODE.findall(line):
            if code.startswith("::") and last_file is not None:
                yield last_file, code[2:]
                continue
            match = REPO_PATH.match(code)
            if match is None or code.startswith(OUTSIDE_THE_REPOSITORY):
                continue
            if re.fullmatch(r"[\w.-]+/", match.group(1)):
                continue  # `user/`, `login/`: the API's routes, not directories
            last_file = match.group(1)
            yield last_file, match.group(2)


def test_docs_links_resolve_to_files_and_headings():
    broken = []
    for document in DOCUMENTS:
        for target, anchor in re.findall(r"\]\(([^)#:\s]*)(?:#([^)\s]*))?\)", document.read_text()):
            path = (document.parent / target) if target else document
            if not path.exists():
                broken.append(f"{document.name}: {target}")
            elif anchor and path.suffix == ".md" and anchor not in map(slug, headings(path)):
                broken.append(f"{document.name}: {target}#{anchor}")

    assert broken == []


def test_docs_name_only_repository_files_that_exist():
    missing = []
    for document in DOCUMENTS:
        for relative, test_name in named_paths(document):
            path = ROOT / relative
            if ignored_by_git(relative):
                continue
            if not path.exists():
                missing.append(f"{document.name}: {relative}")
            elif test_name and not re.search(rf"^def {test_name}\(", path.read_text(), re.M):
                missing.append(f"{document.name}: {relative}::{test_name}")

    assert missing == []


def test_docs_section_references_name_headings_that_exist():
    # `docs/deployment.md, "Read replicas"` and `[deployment.md](deployment.md), "What was
    # tested here"`, in the docs, the requirements files and code comments alike.
    reference = re.compile(r"([\w./-]*?([\w-]+\.md))\)?,? \"([^\"]+)\"")
    code = [*ROOT.glob("*.py"), *ROOT.glob("*/*.py"), *ROOT.glob("*/*/*.py")]
    code = [path for path in code if not path.relative_to(ROOT).parts[0].startswith(".")]
    sources = [*DOCUMENTS, *ROOT.glob("requirements*.txt"), *code, *ROOT.glob("scripts/*.sh")]
    sources.append(ROOT / ".ci" / "run")
    missing = []
    for source in sources:
        for _, name, quoted in reference.findall(source.read_text()):
            section = " ".join(re.sub(r"\n\s*#", " ", quoted).split())  # across comment lines
            target = ROOT / name if name == "README.md" else ROOT / "docs" / name
            if not target.exists():
                continue  # a file outside docs/ (the link tests cover paths)
            # A heading may go on after the words quoted: "Serving" names "Serving (gunicorn...".
            if not any(re.match(rf"{re.escape(section)}\b", h) for h in headings(target)):
                missing.append(f"{source.relative_to(ROOT)}: {name}, {section!r}")

    assert missing == []


def test_docs_every_page_is_linked_from_the_readme_or_another_page():
    linked = set()
    for document in DOCUMENTS:
        for target in re.findall(r"\]\(([^)#:\s]+)", document.read_text()):
            linked.add((document.parent / target).resolve())

    for page in (ROOT / "docs").glob("*.md"):
        assert page.resolve() in linked, f"docs/{page.name} is linked from nowhere"


def test_development_layout_names_every_top_level_directory_and_infrastructure_module():
    development = (ROOT / "docs" / "development.md").read_text()
    layout = development.split("## Layout", 1)[1].split("## ", 1)[0]
    tracked = subprocess_git_ls_files()
    top_level = {path.split("/", 1)[0] for path in tracked if "/" in path}
    modules = {
        path.split("/", 1)[1]
        for path in tracked
        if re.fullmatch(r"(core|overworld)/[a-z_]+\.py", path) and not path.endswith("__init__.py")
    }

    assert [f"{name}/" for name in sorted(top_level) if f"{name}/" not in layout] == []
    assert [name for name in sorted(modules) if name not in layout] == []


def test_development_ci_list_names_every_ci_section():
    development = (ROOT / "docs" / "development.md").read_text()
    ci = development.split("## CI", 1)[1].split("\n## ", 1)[0]
    sections = re.findall(r'^section "([^"(]+)', (ROOT / ".ci" / "run").read_text(), re.M)

    assert sections
    assert [section.strip() for section in sections if section.strip() not in ci] == []


def subprocess_git_ls_files() -> list[str]:
    result = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout.split()
