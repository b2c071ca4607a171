"""Redis URLs of the deployment config: ``redis://host:port/db?prefix=p`` (also ``rediss://``
and ``unix://``), split into what the client connects to and the prefix of every key.
Used by the Redis profile store and the edge's shared answer cache; ``ValueError`` names the
problem."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SCHEMES = ("redis", "rediss", "unix")


def split(url: str, default_prefix: str) -> tuple[str, str]:
    """(the client URL, the key prefix) of `url`."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"a Redis URL starts with redis://, rediss:// or unix://, got {url!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefixes = [value for name, value in query if name == "prefix"]
    rest = [(name, value) for name, value in query if name != "prefix"]
    if len(prefixes) > 1:
        raise ValueError(f"the Redis URL gives prefix more than once: {url!r}")
    prefix = prefixes[0] if prefixes else default_prefix
    return urlunsplit(parts._replace(query=urlencode(rest))), prefix
