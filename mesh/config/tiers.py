"""Tier names: ``production``, ``staging`` or a name the federation defines.

Configuration reads a tier name here; what a certificate says of its tier (and the rule
that tiers never exchange queries) is :mod:`mesh.security.tiers`.
"""

from __future__ import annotations

import re

from mesh.errors import ConfigError

PRODUCTION = "production"
STAGING = "staging"
_TIER = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def validate_tier(tier: str, where: str = "tier") -> str:
    """``tier`` if it is a tier name (lower-case letters, digits, '-'), else ConfigError."""
    if not _TIER.match(tier):
        raise ConfigError(
            f"{where}: {tier!r} must be a tier name such as production or staging "
            "(lower-case letters, digits and '-', at most 32)"
        )
    return tier
