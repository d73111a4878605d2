"""manage.py import_games FILE: upsert the game catalogue from CSV or JSON lines.

- CSV: a header naming the columns `igdb` and `name` (any order, other columns ignored), then
  one game per line. JSON lines: one object per line, `{"igdb": "1877", "name": "..."}`; `igdb`
  may be a string or an integer. The format comes from the extension (.csv; .jsonl, .ndjson,
  .json) or --format. `-` reads standard input (then --format is required).
- Each valid row is an upsert keyed by `igdb`, applied in file order: a later row for the same
  igdb wins. Rows are written in batches (--batch-size, default 5000), one transaction and
  a few queries each: a lookup of the batch's igdb ids, then INSERT ... ON CONFLICT (igdb) DO
  UPDATE SET name for the rows that are new or renamed. An interrupted import keeps its
  finished batches, and running it again converges.
- The summary counts every data row once: created (its igdb was not in the catalogue yet),
  updated (it renamed a game), unchanged (same name already) or rejected. A repeated igdb
  counts as created the first time and updated/unchanged after, whatever the distance.
- A bad row is reported on stderr with its line number and skipped: missing or blank igdb or
  name, igdb over 64 or name over 255 characters, NUL or other control characters, text that
  is not UTF-8, a line over 64 KiB, bad JSON, a CSV line with a different number of fields
  than the header (an unquoted comma). A CSV record is one line: quoted line breaks are bad
  rows too, since no game name holds one.
- Memory stays flat whatever the file size: the file is streamed a line at a time and only
  one batch is held.
- Progress on stderr, only when stderr is a terminal; --no-progress turns it off there too.
"""

import codecs
import csv
import json
import sys
import time
import unicodedata
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from games.models import Game

MAX_LINE_BYTES = 64 * 1024
IGDB_MAX_LENGTH = Game._meta.get_field("igdb").max_length
NAME_MAX_LENGTH = Game._meta.get_field("name").max_length
FORMATS_BY_SUFFIX = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class BadRow(Exception):
    """A row that is skipped; the message says why."""


def clean_text(value, field: str, max_length: int) -> str:
    if value is None:
        raise BadRow(f"{field} is missing")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadRow(f"{field} must be a string or an integer")
    text = str(value).strip()
    if not text:
        raise BadRow(f"{field} is blank")
    if "\x00" in text:
        raise BadRow(f"{field} contains a NUL byte")
    if any(unicodedata.category(char) in {"Cc", "Cs"} for char in text):
        # Cs: lone surrogates, from "\ud800" in JSON or undecodable bytes; the database
        # cannot store them.
        raise BadRow(f"{field} contains control characters or invalid text")
    if len(text) > max_length:
        raise BadRow(f"{field} is longer than {max_length} characters")
    return text


def clean_row(igdb, name) -> tuple[str, str]:
    return clean_text(igdb, "igdb", IGDB_MAX_LENGTH), clean_text(name, "name", NAME_MAX_LENGTH)


class Progress:
    """A one-line progress display on stderr, redrawn at most a few times a second."""

    def __init__(self, stream, total_bytes: int | None, enabled: bool):
        self.stream = stream
        self.total = total_bytes
        self.enabled = enabled
        self.bytes = 0
        self.rows = 0
        self.next_draw = 0.0

    def advance(self, nbytes: int) -> None:
        self.bytes += nbytes

    def row_done(self) -> None:
        self.rows += 1
        if self.enabled and self.rows % 1000 == 0 and time.monotonic() >= self.next_draw:
            self.draw()

    def draw(self, end: str = "") -> None:
        self.next_draw = time.monotonic() + 0.25
        if self.total:
            share = min(self.bytes / self.total, 1.0)
            filled = int(share * 30)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {share:4.0%}"
        else:
            bar = f"{self.bytes:,} bytes"
        self.stream.write(f"\r{bar} {self.rows:,} rows", ending=end)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.draw(end="\n")


