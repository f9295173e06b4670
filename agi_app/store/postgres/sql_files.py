"""The PostgreSQL store's SQL, read from the .sql files shipped in this package: the named
queries of sql/queries.sql and the schema's scripts in sql/migrations/, in their order.

A query is a ``-- name: x`` block: the lines up to the next such line, without its whole-line
comments (they explain the query; psycopg would read a ``%`` in one as a placeholder). Both
files are read when the store's modules are imported, and a missing or malformed one fails
then, not at the first request that needs it.
"""

import re
from importlib.resources import files
from importlib.resources.abc import Traversable

_SQL = files("agi_app.store.postgres").joinpath("sql")
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


def migrations(folder: Traversable = _SQL / "migrations") -> tuple[str, ...]:
    """The scripts of sql/migrations/ (NNNN_name.sql) in order: version N is the N-th, so a
    gap or a stray file is refused (a database's version counts the scripts it ran)."""
    found = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    for number, name in enumerate(found, 1):
        match = _MIGRATION.fullmatch(name)
        if match is None or int(match.group(1)) != number:
            raise ValueError(f"migration {name} should be {number:04d}_<name>.sql")
    return tuple(folder.joinpath(name).read_text(encoding="utf-8") for name in found)


QUERIES = Queries(_SQL / "queries.sql", "agi_app/store/postgres/sql/queries.sql")
