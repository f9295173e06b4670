"""The web server (Starlette): the Live view, the agent panel, the supervisor's screen and its
charts, the live streams, the headers every page carries, and the static files.

May import: domain, config, pbx, store, serving, api (mounted here).
"""
