"""Queue callback for Asterisk: keep the caller's place, call them back agent-first."""

__version__ = "0.1.0"
