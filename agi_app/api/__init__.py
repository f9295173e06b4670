"""The request API: POST/GET/DELETE /api/callbacks, its models, input checks, limits and
OpenAPI document.

May import: domain, config, store, serving.
"""
