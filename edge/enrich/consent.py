"""The edge's consent decision for one provider, over a TC string parsed by
``edge.contracts.tcf``; pure.

``allowed(provider, gdpr, consent)`` is the decision whether a provider may be asked;
``parse_or_none(text)`` reads a malformed or missing string as no consent;
``fingerprint(gdpr, consent_string)`` is the consent part of a cache key. Nothing here raises.
"""

from __future__ import annotations

import functools
import hashlib

from edge.config import ProviderConfig
from edge.contracts.tcf import ConsentError, TCString, parse

__all__ = ["TCString", "allowed", "fingerprint", "parse_or_none"]


def allowed(provider: ProviderConfig, gdpr: int | None, consent: TCString | None) -> bool:
    """Whether `provider` may be asked: GDPR not applying, or its vendor and purposes consented."""
    if gdpr != 1:
        return True
    if consent is None:
        return False
    if provider.tcf_vendor is not None and provider.tcf_vendor not in consent.vendor_consents:
        return False
    return all(p in consent.purposes_consent for p in provider.tcf_purposes)


@functools.lru_cache(maxsize=4096)  # one digest per consent string seen, not per hit
def fingerprint(gdpr: int | None, consent_string: str | None) -> str:
    """A short digest of the consent inputs, so a consent change never reuses a cached answer."""
    text = f"{gdpr if gdpr is not None else '-'}|{consent_string or ''}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@functools.lru_cache(maxsize=1024)  # TCString is immutable; a visitor's string repeats per hit
def parse_or_none(consent_string: str | None) -> TCString | None:
    """The decoded string, or None when absent or malformed (malformed consent is no consent)."""
    if not consent_string:
        return None
    try:
        return parse(consent_string)
    except ConsentError:
        return None
