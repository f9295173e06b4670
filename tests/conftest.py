"""Fixtures every tier may use: a throwaway PostgreSQL server for the session
(tests/support/postgres.py), started only when a test asks for a database."""

from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer, start


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """The URL of a database for this test alone, its tables empty (the schema may be
    there: the database is shared by the session's tests, one after the other)."""
    return postgres.emptied()


@pytest.fixture
def new_postgres_url(postgres: PostgresServer) -> str:
    """The URL of a database never used: no schema at all."""
    return postgres.new_database()
