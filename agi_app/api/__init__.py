"""The request API: POST/GET/DELETE /api/callbacks, its models, input checks, limits and
OpenAPI document; and who calls, for the web's endpoints too (auth).

May import: domain, config, store, serving.
"""
