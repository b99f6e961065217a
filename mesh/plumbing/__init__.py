"""Call plumbing: RPC helpers and service names, the call context, channels, ports, logs.

Both sides of a gRPC call use it. Imports security, config and the variant model;
tracing and the server sit above it.
"""
