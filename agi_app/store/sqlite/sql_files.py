"""The SQLite store's SQL, read from the .sql files shipped in this package: the named queries
of sql/queries.sql and the schema's scripts in sql/migrations/, in their order.

A query is a ``-- name: x`` block: the lines up to the next such line, without its whole-line
comments (they explain the query). Both are read when the store's modules are imported, so a
missing or malformed file fails then, not at the first request that needs it.

A reader of forty lines rather than aiosql: here a transaction is one plain function on
sqlite3, run in one trip to the store's thread (connection.py), so a query only needs to be
text for ``conn.execute``. aiosql's aiosqlite adapter awaits each statement (a trip each,
which is what the one-trip transactions avoid), and ``{columns}`` are filled from the
request's fields (agi_app/store/rows.py), which it has no way to say.
"""

import re
from importlib.resources import files
from importlib.resources.abc import Traversable

_SQL = files("agi_app.store.sqlite").joinpath("sql")
_NAME = re.compile(r"--\s*name:\s*(\w+)")
_MIGRATION = re.compile(r"(\d{4})_\w+\.sql")


def named_blocks(text: str, source: str) -> dict[str, str]:
    """Each ``-- name:`` block of ``text``, by name (``source`` names the file in errors)."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if match := _NAME.fullmatch(line.strip()):
            if match.group(1) in blocks:
                raise ValueError(f"{source}:{number}: query {match.group(1)} is named twice")
            current = blocks[match.group(1)] = []
        elif not line.strip() or line.strip().startswith("--"):
            continue
        elif current is None:
            raise ValueError(f"{source}:{number}: SQL before the first '-- name:' line")
        else:
            current.append(line.rstrip())
    queries = {name: "\n".join(lines).strip().removesuffix(";") for name, lines in blocks.items()}
    if empty := [name for name, query in queries.items() if not query]:
        raise ValueError(f"{source}: no SQL in {', '.join(empty)}")
    return queries


def migrations(folder: Traversable = _SQL / "migrations") -> tuple[str, ...]:
    """The scripts of sql/migrations/ (NNNN_name.sql) in order: version N is the N-th, so a
    gap or a stray file is refused (PRAGMA user_version counts the scripts a file ran)."""
    found = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    for number, name in enumerate(found, 1):
        match = _MIGRATION.fullmatch(name)
        if match is None or int(match.group(1)) != number:
            raise ValueError(f"migration {name} should be {number:04d}_<name>.sql")
    return tuple(folder.joinpath(name).read_text(encoding="utf-8") for name in found)


QUERIES = named_blocks(
    (_SQL / "queries.sql").read_text(encoding="utf-8"), "agi_app/store/sqlite/sql/queries.sql"
)
