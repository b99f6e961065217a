"""Principals: who a request is answered for, and the ``allow`` patterns that match them.

A principal is one of

* a mesh process or operator: its SPIFFE ID (``spiffe://<td>/country/<CC>/<role>/<name>``);
* a portal user: ``oidc:<issuer>#<sub>``, the subject of a bearer token the gateway
  validated against a configured issuer, with the datasets their GA4GH passport's
  ``ControlledAccessGrants`` visas grant;
* nobody: ``anonymous`` (plaintext, no certificate and no token, or an origin that a
  forwarder claimed but could not prove).

Dataset ``allow`` patterns (see :func:`pattern_matches`):

* ``*``: everybody, anonymous included;
* ``spiffe://...``: SPIFFE IDs, ``*`` within one path segment;
* ``oidc:<issuer>#<sub>``: one user of one issuer; ``oidc:<issuer>#*`` every user of it
  (the issuer is compared exactly, the subject with ``*`` wildcards);
* ``ga4gh:ControlledAccessGrants``: any principal holding a visa that grants this dataset.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from mesh.security.identity import SCHEME, SpiffeId, identity_pattern_matches

OIDC_PREFIX = "oidc:"
ANONYMOUS_NAME = "anonymous"
#: The ``allow`` pattern that admits holders of a visa granting the dataset.
VISA_PATTERN = "ga4gh:ControlledAccessGrants"


@dataclass(frozen=True)
class Principal:
    """One identity a request is answered for."""

    name: str
    spiffe: SpiffeId | None = None
    #: Dataset ids granted by passport visas (OIDC users only).
    grants: frozenset[str] = frozenset()

    @property
    def anonymous(self) -> bool:
        """Whether nobody is known (only ``*`` patterns match)."""
        return self.name == ANONYMOUS_NAME

    @classmethod
    def of_spiffe(cls, spiffe_id: SpiffeId | None) -> Principal:
        """The principal of a verified certificate (anonymous without one)."""
        return ANONYMOUS if spiffe_id is None else cls(str(spiffe_id), spiffe_id)

    @classmethod
    def oidc(cls, issuer: str, subject: str, grants: frozenset[str] = frozenset()) -> Principal:
        """A portal user, ``oidc:<issuer>#<sub>``."""
        return cls(oidc_name(issuer, subject), None, grants)

    @classmethod
    def parse(cls, name: str, grants: frozenset[str] = frozenset()) -> Principal | None:
        """A principal named in a verified forwarding token (None: not a principal name)."""
        if name == ANONYMOUS_NAME:
            return ANONYMOUS
        if name.startswith(SCHEME):
            try:
                return cls(name, SpiffeId.parse(name))
            except ValueError:
                return None
        if name.startswith(OIDC_PREFIX) and "#" in name:
            return cls(name, None, grants)
        return None


ANONYMOUS = Principal(ANONYMOUS_NAME)


def oidc_name(issuer: str, subject: str) -> str:
    """``oidc:<issuer>#<sub>``."""
    return f"{OIDC_PREFIX}{issuer}#{subject}"


def pattern_matches(pattern: str, principal: Principal, dataset_id: str = "") -> bool:
    """Whether an ``allow`` pattern admits ``principal`` (for ``dataset_id``'s visas)."""
    if pattern == "*":
        return True
    if principal.anonymous:
        return False
    if pattern == VISA_PATTERN:
        return bool(dataset_id) and dataset_id in principal.grants
    if pattern.startswith(SCHEME):
        return principal.spiffe is not None and identity_pattern_matches(pattern, principal.spiffe)
    if pattern.startswith(OIDC_PREFIX) and principal.name.startswith(OIDC_PREFIX):
        want_issuer, _, want_sub = pattern.partition("#")
        have_issuer, _, have_sub = principal.name.partition("#")
        return want_issuer == have_issuer and fnmatch.fnmatchcase(have_sub, want_sub)
    return False
