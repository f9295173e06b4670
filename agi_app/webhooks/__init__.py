"""Webhooks: every event of the log POSTed to each subscription in order (delivery), and each
subscription's progress for `agi-callback webhooks` (status).

May import: domain, config, store, serving (its backoff).
"""
