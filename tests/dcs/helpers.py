"""Shared builders for the DCS tests: a deployment config, an app, TCF strings, envelopes."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from edge.config import Config, from_dict
from edge.contracts.envelope import Envelope, ProviderResult, SegmentResult, sign
from edge.contracts.tcf import TCString, encode
from edge.dcs.app import create_app
from edge.profiles import ProfileStore, open_store

SECRET = "a-test-secret-of-32-bytes-length"
NOW = 1_700_000_000.0
UUID = "12345678901234567890123456789012345678"
OTHER = "98765432109876543210987654321098765432"

BASE: dict[str, Any] = {
    "secret": SECRET,
    "dcs": {
        "store": "sqlite://:memory:",
        "region": 7,
        "allowed_origins": ["https://shop.example"],
        "partner_hosts": ["adobe.com", "partner.example", ".sync.example"],
    },
    "providers": [
        {"name": "acme", "dpid": 1001, "url": "http://127.0.0.1:9/seg",
         "sync_url": "https://sync.acme.example/px?uid=%DID%&gdpr=${GDPR}"},
    ],
    "data_sources": [
        {"dpid": 1, "name": "one", "ic": "ic1"},
        {"dpid": 2, "name": "two", "ic": "ic2"},
        {"dpid": 1001, "name": "acme data", "ic": "acme"},
    ],
    "traits": [
        {"sid": 420020, "rule": 'videoTypeID == "2"', "dpid": 1},
        {"sid": 101, "rule": 'key1 == "val1"', "dpid": 1},
        {"sid": 102, "rule": 'key2 == "val2"', "dpid": 2},
        {"sid": 201, "rule": 'c_likes == "famous popstar"', "dpid": 1, "folder": 9},
        {"sid": 202, "rule": "p_age < 25", "dpid": 1},
        {"sid": 203, "rule": 'age == "41 to 55"', "dpid": 1},
        {"sid": 1234, "rule": 'c_never == "x"', "dpid": 1},
        {"sid": 5678, "rule": 'c_never == "y"', "dpid": 2},
        {"sid": 301, "kind": "onboarded", "rule": 'ic == "sports"', "dpid": 1001},
        {"sid": 401, "kind": "folder", "folder": 9},
        {"sid": 501, "rule": 'c_short == "1"', "dpid": 1, "ttl_days": 1},
    ],
    "segments": [
        {"sid": 984263, "rule": "420020T"},
        {"sid": 900, "rule": "201T"},
        {"sid": 901, "rule": "301T"},
        {"sid": 902, "rule": "501T"},
    ],
    "destinations": [
        {"id": 50, "kind": "url", "mappings": {"900": "pop star", "984263": "video"},
         "url": "%http_proto%://px.example/?a=%ALIAS%&d=%did%&r=%region%",
         "secure_url": "https://px.example/?a=%ALIAS%", "serialize": True, "delimiter": ";"},
        {"id": 60, "kind": "cookie", "cookie_name": "aam_seg", "cookie_key": "seg",
         "mappings": {"900": "pop", "901": "sports"}, "serialize": True},
    ],
}


def make_config(**overrides: Any) -> Config:
    doc = {**BASE, **overrides}
    if "dcs" in overrides:
        doc["dcs"] = {**BASE["dcs"], **overrides["dcs"]}
    return from_dict(doc, env={})


OPENED: list[ProfileStore] = []


def make_client(
    config: Config | None = None,
    store: ProfileStore | None = None,
    *,
    now: float = NOW,
    https: bool = False,
    **kwargs: Any,
) -> tuple[TestClient, ProfileStore]:
    if store is None:
        store = open_store("sqlite://:memory:")
        OPENED.append(store)  # closed after the test by tests/dcs/conftest.py
    app = create_app(config or make_config(), store=store, clock=lambda: now, **kwargs)
    base = "https://dcs.shop.example" if https else "http://dcs.shop.example"
    return TestClient(app, base_url=base, follow_redirects=False), store


def envelope(uuid: str, segments: list[tuple[str, int]], *, dpid: int = 1001,
             now: float = NOW, secret: str = SECRET, nonce: str | None = None) -> str:
    result = ProviderResult(
        name="acme", dpid=dpid, status="ok", ms=3.0,
        segments=tuple(SegmentResult(i, s) for i, s in segments),
    )
    kwargs = {"nonce": nonce} if nonce else {}
    env = Envelope(uuid=uuid, providers=(result,), deadline_ms=100, **kwargs)
    return sign(env, secret.encode(), now=now)


def tc_string(*, cmp_id: int = 7, purposes: set[int] = frozenset({1, 10}),
              vendors: set[int] = frozenset({565}), ranges: bool = False) -> str:
    """A TCF v2 core string with the given CMP, purpose consents and vendor consents."""
    tc = TCString(cmp_id=cmp_id, cmp_version=1, consent_screen=1, vendor_list_version=1,
                  purposes_consent=frozenset(purposes), vendor_consents=frozenset(vendors))
    return encode(tc, ranges=ranges)
