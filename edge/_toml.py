"""Typed access to parsed TOML tables, with errors that name the key path.

Errors: ``ConfigError(ValueError)``, whose message starts with the dotted key path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


class Reader:
    """Typed access to one TOML table, with errors naming the key path."""

    def __init__(self, table: Any, path: str, known: frozenset[str]) -> None:
        if not isinstance(table, dict):
            raise ConfigError(f"{path or 'config'}: expected a table")
        unknown = sorted(set(table) - known)
        if unknown:
            where = f"{path}." if path else ""
            raise ConfigError(f"{where}{unknown[0]}: unknown key")
        self.t = table
        self.path = path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str, kind: type, default: Any = None, *, required: bool = False) -> Any:
        if name not in self.t:
            if required:
                raise ConfigError(f"{self.key(name)}: required")
            return default
        value = self.t[name]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise ConfigError(f"{self.key(name)}: expected {kind.__name__}, got {value!r}")
        return value

    def positive(self, name: str, default: int, *, zero: bool = False) -> int:
        v: int = self.get(name, int, default)
        if v < 0 or (v == 0 and not zero):
            want = "a non-negative" if zero else "a positive"
            raise ConfigError(f"{self.key(name)}: expected {want} integer, got {v}")
        return v

    def strings(self, name: str, default: tuple[str, ...] | None) -> tuple[str, ...] | None:
        v = self.get(name, list, None)
        if v is None:
            return default
        if not all(isinstance(x, str) for x in v):
            raise ConfigError(f"{self.key(name)}: expected a list of strings")
        return tuple(v)

    def ints(self, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
        v = self.get(name, list, None)
        if v is None:
            return default
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
            raise ConfigError(f"{self.key(name)}: expected a list of integers")
        return tuple(v)

    def url(self, name: str, default: str | None = None, *, required: bool = False) -> str:
        v: str | None = self.get(name, str, default, required=required)
        if v is None:
            return ""
        parts = urlsplit(v)
        try:
            parts.port  # noqa: B018 - ValueError for a port that is not 0-65535
        except ValueError:
            ok = False
        else:
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        if not ok:
            raise ConfigError(f"{self.key(name)}: expected an http(s) URL, got {v!r}")
        return v

    def address(self, name: str, default: str) -> str:
        v: str = self.get(name, str, default)
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ConfigError(f"{self.key(name)}: expected host:port, got {v!r}")
        return v

    def secret(self, name: str, env: Mapping[str, str]) -> bytes | None:
        """`name` holds the value, or `name_env` names the environment variable holding it."""
        value = self.get(name, str, None)
        env_name = self.get(f"{name}_env", str, None)
        if env_name is not None:
            if env_name not in env:
                raise ConfigError(f"{self.key(name + '_env')}: ${env_name} is not set")
            value = env[env_name]
        return value.encode("utf-8") if value else None
