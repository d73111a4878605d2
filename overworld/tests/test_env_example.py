import re

from django.conf import settings

# Where the project reads its environment: settings, gunicorn's config and the run scripts.
SOURCES = ["overworld/settings.py", "gunicorn.conf.py", "scripts/serve.sh", "scripts/test.sh"]
READS = re.compile(
    r"""(?:os\.environ\.get|env_bool|env_int|env_list)\(\s*"([A-Z][A-Z0-9_]+)"|\$\{([A-Z][A-Z0-9_]+):-"""
)


def test_env_example_lists_every_variable_the_project_reads():
    read = set()
    for source in SOURCES:
        for match in READS.finditer((settings.BASE_DIR / source).read_text()):
            read.add(match.group(1) or match.group(2))
    listed = set(
        re.findall(
            r"^#? ?([A-Z][A-Z0-9_]+)=", (settings.BASE_DIR / ".env.example").read_text(), re.M
        )
    )

    assert "DJANGO_SECRET_KEY" in read and "GUNICORN_BIND" in read  # the pattern finds them
    assert read - listed == set()
