"""A real-time audience edge: mitmproxy in front of an Audience Manager-compatible DCS."""

__version__ = "0.1.0"
