from __future__ import annotations

import re

import pytest

from edge.config import Destination, ProviderConfig
from edge.dcs.destinations import (
    MacroContext,
    cookie_domain,
    cookie_stuff,
    expand,
    id_syncs,
    url_dests,
)

UUID = "12345678901234567890123456789012345678"
CTX = MacroContext(
    uuid=UUID, now=1_700_000_000.5, region=7, https=False, mid="m1",
    partner_ids={1001: "p x"}, gdpr=1, gdpr_consent="CO+x",
)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("a=%ALIAS%", "a=seg"),
        ("a=%alias%", "a=seg"),
        ("d=%did%", f"d={UUID}"),
        ("d=%DID%", f"d={UUID}"),
        ("m=%mcid%", "m=m1"),
        ("p=%dpid_1001%&q=%dpid_5%", "p=p%20x&q="),
        ("%http_proto%://x", "http://x"),
        ("r=%region%", "r=7"),
        ("t=%timestamp%", "t=1700000000500"),
        ("g=${GDPR}&c=${GDPR_CONSENT_565}", "g=1&c=CO%2Bx"),
        ("%unknown%", "%unknown%"),
    ],
)
def test_expand(template: str, expected: str) -> None:
    assert expand(template, CTX, alias="seg") == expected


def test_rnd_is_random_digits() -> None:
    values = {expand("%rnd%", CTX) for _ in range(5)}
    assert all(re.fullmatch(r"\d+", v) for v in values) and len(values) > 1


def test_gdpr_macros_without_consent() -> None:
    ctx = MacroContext(uuid=UUID, now=0, region=7)
    assert expand("${GDPR}|${GDPR_CONSENT_1}", ctx) == "0|"


URL = Destination(id=5, kind="url", mappings={1: "a b", 2: "b", 3: "c"},
                  url="%http_proto%://x/?s=%ALIAS%", secure_url="https://sx/?s=%ALIAS%",
                  tag="iframe", hide_referrer=False)


@pytest.mark.parametrize(
    ("dest", "segments", "new", "expected"),
    [
        (URL, {1, 2}, {2}, ["http://x/?s=a%20b", "http://x/?s=b"]),
        (URL, {1, 2}, set(), []),
        (URL, {1, 9}, {9}, []),
        (Destination(id=5, kind="url", mappings={1: "a", 2: "b"}, url="http://x/%ALIAS%",
                     serialize=True, delimiter=";"), {1, 2}, {1}, ["http://x/a;b"]),
    ],
)
def test_url_dests(
    dest: Destination, segments: set[int], new: set[int], expected: list[str]
) -> None:
    items = url_dests([dest], segments, new, CTX)
    assert [i["c"] for i in items] == expected


def test_url_dest_item_shape() -> None:
    [item] = url_dests([URL], {3}, {3}, CTX)
    assert item == {"id": "5", "y": "iframe", "c": "http://x/?s=c", "e": "https://sx/?s=c",
                    "hr": False}


def test_secure_url_defaults_to_base_url_over_https() -> None:
    dest = Destination(id=1, kind="url", mappings={1: "a"}, url="%http_proto%://x/%ALIAS%")
    [item] = url_dests([dest], {1}, {1}, CTX)
    assert (item["c"], item["e"]) == ("http://x/a", "https://x/a")


@pytest.mark.parametrize(
    ("configured", "host", "expected"),
    [
        (".sports.com", "www.shop.example", ".sports.com"),
        (None, "www.shop.example", ".shop.example"),
        (None, "shop.example:8443", ".shop.example"),
        (None, "WWW.Shop.Example", ".shop.example"),
        (None, "127.0.0.1:8080", "127.0.0.1"),
        (None, "[::1]:8080", "::1"),
        (None, "localhost", "localhost"),
    ],
)
def test_cookie_domain(configured: str | None, host: str, expected: str) -> None:
    assert cookie_domain(configured, host) == expected


@pytest.mark.parametrize(
    ("kwargs", "cv"),
    [
        ({"cookie_key": "x", "serialize": True, "delimiter": ";"}, "x=a%3Bb%20c"),
        ({"cookie_key": "x"}, "x=a&x=b c".replace(" ", "%20")),
        ({"serialize": True}, "a,b%20c"),
        ({}, "a&b%20c"),
    ],
)
def test_cookie_stuff(kwargs: dict[str, object], cv: str) -> None:
    dest = Destination(id=6, kind="cookie", cookie_name="seg", mappings={1: "a", 2: "b c"},
                       ttl_days=9, **kwargs)  # type: ignore[arg-type]
    assert cookie_stuff([dest], {1, 2, 3}, "www.shop.example") == [
        {"cn": "seg", "cv": cv, "ttl": 9, "dmn": ".shop.example"}
    ]


def test_cookie_stuff_skips_unmapped_and_url_destinations() -> None:
    dest = Destination(id=6, kind="cookie", cookie_name="seg", mappings={1: "a"})
    assert cookie_stuff([dest, URL], {2}, "h.example") == []


def test_id_syncs_skip_known_partners_and_fill_macros() -> None:
    providers = [
        ProviderConfig(name="a", dpid=1001, url="http://a", sync_url="https://a/?u=%DID%"),
        ProviderConfig(name="b", dpid=1002, url="http://b",
                       sync_url="%HTTP_PROTO%://b/?u=%DID%&g=${GDPR}"),
        ProviderConfig(name="c", dpid=1003, url="http://c"),
    ]
    assert id_syncs(providers, CTX, ttl_s=604800) == [{
        "id": "1002", "ttl": 10080, "tag": "img", "fireURLSync": 1, "syncOnPage": 0,
        "url": [f"http://b/?u={UUID}&g=1"],
    }]
