"""Trait-rule and segment-rule languages: parse once, compile, index.

Errors: `RuleError` (a `ValueError`), raised when an engine is built, never per hit.
"""

from edge.rules.errors import RuleError
from edge.rules.history import History, MemoryHistory
from edge.rules.segments import SegmentDef, SegmentEngine
from edge.rules.traits import TraitDef, TraitEngine
from edge.rules.ttl import day_number, expires_at

__all__ = [
    "History",
    "MemoryHistory",
    "RuleError",
    "SegmentDef",
    "SegmentEngine",
    "TraitDef",
    "TraitEngine",
    "day_number",
    "expires_at",
]
