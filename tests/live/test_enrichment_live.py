"""The enrichment behaviours with a real mitmproxy edge and real provider servers."""

from __future__ import annotations

import concurrent.futures
import re
import time
from collections.abc import Callable

import httpx
import pytest

from edge import config
from edge.contracts import envelope
from edge.testing import LiveStack, generous

pytestmark = pytest.mark.live

HIT = "/event?d_rtbd=json&d_cts=2&c_page=home"


def _statuses(r: httpx.Response) -> dict[str, str]:
    """provider -> status/cache, from the edge's Server-Timing header."""
    return {m[0]: m[1] for m in re.findall(r'p-([a-z]+);dur=[0-9.]+;desc="([a-z_/]+)"',
                                           r.headers["server-timing"])}


def _uuid(n: int) -> str:
    return f"{n:038d}"


def test_deadline_cuts_a_provider_that_never_answers(
    stack_factory: Callable[..., LiveStack],
) -> None:
    # a real deadline: 300 ms for the whole fan-out, the hung provider allowed 250 ms
    def edit(text: str) -> str:
        text = generous(text).replace("deadline_ms = 3000", "deadline_ms = 300")
        return text.replace("timeout_ms = 2500", "timeout_ms = 250", 1)  # acme, the first

    stack = stack_factory(edit)
    stack.control("acme", mode="hang")
    with stack.client() as c:
        r = c.get(f"{HIT}&d_uuid={_uuid(7)}")
    assert r.status_code == 200 and r.json()["uuid"] == _uuid(7)
    st = _statuses(r)
    assert st["acme"].startswith("timeout")
    assert st["birch"].startswith(("ok", "empty")) and st["cedar"].startswith(("ok", "empty"))
    # the edge reports the fan-out took about the budget, not the hung call's hour
    edge_ms = float(re.search(r"edge;dur=([0-9.]+)", r.headers["server-timing"])[1])
    assert edge_ms < 3000


def test_required_provider_releases_the_hit_without_waiting_for_the_rest(
    stack_factory: Callable[..., LiveStack],
) -> None:
    def edit(text: str) -> str:
        return generous(text).replace('name = "acme"', 'name = "acme"\nrequired = true')

    stack = stack_factory(edit, cedar=["--latency-ms", "20000"])
    with stack.client() as c:
        r = c.get(f"{HIT}&d_uuid={_uuid(8)}")
    st = _statuses(r)
    assert st["acme"].startswith("ok"), st
    assert st["cedar"].startswith("timeout"), "cedar was not waited for once acme answered"


def test_concurrent_hits_of_one_new_visitor_cause_one_provider_call(
    stack_factory: Callable[..., LiveStack],
) -> None:
    stack = stack_factory(generous, acme=["--latency-ms", "300"])
    before = stack.calls("acme")
    uuid = _uuid(9)

    def one(_: int) -> int:
        with stack.client() as c:
            return c.get(f"{HIT}&d_uuid={uuid}").status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(one, range(8)))
    assert codes == [200] * 8
    assert stack.calls("acme") - before == 1


def test_breaker_opens_on_failures_and_recovers(stack_factory: Callable[..., LiveStack]) -> None:
    def edit(text: str) -> str:
        text = generous(text)
        return text.replace('name = "acme"', 'name = "acme"\nerror_ttl_s = 0\n'
                            'stale_if_error_s = 0\nbreaker = { failures = 3, window_s = 60, '
                            'open_s = 1 }')

    stack = stack_factory(edit)
    stack.control("acme", mode="error")
    seen = []
    with stack.client() as c:
        for i in range(6):
            seen.append(_statuses(c.get(f"{HIT}&d_uuid={_uuid(100 + i)}"))["acme"])
        calls_open = stack.calls("acme")
        assert seen[:3] == ["error/miss"] * 3, seen
        assert all(s.startswith("breaker_open") for s in seen[3:]), seen
        assert calls_open == 3, "an open breaker costs the provider nothing"
        stack.control("acme", mode="ok")
        time.sleep(1.2)  # the open period of this config
        r = c.get(f"{HIT}&d_uuid={_uuid(200)}")
        assert _statuses(r)["acme"].startswith("ok"), "the half-open probe closed it"
        r = c.get(f"{HIT}&d_uuid={_uuid(201)}")
        assert _statuses(r)["acme"].startswith("ok")


