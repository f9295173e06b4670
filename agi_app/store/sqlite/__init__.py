"""The SQLite store: one file, WAL, every change one durable transaction with its event."""
