"""Provider enrichment: the fan-out under a deadline, with cache, single-flight, breaker,
consent and the provider client. ``Enricher`` is the entry point."""

from edge.enrich.fanout import Enricher, Hit, Outcome

__all__ = ["Enricher", "Hit", "Outcome"]
