"""Serving an index: store, lookup, policy and disclosure control, budgets, servicers, server.

Imports the index format (``nodes.index``) and ``mesh``, never ``nodes.build``.
"""
