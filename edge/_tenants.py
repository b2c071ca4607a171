"""Reading the ``[[tenants]]`` list of a deployment config and each tenant's own file.

One deployment can serve several customers ("tenants"), told apart by the host name a
request arrives on. Each ``[[tenants]]`` entry gives::

    name   = "acme"                       # letters, digits, '-', '_'; also the /id subdomain
    hosts  = ["acme.dcs.example", "dpm.dcs.example"]   # exact host names, no port
    orgid  = "0123456789ABCDEF01234567@AdobeOrg"       # the d_orgid its clients send
    config = "tenants/acme.toml"          # relative to the main config's folder

The tenant file holds that customer's ``providers``, ``data_sources``, ``traits``,
``segments``, ``destinations`` and a ``[dcs]`` table with a subset of the main ``[dcs]`` keys
(``TENANT_DCS_KEYS``) that override the main values. The secret and the ``[edge]`` table
stay global. ``edge.config`` validates the content with the same rules as the main file.

Errors: ``ConfigError`` naming the key (``tenants[1].hosts``) or the tenant file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge._toml import ConfigError, Reader

ORGID_SUFFIX = "@AdobeOrg"
TENANT_KEYS = frozenset({"providers", "data_sources", "traits", "segments", "destinations",
                         "dcs"})
TENANT_DCS_KEYS = frozenset(
    {"store", "region", "case_sensitive", "allowed_origins", "partner_hosts", "cookie_name",
     "cookie_days", "tcf_purposes", "tcf_vendor", "id_sync_ttl_s"}
)


@dataclass(frozen=True)
class TenantSpec:
    """One ``[[tenants]]`` entry with its file read (content validated by edge.config)."""

    name: str
    hosts: tuple[str, ...]
    orgid: str
    path: Path
    doc: dict[str, Any]


def normal_host(host: str) -> str:
    """A host name as tenants are matched: lower case, no port, no trailing dot."""
    name = host.strip().lower()
    if name.startswith("["):
        name = name[: name.find("]") + 1] if "]" in name else name
    elif name.count(":") == 1:
        name = name.rsplit(":", 1)[0]
    return name.rstrip(".")


def read_tenants(items: list[Any], base: Path) -> tuple[TenantSpec, ...]:
    specs = tuple(_spec(t, f"tenants[{i}]", base) for i, t in enumerate(items))
    names: set[str] = set()
    hosts: dict[str, str] = {}
    for i, spec in enumerate(specs):
        if spec.name in names:
            raise ConfigError(f"tenants[{i}].name: duplicate value {spec.name!r}")
        names.add(spec.name)
        for host in spec.hosts:
            if host in hosts:
                raise ConfigError(f"tenants[{i}].hosts: {host!r} is already {hosts[host]}'s")
            hosts[host] = spec.name
    return specs


def _spec(t: Any, path: str, base: Path) -> TenantSpec:
    r = Reader(t, path, frozenset({"name", "hosts", "orgid", "config"}))
    name: str = r.get("name", str, required=True)
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"{path}.name: letters, digits, '-' and '_' only, got {name!r}")
    hosts = tuple(normal_host(h) for h in r.strings("hosts", ()) or ())
    if not hosts or not all(hosts):
        raise ConfigError(f"{path}.hosts: at least one host name")
    orgid: str = r.get("orgid", str, required=True)
    if not orgid.endswith(ORGID_SUFFIX) or len(orgid) == len(ORGID_SUFFIX):
        raise ConfigError(f"{path}.orgid: expected '<id>{ORGID_SUFFIX}', got {orgid!r}")
    file = base / r.get("config", str, required=True)
    return TenantSpec(name, hosts, orgid, file, _read_file(file, path))


def _read_file(file: Path, path: str) -> dict[str, Any]:
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}.config: cannot read {file}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}.config: {file} is not valid TOML: {e}") from None
    try:
        Reader(doc, "", TENANT_KEYS)
        Reader(doc.get("dcs", {}), "dcs", TENANT_DCS_KEYS)
    except ConfigError as e:
        raise ConfigError(f"{file}: {e}") from None
    return doc
