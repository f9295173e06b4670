"""The PostgreSQL store's SQL files (read by agi_app/store/sql_files.py)."""

from importlib.resources import files

from agi_app.store import sql_files

_SQL = files("agi_app.store.postgres").joinpath("sql")
QUERIES = sql_files.Queries(_SQL / "queries.sql", "agi_app/store/postgres/sql/queries.sql")


def migrations() -> tuple[str, ...]:
    return sql_files.migrations(_SQL / "migrations")
