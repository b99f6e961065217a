"""Security: certificates, SPIFFE identities, the PKI, trust bundles, TLS, tiers, origin tokens.

Imports the variant model and the config, never the layers above (plumbing, tracing,
server, federation, CLI).
"""
