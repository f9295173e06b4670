"""The settings: one typed model read from a TOML file and CALLBACK_* variables (settings),
which file and how a refusal is told (file), what a reload may change (reload), and the parts
an admin writes: Asterisk servers, webhook subscriptions, web and API credentials.

May import: domain. Imported by every part that is configured.
"""
