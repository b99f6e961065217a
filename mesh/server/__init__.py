"""The server side: the gRPC server (guard, tracing, health, reflection), audit, config checks.

Imports tracing and every layer below it; federation and the CLI sit above it.
"""
