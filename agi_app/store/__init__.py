"""Where requests are kept: the port serving uses (port), one shape per backend (sqlite/,
postgres/ with leadership and fencing, memory), the row form they share (rows) and the opening
of the backend the settings name (open).

May import: domain, config. The backends do not import each other.
"""
