"""The stores' SQL files (agi_app/store/sql_files.py reads each backend's sql/): the named
blocks read as written, every query used and valid on the migrated schema, and the
migrations numbered in order, a database at an older version brought up to date."""

import re
from pathlib import Path

import psycopg
import pytest

from agi_app.store import sql_files
from agi_app.store.postgres import PgStore
from agi_app.store.postgres.migrations import MIGRATIONS
from agi_app.store.postgres.rows import ASSIGNMENTS, COLUMN_LIST, PLACEHOLDERS
from agi_app.store.postgres.sql_files import QUERIES, migrations
from agi_app.store.sql_files import named_blocks
from tests.integration.pg_locks import session
from tests.support.store_samples import REQUEST

PACKAGE = Path(__file__).resolve().parents[2] / "agi_app" / "store" / "postgres"


def test_a_named_block_is_its_lines_without_comments_or_the_last_semicolon() -> None:
    text = (
        "-- a file's header\n\n-- name: one\n-- why it is so\nSELECT 1\n  FROM t;  \n\n"
        "-- name: two\nSELECT 2;\n"
    )
    assert named_blocks(text, "x.sql") == {"one": "SELECT 1\n  FROM t", "two": "SELECT 2"}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("SELECT 1;\n-- name: one\nSELECT 1;", "x.sql:1: SQL before the first"),
        ("-- name: one\nSELECT 1;\n-- name: one\nSELECT 2;", "x.sql:3: query one is named twice"),
        ("-- name: one\n-- only a comment\n-- name: two\nSELECT 2;", "no SQL in one"),
    ],
)
def test_a_malformed_file_is_refused_when_read(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        named_blocks(text, "x.sql")


def test_an_unknown_query_names_the_file() -> None:
    with pytest.raises(KeyError, match=r"no query nope in agi_app/store/postgres/sql/queries\.sql"):
        QUERIES["nope"]


def test_migrations_are_numbered_from_one_without_a_gap(tmp_path: Path) -> None:
    assert len(migrations()) == len(MIGRATIONS) >= 5
    for name in ("0001_first.sql", "0003_third.sql"):
        (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(ValueError, match=r"0003_third\.sql should be 0002_<name>\.sql"):
        sql_files.migrations(tmp_path)


def test_every_named_query_is_used_by_the_store() -> None:
    """No dead SQL: each name is looked up (QUERIES["name"]) by a module of the store."""
    source = "".join(p.read_text() for p in PACKAGE.glob("*.py"))
    assert [n for n in QUERIES.by_name if f'QUERIES["{n}"]' not in source] == []


async def test_every_named_query_is_valid_on_the_migrated_schema(postgres_url: str) -> None:
    """Each query prepared by the server (its tables, columns and parameter types checked)
    without running it: a typo fails here, not in the one path that runs it."""
    generated = {"columns": COLUMN_LIST, "values": PLACEHOLDERS, "assignments": ASSIGNMENTS}
    refused = []
    async with PgStore.open(postgres_url), session(postgres_url) as test:
        for name, query in QUERIES.by_name.items():
            if query.startswith("CREATE"):  # not preparable; run by every migration
                continue
            try:
                await test.execute(f"PREPARE checked AS {numbered(query.format(**generated))}")
                await test.execute("DEALLOCATE checked")
            except psycopg.Error as exc:
                refused.append(f"{name}: {exc}")
    assert refused == []


def numbered(query: str) -> str:
    """psycopg's placeholders (%s) as the server's ($1, $2, ...)."""
    *parts, last = query.split("%s")
    return "".join(f"{part}${n}" for n, part in enumerate(parts, 1)) + last


async def test_a_database_at_an_older_version_is_brought_up_to_date(
    new_postgres_url: str,
) -> None:
    """As a service of an earlier release left it: the first three scripts, version 3."""
    async with session(new_postgres_url) as test:
        for script in MIGRATIONS[:3]:
            await test.execute(script.encode())
        await test.execute(
            QUERIES["create_schema_version"].encode()
            + b"; INSERT INTO schema_version (version) VALUES (3)"
        )
    async with PgStore.open(new_postgres_url) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        assert await store.add(REQUEST) == REQUEST  # requested_by (version 5) is there
