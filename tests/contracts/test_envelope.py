"""The signed enrichment envelope: round trip, and every way the DCS must refuse one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.contracts import envelope
from edge.contracts.envelope import (
    Envelope,
    EnvelopeBadSignature,
    EnvelopeError,
    EnvelopeExpired,
    EnvelopeMalformed,
    EnvelopeReplayed,
    EnvelopeVisitorMismatch,
    ProviderResult,
    SegmentResult,
    Verifier,
)

SECRET = b"0123456789abcdef-envelope"
UUID = "12345678901234567890123456789012345678"
OTHER = "98765432109876543210987654321098765432"
NOW = 1_700_000_000.0

RESULTS = (
    ProviderResult("acme", 1001, "ok", 12.3456, (SegmentResult("sports"), SegmentResult("x", 0))),
    ProviderResult("birch", 1002, "timeout", 80.0, cache="inflight"),
    ProviderResult("cedar", 1003, "skipped_consent", 0.0, cache="none"),
)


def signed(env: Envelope | None = None, *, now: float = NOW) -> str:
    return envelope.sign(env or Envelope(UUID, RESULTS, deadline_ms=100), SECRET, now=now)


def forge(body: Any, *, ts: int = int(NOW), raw: bytes | None = None) -> str:
    """An envelope with a valid signature over any payload, built from the documented format."""
    data = raw if raw is not None else json.dumps(body).encode()
    payload = base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    text = f"v1.{ts}.{payload}"
    mac = hmac.new(SECRET, text.encode(), hashlib.sha256).digest()
    return f"{text}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_round_trip_keeps_everything() -> None:
    env = Envelope(UUID, RESULTS, deadline_ms=100)
    got = Verifier(SECRET).verify(signed(env), uuid=UUID, now=NOW)
    assert (got.uuid, got.deadline_ms, got.nonce, got.ts) == (UUID, 100, env.nonce, int(NOW))
    assert got.providers[0] == ProviderResult(
        "acme", 1001, "ok", 12.35, (SegmentResult("sports", 1), SegmentResult("x", 0)), "miss"
    )
    assert got.providers[1:] == RESULTS[1:]


def test_wire_form_is_the_documented_one() -> None:
    env = Envelope(UUID, RESULTS[:1], deadline_ms=90, nonce="00112233aabbccdd")
    value = signed(env)
    version, ts, payload, mac = value.split(".")
    assert (version, ts) == ("v1", str(int(NOW)))
    assert "=" not in payload + mac
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert body == {
        "uuid": UUID, "nonce": "00112233aabbccdd", "deadline_ms": 90,
        "providers": [{"name": "acme", "dpid": 1001, "status": "ok", "ms": 12.35,
                       "cache": "miss", "segments": [{"id": "sports", "status": 1},
                                                     {"id": "x", "status": 0}]}],
    }
    expected = hmac.new(SECRET, f"v1.{ts}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4)) == expected


def test_default_nonces_are_16_hex_and_fresh() -> None:
    a, b = Envelope(UUID, ()), Envelope(UUID, ())
    assert len(a.nonce) == 16 and int(a.nonce, 16) >= 0
    assert a.nonce != b.nonce


def _flip(text: str) -> str:
    return text[:-1] + ("A" if text[-1] != "A" else "B")


def _tamper_payload(value: str) -> str:
    v, ts, payload, mac = value.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["providers"][0]["segments"].append({"id": "luxury", "status": 1})
    new = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{v}.{ts}.{new}.{mac}"


def _tamper_ts(value: str) -> str:
    v, ts, payload, mac = value.split(".")
    return f"{v}.{int(ts) + 1}.{payload}.{mac}"


def _tamper_signature(value: str) -> str:
    return _flip(value)


def _other_secret(value: str) -> str:
    return envelope.sign(Envelope(UUID, RESULTS), b"another-secret-of-16+", now=NOW)


@pytest.mark.parametrize(
    "tamper", [_tamper_payload, _tamper_ts, _tamper_signature, _other_secret]
)
def test_tampering_breaks_the_signature(tamper: Any) -> None:
    with pytest.raises(EnvelopeBadSignature):
        Verifier(SECRET).verify(tamper(signed()), uuid=UUID, now=NOW)


@pytest.mark.parametrize(
    ("verified_at", "error"),
    [
        pytest.param(NOW, None, id="same-second"),
        pytest.param(NOW + 30, None, id="at-window-edge"),
        pytest.param(NOW + 31, EnvelopeExpired, id="expired"),
        pytest.param(NOW - 30, None, id="clock-skew-within-window"),
        pytest.param(NOW - 31, EnvelopeExpired, id="future-beyond-window"),
    ],
)
def test_age_window(verified_at: float, error: type[Exception] | None) -> None:
    verifier = Verifier(SECRET, window_s=30)
    if error is None:
        assert verifier.verify(signed(), uuid=UUID, now=verified_at).uuid == UUID
    else:
        with pytest.raises(error):
            verifier.verify(signed(), uuid=UUID, now=verified_at)


def test_replayed_nonce_is_refused() -> None:
    verifier = Verifier(SECRET)
    value = signed()
    verifier.verify(value, uuid=UUID, now=NOW)
    with pytest.raises(EnvelopeReplayed):
        verifier.verify(value, uuid=UUID, now=NOW + 1)


def test_distinct_nonces_are_all_accepted() -> None:
    verifier = Verifier(SECRET)
    for _ in range(3):
        verifier.verify(signed(), uuid=UUID, now=NOW)


def test_nonce_memory_is_bounded() -> None:
    verifier = Verifier(SECRET, max_nonces=2)
    first = signed()
    verifier.verify(first, uuid=UUID, now=NOW)
    verifier.verify(signed(), uuid=UUID, now=NOW)
    verifier.verify(signed(), uuid=UUID, now=NOW)
    # the oldest nonce was forgotten to stay within max_nonces
    assert verifier.verify(first, uuid=UUID, now=NOW).uuid == UUID


@pytest.mark.parametrize(
    ("expected", "error"),
    [
        pytest.param(UUID, None, id="same-visitor"),
        pytest.param(None, None, id="hit-names-no-visitor"),
        pytest.param(OTHER, EnvelopeVisitorMismatch, id="other-visitor"),
    ],
)
def test_visitor_binding(expected: str | None, error: type[Exception] | None) -> None:
    verifier = Verifier(SECRET)
    if error is None:
        assert verifier.verify(signed(), uuid=expected, now=NOW).uuid == UUID
    else:
        with pytest.raises(error):
            verifier.verify(signed(), uuid=expected, now=NOW)


GOOD = {"uuid": UUID, "nonce": "abcd", "providers": []}
MALFORMED = [
    pytest.param("", id="empty"),
    pytest.param("garbage", id="garbage"),
    pytest.param("v1.1.abc", id="three-parts"),
    pytest.param("v1.1.a.b.c", id="five-parts"),
    pytest.param(forge(GOOD).replace("v1.", "v2.", 1), id="other-version"),
    pytest.param(forge(GOOD) + "é", id="non-ascii-signature"),
    pytest.param("v1.1.é.sig", id="non-ascii-payload"),
    pytest.param(forge(None, raw=b"not json"), id="payload-not-json"),
    pytest.param(forge(None, raw=b"\xff\xfe"), id="payload-not-utf8"),
    pytest.param(forge([UUID]), id="payload-a-list"),
    pytest.param(forge({"nonce": "n", "providers": []}), id="no-uuid"),
    pytest.param(forge({**GOOD, "uuid": 12}), id="uuid-not-string"),
    pytest.param(forge({"uuid": UUID, "providers": []}), id="no-nonce"),
    pytest.param(forge({**GOOD, "providers": {"acme": {}}}), id="providers-not-list"),
    pytest.param(forge({**GOOD, "providers": ["acme"]}), id="provider-not-object"),
    pytest.param(forge({**GOOD, "providers": [{"dpid": 1, "status": "ok"}]}), id="no-name"),
    pytest.param(forge({**GOOD, "providers": [{"name": "a", "dpid": "x", "status": "ok"}]}),
                 id="dpid-not-int"),
    pytest.param(forge({**GOOD, "providers": [{"name": "a", "dpid": 1, "status": "great"}]}),
                 id="unknown-status"),
    pytest.param(forge({**GOOD, "providers": [
        {"name": "a", "dpid": 1, "status": "ok", "segments": ["sports"]}]}),
                 id="segment-not-object"),
    pytest.param(forge({**GOOD, "deadline_ms": "soon"}), id="deadline-not-int"),
    pytest.param(forge({**GOOD, "deadline_ms": [100]}), id="deadline-a-list"),
]


@pytest.mark.parametrize("value", MALFORMED)
def test_malformed_envelopes_raise_envelope_malformed(value: str) -> None:
    with pytest.raises(EnvelopeMalformed):
        Verifier(SECRET).verify(value, uuid=None, now=NOW)


def test_forged_good_payload_is_accepted() -> None:
    # the control row for MALFORMED: the forging helper itself makes valid envelopes
    got = Verifier(SECRET).verify(forge(GOOD), uuid=UUID, now=NOW)
    assert (got.uuid, got.nonce, got.providers, got.deadline_ms) == (UUID, "abcd", (), 0)


def test_error_tree() -> None:
    for cls in (EnvelopeMalformed, EnvelopeBadSignature, EnvelopeExpired, EnvelopeReplayed,
                EnvelopeVisitorMismatch):
        assert issubclass(cls, EnvelopeError)
    assert issubclass(EnvelopeError, ValueError)


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        envelope.sign(Envelope(UUID, ()), b"")
    with pytest.raises(ValueError):
        Verifier(b"")


def test_header_names() -> None:
    assert envelope.HEADER == "X-Edge-Enrichment"
    assert envelope.HEADER in envelope.EDGE_HEADERS


def test_provider_result_defaults_from_json() -> None:
    got = ProviderResult.from_json(
        {"name": "a", "dpid": "7", "status": "empty", "segments": [{"id": 5}]}
    )
    assert got == ProviderResult("a", 7, "empty", 0.0, (SegmentResult("5", 1),), "miss")


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_results = st.builds(
    envelope.ProviderResult,
    name=_text, dpid=st.integers(0, 10**6), status=st.sampled_from(sorted(envelope.STATUSES)),
    ms=st.floats(0, 1e5, allow_nan=False), cache=st.sampled_from(["miss", "hit", "stale"]),
    segments=st.lists(st.builds(envelope.SegmentResult, _text, st.integers(0, 1)),
                      max_size=3).map(tuple),
)


@given(uuid=_text, nonce=_text, deadline_ms=st.integers(0, 10**5),
       providers=st.lists(_results, max_size=4).map(tuple))
def test_payload_text_is_the_json_of_the_payload(
    uuid: str, nonce: str, deadline_ms: int, providers: tuple[envelope.ProviderResult, ...]
) -> None:
    """The payload assembled from each result's memoized text is exactly the compact JSON of
    the payload as a dict, and reads back as the same envelope."""
    env = envelope.Envelope(uuid, providers, deadline_ms=deadline_ms, nonce=nonce)
    text = envelope.payload_json(env)
    as_dict = {"uuid": uuid, "nonce": nonce, "deadline_ms": deadline_ms,
               "providers": [p.to_json() for p in providers]}
    assert text == json.dumps(as_dict, separators=(",", ":"))
    assert json.loads(text) == as_dict


def test_shared_json_is_made_once() -> None:
    result = envelope.ProviderResult("acme", 1001, "ok", 1.5, (envelope.SegmentResult("s"),))
    assert result.json is result.json and result.json == result.to_json()
    assert result.to_json() is not result.to_json()
    assert result.json_text is result.json_text

