"""One deployment configuration (TOML), validated once into frozen objects and passed down.

``load(path)`` / ``parse(text)`` return a ``Config``; anything wrong raises ``ConfigError``
(a ``ValueError``) whose message names the offending key, e.g.
``providers[1].timeout_ms: expected a positive integer, got -5``. Only the CLI and the addons
read files and the environment; everything else receives a ``Config``.

The reference with every key is docs/config.md; edge/demo.toml is a commented example.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from edge._config_tables import content, dcs_table, edge_table
from edge._config_types import (
    SECRET_ENV,
    AdapterConfig,
    BreakerConfig,
    Config,
    DataSource,
    DcsConfig,
    Destination,
    EdgeConfig,
    ProviderConfig,
    Routes,
    Tenant,
)
from edge._tenants import TenantSpec, read_tenants
from edge._toml import ConfigError, Reader

# -- reading -------------------------------------------------------------------------------

__all__ = [
    "SECRET_ENV", "AdapterConfig", "BreakerConfig", "Config", "ConfigError", "DataSource",
    "DcsConfig", "Destination", "EdgeConfig", "ProviderConfig", "Routes", "Tenant", "from_dict",
    "load", "parse",
]


def load(path: str | Path, *, env: Mapping[str, str] | None = None) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{p}: cannot read: {e.strerror}") from None
    return parse(text, env=env, source=str(p), base_dir=p.parent)


def parse(
    text: str, *, env: Mapping[str, str] | None = None, source: str = "<memory>",
    base_dir: Path | None = None,
) -> Config:
    """`base_dir` is where tenant config paths are relative to (default: the working folder)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    return from_dict(doc, env=os.environ if env is None else env, source=source,
                     base_dir=base_dir)


_TOP = frozenset(
    {"secret", "secret_env", "edge", "dcs", "providers", "data_sources", "traits", "segments",
     "destinations", "tenants"}
)
_CONTENT = ("providers", "data_sources", "traits", "segments", "destinations")


def from_dict(
    doc: Mapping[str, Any], *, env: Mapping[str, str], source: str = "<memory>",
    base_dir: Path | None = None,
) -> Config:
    r = Reader(dict(doc), "", _TOP)
    secret = r.secret("secret", env) or (env[SECRET_ENV].encode() if env.get(SECRET_ENV) else None)
    if not secret:
        raise ConfigError(f"secret: required (or secret_env, or ${SECRET_ENV})")
    if len(secret) < 16:
        raise ConfigError("secret: must be at least 16 bytes")
    dcs_doc = r.get("dcs", dict, {})
    edge = edge_table(r.get("edge", dict, {}), env)
    top = Config(secret=secret, edge=edge, dcs=dcs_table(dcs_doc), source=source,
                 **content(r, env))
    specs = read_tenants(r.get("tenants", list, []), base_dir or Path.cwd())
    if not specs:
        return top
    given = [k for k in _CONTENT if doc.get(k)]
    if given:
        raise ConfigError(f"{given[0]}: with [[tenants]], each tenant's file holds its {given[0]}")
    tenants = tuple(_tenant(top, spec, dcs_doc, env) for spec in specs)
    return replace(top, tenants=tenants)


def _tenant(top: Config, spec: TenantSpec, dcs_doc: dict[str, Any],
            env: Mapping[str, str]) -> Tenant:
    try:
        r = Reader(spec.doc, "", frozenset(spec.doc))
        own = replace(top, dcs=dcs_table({**dcs_doc, **spec.doc.get("dcs", {})}), tenant=spec.name,
                      source=str(spec.path), **content(r, env))
    except ConfigError as e:
        raise ConfigError(f"{spec.path}: {e}") from None
    return Tenant(spec.name, spec.hosts, spec.orgid, own)
