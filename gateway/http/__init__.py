"""The gateway's HTTP API (Beacon v2 and plain JSON) over a :class:`LookupBackend`.

``create_app(backend, settings)`` builds the FastAPI app; ``start_http(backend, config)``
serves it in the running event loop. See :mod:`gateway.http.app`.
"""