class Command(BaseCommand):
    help = "Upsert games from a CSV (header igdb,name) or JSON-lines file, in batches."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the file to import; - for standard input")
        parser.add_argument(
            "--format", choices=["csv", "jsonl"], help="default: from the file's extension"
        )
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress display, even on a terminal"
        )

    def handle(self, *args, file, format, batch_size, no_progress, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        fmt = format or self.format_from_name(file)
        self.counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        if file == "-":
            stream, total = sys.stdin.buffer, None
        else:
            try:
                stream = Path(file).open("rb")
            except OSError as exc:
                raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
            total = Path(file).stat().st_size if Path(file).is_file() else None
        show = not no_progress and self.stderr.isatty()
        self.progress = Progress(self.stderr, total, enabled=show)
        try:
            rows = self.csv_rows(stream) if fmt == "csv" else self.jsonl_rows(stream)
            self.import_rows(rows, batch_size)
        finally:
            self.progress.close()
            if stream is not sys.stdin.buffer:
                stream.close()
        total_rows = sum(self.counts.values())
        self.stdout.write(
            f"import_games: {total_rows:,} rows: "
            + ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        )

    @staticmethod
    def format_from_name(file: str) -> str:
        fmt = FORMATS_BY_SUFFIX.get(Path(file).suffix.lower())
        if fmt is None:
            raise CommandError(
                f"cannot tell the format of {file!r} from its extension; pass --format csv|jsonl"
            )
        return fmt

    # --- Reading --------------------------------------------------------------------------------

    def lines(self, stream):
        """(line number, text) for each non-blank line; text is None for an unreadable line."""
        number = 0
        while True:
            raw = stream.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            self.progress.advance(len(raw))
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                # Skip the rest of the line without holding it.
                while (more := stream.readline(MAX_LINE_BYTES)) and not more.endswith(b"\n"):
                    self.progress.advance(len(more))
                self.progress.advance(len(more))
                self.reject(number, f"the line is longer than {MAX_LINE_BYTES // 1024} KiB")
                continue
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.reject(number, "the line is not valid UTF-8")
                continue
            if text.strip():
                yield number, text.rstrip("\r\n")

    def csv_rows(self, stream):
        lines = self.lines(stream)
        header_line = next(lines, None)
        if header_line is None:
            return
        number, text = header_line
        header = [column.strip().lower() for column in self.parse_csv_line(text)]
        if "igdb" not in header or "name" not in header:
            raise CommandError(f"line {number}: the CSV header must name the columns igdb and name")
        igdb_at, name_at, width = header.index("igdb"), header.index("name"), len(header)
        for number, text in lines:
            try:
                fields = self.parse_csv_line(text)
                if len(fields) != width:
                    raise BadRow(f"{len(fields)} fields where the header has {width}")
                yield number, clean_row(fields[igdb_at], fields[name_at])
            except BadRow as exc:
                self.reject(number, str(exc))

    @staticmethod
    def parse_csv_line(text: str) -> list[str]:
        try:
            return next(csv.reader((text,), strict=True))
        except csv.Error as exc:
            raise BadRow(f"bad CSV: {exc}") from exc

    def jsonl_rows(self, stream):
        for number, text in self.lines(stream):
            try:
                try:
                    record = json.loads(text)
                except ValueError as exc:
                    raise BadRow(f"bad JSON: {exc}") from exc
                if not isinstance(record, dict):
                    raise BadRow("expected a JSON object")
                yield number, clean_row(record.get("igdb"), record.get("name"))
            except BadRow as exc:
                self.reject(number, str(exc))

    def reject(self, number: int, reason: str) -> None:
        self.counts["rejected"] += 1
        self.progress.row_done()
        if self.progress.enabled:
            self.stderr.write("\r\x1b[2K", ending="")  # clear the progress line
        self.stderr.write(f"line {number}: {reason}")

    # --- Writing --------------------------------------------------------------------------------

    def import_rows(self, rows, batch_size: int) -> None:
        batch = []
        for _number, row in rows:
            batch.append(row)
            self.progress.row_done()
            if len(batch) >= batch_size:
                self.write_batch(batch)
                batch = []
        if batch:
            self.write_batch(batch)

    def write_batch(self, batch: list[tuple[str, str]]) -> None:
        with transaction.atomic():
            current = self.existing_names({igdb for igdb, _name in batch})
            before = dict(current)
            for igdb, name in batch:
                if igdb not in current:
                    self.counts["created"] += 1
                elif current[igdb] == name:
                    self.counts["unchanged"] += 1
                else:
                    self.counts["updated"] += 1
                current[igdb] = name
            changed = [
                Game(igdb=igdb, name=name)
                for igdb, name in current.items()
                if before.get(igdb) != name
            ]
            if changed:
                Game.objects.bulk_create(
                    changed,
                    update_conflicts=True,
                    unique_fields=["igdb"],
                    update_fields=["name"],
                )

    @staticmethod
    def existing_names(igdb_ids: set[str]) -> dict[str, str]:
        ids = list(igdb_ids)
        # SQLite caps the parameters of one statement (Django assumes 999).
        chunk = connection.features.max_query_params or len(ids) or 1
        names = {}
        for start in range(0, len(ids), chunk):
            names.update(
                Game.objects.filter(igdb__in=ids[start : start + chunk]).values_list("igdb", "name")
            )
        return names
