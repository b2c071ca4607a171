"""Cross-origin POSTs to /event from origins not allowed: error 109, nothing stored."""

from __future__ import annotations

import pytest

from edge.dcs import errors as E
from tests.dcs.helpers import make_client, make_config

FORM = {"content-type": "application/x-www-form-urlencoded"}
BODY = "d_rtbd=json&c_likes=famous%20popstar"


@pytest.mark.parametrize(
    ("origin", "allowed", "https", "refused"),
    [
        ("https://evil.example", ["https://shop.example"], False, True),
        ("null", ["https://shop.example"], False, True),
        ("https://shop.example", ["https://shop.example"], False, False),
        ("http://dcs.shop.example", ["https://shop.example"], False, False),  # its own origin
        ("https://dcs.shop.example", ["https://shop.example"], True, False),
        ("http://dcs.shop.example", ["https://shop.example"], True, True),  # scheme differs
        ("https://evil.example", [], False, False),  # no list: no check
        (None, ["https://shop.example"], False, False),  # not a browser's cross-origin call
    ],
)
def test_post_from_an_origin_not_allowed(
    origin: str | None, allowed: list[str], https: bool, refused: bool
) -> None:
    client, store = make_client(make_config(dcs={"allowed_origins": allowed}), https=https)
    headers = {**FORM, **({"origin": origin} if origin else {})}
    r = client.post("/event?d_dil_ver=9.5&_ts=1", content=BODY, headers=headers)
    assert r.status_code == 200
    codes = [e["code"] for e in r.json().get("errors", [])]
    if refused:
        assert codes == [E.REFERER_NOT_ALLOWED] and r.headers["x-error"] == "109"
        assert "uuid" not in r.json() and "set-cookie" not in r.headers
        assert store.stats().profiles == 0
        assert "access-control-allow-origin" not in r.headers
    else:
        assert "uuid" in r.json() and store.stats().profiles == 1


def test_a_get_from_another_origin_is_not_refused() -> None:
    client, store = make_client()
    r = client.get(f"/event?{BODY}", headers={"origin": "https://evil.example"})
    assert "uuid" in r.json() and store.stats().profiles == 1
