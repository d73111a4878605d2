import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from games.models import Game
from games.tests.factories import make_game

pytestmark = pytest.mark.django_db


class TerminalStringIO(StringIO):
    def isatty(self) -> bool:
        return True


def run_import(path, *args, stderr=None) -> tuple[str, str]:
    out, err = StringIO(), stderr if stderr is not None else StringIO()
    call_command("import_games", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write_generated_csv(path, good_rows: int, bad_lines: dict[int, str]) -> dict[str, str]:
    """A CSV of `good_rows` games with raw bad lines put at the given line numbers.

    Returns the games the good rows describe (igdb -> name).
    """
    expected, lines, n = {}, ["igdb,name"], 0
    while len(expected) < good_rows:
        if len(lines) + 1 in bad_lines:
            lines.append(bad_lines[len(lines) + 1])
            continue
        n += 1
        igdb, name = str(100_000 + n), f"Generated Game {n}, Deluxe"
        expected[igdb] = name
        lines.append(f'{igdb},"{name}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return expected


BAD_CSV_LINES = {
    5: ",No igdb",
    9: "123456,",
    17: "   ,   ",
    40: f"{'9' * 65},Too long an igdb",
    41: f"7000001,{'N' * 256}",
    99: "7000002,Nul\x00in the name",
    150: "7000003,unquoted, comma",
    151: '7000004,"unterminated',
    1200: "7000005,Bell\x07",
}


def test_import_games_csv_upserts_good_rows_and_reports_each_bad_one(tmp_path):
    path = tmp_path / "games.csv"
    expected = write_generated_csv(path, 2500, BAD_CSV_LINES)

    out, err = run_import(path, "--batch-size", "1000")

    assert out == "import_games: 2,509 rows: created 2,500, updated 0, unchanged 0, rejected 9\n"
    assert err.splitlines() == [
        "line 5: igdb is blank",
        "line 9: name is blank",
        "line 17: igdb is blank",
        "line 40: igdb is longer than 64 characters",
        "line 41: name is longer than 255 characters",
        "line 99: name contains a NUL byte",
        "line 150: 3 fields where the header has 2",
        "line 151: bad CSV: unexpected end of data",
        "line 1200: name contains control characters or invalid text",
    ]
    assert dict(Game.objects.values_list("igdb", "name")) == expected


def test_import_games_twice_changes_nothing_the_second_time(tmp_path):
    path = tmp_path / "games.csv"
    expected = write_generated_csv(path, 1200, {})
    run_import(path, "--batch-size", "500")

    out, err = run_import(path, "--batch-size", "500")

    assert out == "import_games: 1,200 rows: created 0, updated 0, unchanged 1,200, rejected 0\n"
    assert err == ""
    assert dict(Game.objects.values_list("igdb", "name")) == expected


def test_import_games_updates_names_of_existing_games(tmp_path):
    kept = make_game(igdb="1877", name="Cyberpunk")
    make_game(igdb="26226", name="Celeste")
    path = tmp_path / "games.csv"
    path.write_text("name,igdb,extra\nCyberpunk 2077,1877,x\nCeleste,26226,y\nHades,113112,z\n")

    out, _err = run_import(path)

    assert out == "import_games: 3 rows: created 1, updated 1, unchanged 1, rejected 0\n"
    kept.refresh_from_db()
    assert kept.name == "Cyberpunk 2077"  # same row, same id: lists pointing at it survive
    assert Game.objects.get(igdb="113112").name == "Hades"


def test_import_games_later_duplicate_wins_within_and_across_batches(tmp_path):
    path = tmp_path / "games.csv"
    path.write_text("igdb,name\n1,First\n2,Two\n1,Second\n3,Three\n1,Third\n")

    out, err = run_import(path, "--batch-size", "2")

    # Per row: 1 created, 2 created, 1 renamed, 3 created, 1 renamed.
    assert out == "import_games: 5 rows: created 3, updated 2, unchanged 0, rejected 0\n"
    assert err == ""
    assert Game.objects.get(igdb="1").name == "Third"
    assert Game.objects.count() == 3


def test_import_games_jsonl_with_bad_rows(tmp_path):
    path = tmp_path / "games.jsonl"
    lines = [json.dumps({"igdb": str(n), "name": f"Game {n}"}) for n in range(1, 301)]
    lines[9] = json.dumps({"igdb": 18099, "name": "Pokémon Moon"})  # integer ids are fine
    lines[19] = '{"igdb": "20", "name": '
    lines[29] = json.dumps(["30", "a list"])
    lines[39] = json.dumps({"igdb": True, "name": "a boolean id"})
    lines[49] = json.dumps({"name": "no igdb"})
    lines[59] = json.dumps({"igdb": "60", "name": None})
    lines[69] = json.dumps({"igdb": "70", "name": "nul \x00"})
    lines[79] = '{"igdb": "80", "name": "lone surrogate \\ud800"}'
    lines[89] = json.dumps({"igdb": "90", "name": 3.5})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    out, err = run_import(path, "--batch-size", "100")

    assert out == "import_games: 300 rows: created 292, updated 0, unchanged 0, rejected 8\n"
    assert err.splitlines() == [
        "line 20: bad JSON: Expecting value: line 1 column 24 (char 23)",
        "line 30: expected a JSON object",
        "line 40: igdb must be a string or an integer",
        "line 50: igdb is missing",
        "line 60: name is missing",
        "line 70: name contains a NUL byte",
        "line 80: name contains control characters or invalid text",
        "line 90: name must be a string or an integer",
    ]
    assert Game.objects.get(igdb="18099").name == "Pokémon Moon"


def test_import_games_rejects_unreadable_lines_and_keeps_going(tmp_path):
    path = tmp_path / "games.csv"
    path.write_bytes(
        b"\xef\xbb\xbfigdb,name\n"  # a byte order mark is fine
        b"1,Caf\xe9\n"  # Latin-1, not UTF-8
        b"2," + b"x" * (70 * 1024) + b"\n"
        b"\n"
        b"3,Celeste\r\n"
    )

    out, err = run_import(path)

    assert out == "import_games: 3 rows: created 1, updated 0, unchanged 0, rejected 2\n"
    assert err.splitlines() == [
        "line 2: the line is not valid UTF-8",
        "line 3: the line is longer than 64 KiB",
    ]
    assert list(Game.objects.values_list("igdb", "name")) == [("3", "Celeste")]


def test_import_games_format_option_overrides_the_extension(tmp_path):
    path = tmp_path / "games.txt"
    path.write_text('{"igdb": "1", "name": "One"}\n')

    with pytest.raises(CommandError, match="pass --format csv|jsonl"):
        run_import(path)
    out, _err = run_import(path, "--format", "jsonl")

    assert out == "import_games: 1 rows: created 1, updated 0, unchanged 0, rejected 0\n"


def test_import_games_refuses_a_csv_without_the_header(tmp_path):
    path = tmp_path / "games.csv"
    path.write_text("1877,Cyberpunk 2077\n")

    with pytest.raises(CommandError, match="line 1: the CSV header must name the columns"):
        run_import(path)
    assert Game.objects.count() == 0


def test_import_games_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        run_import(tmp_path / "nope.csv")


def test_import_games_queries_per_batch_not_per_row(tmp_path, django_assert_max_num_queries):
    path = tmp_path / "games.csv"
    write_generated_csv(path, 3000, {})

    # Per batch of 1000: the savepoint pair of its transaction, a lookup and an upsert; on
    # SQLite's 999-parameter cap the lookup takes 2 statements and the upsert 3 (499 rows each).
    per_batch = 7 if connection.vendor == "sqlite" else 4
    with django_assert_max_num_queries(3 * per_batch):
        run_import(path, "--batch-size", "1000")
    assert Game.objects.count() == 3000


def test_import_games_progress_only_on_a_terminal(tmp_path):
    path = tmp_path / "games.csv"
    write_generated_csv(path, 3000, {})

    _out, quiet = run_import(path)
    _out, shown = run_import(path, stderr=TerminalStringIO())
    _out, off = run_import(path, "--no-progress", stderr=TerminalStringIO())

    assert quiet == ""
    assert "\r[" in shown and "100% 3,000 rows" in shown
    assert off == ""
