"""The reference provider: protocol v1 answers, misbehaviour on demand, ID sync, pixels."""

from __future__ import annotations

import json
import random
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from edge.contracts import provider_protocol as proto
from edge.providers import server
from edge.providers.server import Behaviour, ProviderState, create_app, load_data

UUID = "12345678901234567890123456789012345678"
KNOWN = "11111111111111111111111111111111111111"
CATALOG = ["auto-intender", "sports", "travel", "luxury"]
DATA = Path(server.__file__).parent / "data"


def state(**kw: Any) -> ProviderState:
    kw.setdefault("catalog", CATALOG)
    return ProviderState(name=kw.pop("name", "acme"), dpid=kw.pop("dpid", 1001), **kw)


def body(uuid: str = UUID, dpuuid: str | None = None) -> bytes:
    return proto.request_body(request_id="r", dpid=1001, uuid=uuid, dpuuid=dpuuid,
                              signals={"c_page": ("home",)}, consent=None, deadline_ms=80)


def ask(client: TestClient, content: bytes | None = None, **headers: str) -> Any:
    return client.post("/segments", content=body() if content is None else content,
                       headers={"content-type": "application/json", **headers})


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Every asyncio.sleep the server asks for, in seconds, without waiting."""
    seen: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        seen.append(seconds)

    monkeypatch.setattr(server, "asyncio", types.SimpleNamespace(sleep=fake_sleep))
    yield seen


def segment_ids(response: Any) -> list[str]:
    answer = proto.parse_answer(response.status_code, response.content,
                                cache_control=response.headers.get("cache-control"))
    return [s.id for s in answer.segments]


# -- protocol v1 -----------------------------------------------------------------------------


def test_hash_answers_are_deterministic_and_from_the_catalog() -> None:
    with TestClient(create_app(state())) as a, TestClient(create_app(state())) as b:
        for i in range(30):
            uuid = f"{i:038d}"
            first = segment_ids(ask(a, body(uuid)))
            assert first == segment_ids(ask(b, body(uuid))) == segment_ids(ask(a, body(uuid)))
            assert 1 <= len(first) <= 3 and len(set(first)) == len(first)
            assert set(first) <= set(CATALOG)


def test_hash_answers_spread_over_visitors_and_providers() -> None:
    uuids = [f"{i:038d}" for i in range(40)]
    with TestClient(create_app(state(name="acme"))) as acme:
        acme_answers = [tuple(segment_ids(ask(acme, body(u)))) for u in uuids]
    with TestClient(create_app(state(name="zeta"))) as zeta:
        zeta_answers = [tuple(segment_ids(ask(zeta, body(u)))) for u in uuids]
    assert len(set(acme_answers)) > 3  # not one answer for everyone
    assert acme_answers != zeta_answers  # the provider's name is in the hash


def test_answer_shape_and_ttl() -> None:
    r = ask(TestClient(create_app(state(ttl_s=120))))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    assert doc["ttl_s"] == 120 and all(s["status"] == 1 for s in doc["segments"])


def test_no_ttl_when_not_configured() -> None:
    r = ask(TestClient(create_app(state(ttl_s=None))))
    assert r.status_code == 200 and "ttl_s" not in r.json()


@pytest.mark.parametrize(
    ("uuid", "dpuuid", "expected"),
    [
        pytest.param(KNOWN, None, ["sports", "auto-intender"], id="by-uuid"),
        pytest.param(UUID, "acm-partner-id", ["travel"], id="by-dpuuid"),
        pytest.param(KNOWN, "acm-partner-id", ["travel"], id="dpuuid-first"),
        pytest.param(UUID, "unknown-dpuuid", None, id="falls-back-to-hash"),
    ],
)
def test_data_file_answers(uuid: str, dpuuid: str | None, expected: list[str] | None) -> None:
    visitors = {KNOWN: ["sports", "auto-intender"], "acm-partner-id": ["travel"]}
    client = TestClient(create_app(state(visitors=visitors)))
    got = segment_ids(ask(client, body(uuid, dpuuid)))
    if expected is None:
        assert got == segment_ids(ask(TestClient(create_app(state())), body(uuid)))
    else:
        assert got == expected


def test_visitor_listed_with_no_segments_gets_204() -> None:
    client = TestClient(create_app(state(visitors={UUID: []})))
    r = ask(client)
    assert (r.status_code, r.content) == (204, b"")


def test_empty_catalog_gets_204() -> None:
    assert ask(TestClient(create_app(state(catalog=[])))).status_code == 204


def test_packaged_data_file_answers(tmp_path: Path) -> None:
    catalog, visitors = load_data(DATA / "acme.json")
    assert catalog == CATALOG and visitors[KNOWN] == ["sports", "auto-intender"]
    client = TestClient(create_app(state(catalog=catalog, visitors=visitors)))
    assert segment_ids(ask(client, body(KNOWN))) == ["sports", "auto-intender"]


def test_load_data_defaults(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"catalog": ["x"]}), encoding="utf-8")
    assert load_data(path) == (["x"], {})


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1, 2]", id="json-list"),
        pytest.param(b'"v1"', id="json-string"),
        pytest.param(json.dumps({"v": 2, "user": {"uuid": UUID}}).encode(), id="version-2"),
        pytest.param(json.dumps({"v": 1}).encode(), id="no-user"),
        pytest.param(json.dumps({"v": 1, "user": ["x"]}).encode(), id="user-a-list"),
        pytest.param(json.dumps({"v": 1, "user": {"uuid": 5}}).encode(), id="uuid-a-number"),
    ],
)
def test_not_v1_requests_get_400(content: bytes) -> None:
    state_ = state()
    r = ask(TestClient(create_app(state_)), content)
    assert r.status_code == 400
    assert state_.calls == 1


# -- signature -------------------------------------------------------------------------------

KEY = b"acme-shared-key"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({proto.SIGNATURE_HEADER: proto.signature(KEY, body())}, 200, id="right"),
        pytest.param({}, 401, id="missing"),
        pytest.param({proto.SIGNATURE_HEADER: proto.signature(b"other", body())}, 401,
                     id="other-key"),
        pytest.param({proto.SIGNATURE_HEADER: proto.signature(KEY, body(), digest="sha1")}, 401,
                     id="sha1"),
        pytest.param({proto.SIGNATURE_HEADER: proto.signature(KEY, body())[:-2]}, 401,
                     id="truncated"),
        pytest.param({proto.SIGNATURE_HEADER: "é" * 44}, 401, id="non-ascii"),
    ],
)
def test_signature_check(headers: dict[str, str], status: int) -> None:
    client = TestClient(create_app(state(secret=KEY)))
    encoded = {k: v.encode("latin-1") for k, v in headers.items()}
    r = client.post("/segments", content=body(),
                    headers={"content-type": "application/json", **encoded})
    assert r.status_code == status


def test_signature_covers_the_exact_body() -> None:
    client = TestClient(create_app(state(secret=KEY)))
    other = body(KNOWN)
    r = ask(client, other, **{proto.SIGNATURE_HEADER: proto.signature(KEY, body())})
    assert r.status_code == 401


def test_no_secret_no_check() -> None:
    r = ask(TestClient(create_app(state())), **{proto.SIGNATURE_HEADER: "anything"})
    assert r.status_code == 200


# -- control and modes -----------------------------------------------------------------------


def control(client: TestClient, **doc: Any) -> Any:
    return client.post("/_control", json=doc)


@pytest.mark.parametrize(
    ("mode", "status", "parse_error"),
    [
        pytest.param("ok", 200, None, id="ok"),
        pytest.param("empty", 204, None, id="empty"),
        pytest.param("error", 500, "HTTP 500", id="error"),
        pytest.param("garbage", 200, "not JSON", id="garbage"),
        pytest.param("huge", 200, "over the limit", id="huge"),
        pytest.param("wrong_types", 200, "segment id", id="wrong_types"),
    ],
)
def test_modes(mode: str, status: int, parse_error: str | None) -> None:
    client = TestClient(create_app(state()))
    assert control(client, mode=mode).json() == {
        "ok": True, "latency_ms": 0, "failure_rate": 0.0, "mode": mode}
    r = ask(client)
    assert r.status_code == status
    if parse_error is None:
        proto.parse_answer(r.status_code, r.content)
    else:
        with pytest.raises(proto.ProtocolError, match=parse_error):
            proto.parse_answer(r.status_code, r.content)


def test_mode_reset_promises_more_than_it_sends() -> None:
    client = TestClient(create_app(state()))
    control(client, mode="reset")
    r = ask(client)
    assert int(r.headers["content-length"]) > len(r.content)
    with pytest.raises(proto.ProtocolError):
        proto.parse_answer(r.status_code, r.content)


def test_mode_hang_sleeps_for_an_hour(sleeps: list[float]) -> None:
    client = TestClient(create_app(state()))
    control(client, mode="hang")
    ask(client)
    assert sleeps == [3600]


def test_latency_and_jitter(sleeps: list[float]) -> None:
    s = state(rng=random.Random(7))
    client = TestClient(create_app(s))
    control(client, latency_ms=50, jitter_ms=10)
    for _ in range(20):
        assert ask(client).status_code == 200
    assert all(0.050 <= d <= 0.060 for d in sleeps) and len(sleeps) == 20
    assert len(set(sleeps)) > 1


def test_no_latency_no_sleep(sleeps: list[float]) -> None:
    ask(TestClient(create_app(state())))
    assert sleeps == []


@pytest.mark.parametrize(("rate", "statuses"), [(1.0, {500}), (0.0, {200})])
def test_failure_rate(rate: float, statuses: set[int]) -> None:
    client = TestClient(create_app(state()))
    control(client, failure_rate=rate)
    assert {ask(client).status_code for _ in range(10)} == statuses


def test_failure_rate_is_a_fraction() -> None:
    with TestClient(create_app(state(rng=random.Random(1)))) as client:
        control(client, failure_rate=0.5)
        codes = [ask(client).status_code for _ in range(100)]
    assert 20 < codes.count(500) < 80 and set(codes) == {200, 500}


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param({"latency_ms": 25, "mode": "explode"}, id="unknown-mode"),
        pytest.param({"mode": "error", "latency_ms": "slow"}, id="latency-not-int"),
        pytest.param({"mode": "error", "failure_rate": None}, id="rate-null"),
        pytest.param([1, 2], id="not-an-object"),
    ],
)
def test_bad_control_changes_nothing(doc: Any) -> None:
    s = state()
    client = TestClient(create_app(s))
    r = client.post("/_control", json=doc)
    assert r.status_code == 400 and "modes: ok, hang" in r.text
    assert s.behaviour == Behaviour()


def test_control_not_json() -> None:
    client = TestClient(create_app(state()))
    assert client.post("/_control", content=b"{").status_code == 400


def test_control_keeps_what_it_is_not_told() -> None:
    client = TestClient(create_app(state()))
    control(client, latency_ms=5, mode="empty")
    assert control(client, failure_rate=0.25).json() == {
        "ok": True, "latency_ms": 5, "failure_rate": 0.25, "mode": "empty"}


def test_stats_and_reset() -> None:
    client = TestClient(create_app(state()))
    ask(client)
    ask(client)
    stats = client.get("/_stats").json()
    assert (stats["name"], stats["calls"], stats["mode"]) == ("acme", 2, "ok")
    control(client, reset_stats=True)
    assert client.get("/_stats").json()["calls"] == 0


# -- sync, pixel, health ---------------------------------------------------------------------

IBS = "http://edge.test/ibs:"


def test_sync_redirects_to_ibs_with_own_id() -> None:
    s = state(ibs_url=IBS)
    client = TestClient(create_app(s), follow_redirects=False)
    r = client.get("/sync", params={"uuid": UUID})
    assert r.status_code == 302
    own = s.own_id(UUID)
    assert r.headers["location"] == f"{IBS}dpid=1001&dpuuid={own}"
    assert own.startswith("acm") and len(own) == 19
    assert own == state().own_id(UUID) != s.own_id(KNOWN)


@pytest.mark.parametrize(
    ("ibs", "params"),
    [pytest.param(IBS, {}, id="no-uuid"), pytest.param(None, {"uuid": UUID}, id="no-ibs-url")],
)
def test_sync_needs_uuid_and_ibs_url(ibs: str | None, params: dict[str, str]) -> None:
    client = TestClient(create_app(state(ibs_url=ibs)), follow_redirects=False)
    assert client.get("/sync", params=params).status_code == 400


def test_pixel_records_the_last_100_queries() -> None:
    s = state()
    with TestClient(create_app(s)) as client:
        r = client.get("/pixel?seg=sports&r=1")
        assert r.headers["content-type"] == "image/gif" and r.content.startswith(b"GIF89a")
        assert s.pixels == ["seg=sports&r=1"]
        for i in range(120):
            client.get(f"/pixel?n={i}")
        assert len(s.pixels) == 100 and s.pixels[-1] == "n=119" and s.pixels[0] == "n=20"
        assert client.get("/_stats").json()["pixels"] == s.pixels


def test_healthz() -> None:
    r = TestClient(create_app(state())).get("/healthz")
    assert (r.status_code, r.text) == (200, "ok")


def test_segments_is_post_only() -> None:
    assert TestClient(create_app(state())).get("/segments").status_code == 405
