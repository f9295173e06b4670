"""A store backend's SQL, read from the .sql files shipped with it: the named queries of
sql/queries.sql and the schema's scripts in sql/migrations/, in their order (each backend,
agi_app/store/sqlite and agi_app/store/postgres, keeps its own files and reads them here).

A query is a ``-- name: x`` block: the lines up to the next such line, without its whole-line
comments (they explain the query; psycopg would read a ``%`` in one as a placeholder). The
files are read when a backend's modules are imported, so a missing or malformed one fails
then, not at the first request that needs it.

A reader of forty lines rather than aiosql: a SQLite transaction here is one plain function
on sqlite3 run in one trip to the store's thread, so a query only needs to be text; aiosql's
async adapters await each statement, and ``{columns}`` filled from the request's fields
(agi_app/store/rows.py) are not something it can say.
"""

import re
from importlib.resources.abc import Traversable

_NAME = re.compile(r"--\s*name:\s*(\w+)\s*$")
_MIGRATION = re.compile(r"(\d{4})_\w+\.sql")


def named_blocks(text: str, source: str) -> dict[str, str]:
    """Each ``-- name:`` block of ``text``, by name (``source`` names the file in errors)."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if match := _NAME.fullmatch(line.strip()):
            name = match.group(1)
            if name in blocks:
                raise ValueError(f"{source}:{number}: query {name} is named twice")
            current = blocks[name] = []
        elif line.strip().startswith("--") or not line.strip():
            continue
        elif current is None:
            raise ValueError(f"{source}:{number}: SQL before the first '-- name:' line")
        else:
            current.append(line.rstrip())
    queries = {name: "\n".join(lines).strip().removesuffix(";") for name, lines in blocks.items()}
    if empty := [name for name, query in queries.items() if not query]:
        raise ValueError(f"{source}: no SQL in {', '.join(empty)}")
    return queries


class Queries:
    """The named queries of one file; an unknown name raises KeyError naming the file."""

    def __init__(self, path: Traversable, source: str) -> None:
        self.source = source
        self.by_name = named_blocks(path.read_text(encoding="utf-8"), source)

    def __getitem__(self, name: str) -> str:
        try:
            return self.by_name[name]
        except KeyError:
            raise KeyError(f"no query {name} in {self.source}") from None


def migrations(folder: Traversable) -> tuple[str, ...]:
    """The scripts of sql/migrations/ (NNNN_name.sql) in order: version N is the N-th, so a
    gap or a stray file is refused (a database's version counts the scripts it ran: SQLite's
    PRAGMA user_version, PostgreSQL's schema_version row)."""
    found = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    for number, name in enumerate(found, 1):
        match = _MIGRATION.fullmatch(name)
        if match is None or int(match.group(1)) != number:
            raise ValueError(f"migration {name} should be {number:04d}_<name>.sql")
    return tuple(folder.joinpath(name).read_text(encoding="utf-8") for name in found)
