"""The integration tier's shared fixtures: a throwaway PostgreSQL server for the session
(tests/support/postgres.py), and a database for each test that asks for one."""

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