@pytest.mark.parametrize("mode", ["error", "garbage", "reset", "huge", "wrong_types", "hang"])
def test_provider_misbehaviour_never_fails_the_hit(
    stack_factory: Callable[..., LiveStack], mode: str
) -> None:
    def edit(text: str) -> str:
        return generous(text).replace("deadline_ms = 3000", "deadline_ms = 1500")

    stack = stack_factory(edit)
    stack.control("acme", mode=mode)
    with stack.client() as c:
        r = c.get(f"{HIT}&d_uuid={_uuid(300)}")
    assert r.status_code == 200
    doc = r.json()
    assert doc["uuid"] == _uuid(300) and 1 in doc["traits"]
    assert _statuses(r)["acme"].split("/")[0] in ("error", "timeout")
    assert not set(doc["traits"]) & {101, 102, 103, 104}


def test_a_spoofed_envelope_is_stripped_by_the_edge_and_rejected_by_the_dcs(
    stack_factory: Callable[..., LiveStack],
) -> None:
    stack = stack_factory(generous)
    uuid = _uuid(400)
    cfg = config.load(stack.config_path)
    stack.control("acme", mode="empty")
    forged_claim = envelope.Envelope(
        uuid=uuid, providers=(envelope.ProviderResult(
            "acme", 1001, "ok", 1.0, (envelope.SegmentResult("luxury"),)),))
    forged = envelope.sign(forged_claim, b"not-the-deployment-secret-at-all")
    with stack.client() as c:
        r = c.get(f"{HIT}&d_uuid={uuid}", headers={envelope.HEADER: forged})
    assert r.status_code == 200
    assert 104 not in r.json()["traits"], "the client's envelope never reached the DCS"
    assert _statuses(r)["acme"].startswith("empty")
    # straight at the DCS (as if the edge were bypassed): ignored and counted, never trusted
    dcs = stack.url("dcs")
    before = httpx.get(f"{dcs}/healthz").json()["envelopes"]
    r = httpx.get(f"{dcs}{HIT}&d_uuid={uuid}", headers={envelope.HEADER: forged})
    assert r.status_code == 200 and 104 not in r.json()["traits"]
    after = httpx.get(f"{dcs}/healthz").json()["envelopes"]
    assert sum(after.values()) == sum(before.values()) + 1
    assert after.get("EnvelopeBadSignature", 0) == before.get("EnvelopeBadSignature", 0) + 1
    # and a genuinely signed one for the same visitor is honoured
    good = envelope.sign(forged_claim, cfg.secret)
    r = httpx.get(f"{dcs}{HIT}&d_uuid={uuid}", headers={envelope.HEADER: good})
    assert 104 in r.json()["traits"]


def test_internal_surface_is_not_reachable_through_the_edge(
    stack_factory: Callable[..., LiveStack],
) -> None:
    stack = stack_factory(generous)
    with stack.client() as c:
        assert c.get("/internal/visitor?uuid=" + _uuid(1)).status_code == 404
    metrics = httpx.get(f"{stack.url('admin')}/metrics", timeout=5.0)
    assert metrics.status_code == 200
    assert 'edge_requests_total{route="internal"} 1.0' in metrics.text
    assert "edge_dcs_up 1.0" in metrics.text


def test_dcs_down_gives_a_fast_well_formed_answer(stack_factory: Callable[..., LiveStack]) -> None:
    stack = stack_factory(generous)
    dcs = stack.stack.service("dcs")
    assert dcs.proc is not None
    dcs.proc.terminate()
    dcs.proc.wait(10)
    with stack.client() as c:
        answers = [c.get(f"{HIT}&d_uuid={_uuid(500)}") for _ in range(3)]
    # the first may meet the closed port itself; the edge then knows and answers on its own
    last = answers[-1]
    assert last.status_code == 200
    assert last.json()["errors"][0]["code"] == 0
    assert last.headers["x-error"] == "0"
