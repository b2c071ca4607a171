"""Provider protocol v1: the request the edge builds and the answers it accepts (spec vectors)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from edge.contracts import provider_protocol as proto
from edge.contracts.envelope import SegmentResult
from edge.contracts.provider_protocol import Answer, ProtocolError

VECTOR_UUID = "07955261652886032950143702505894272138"


def test_request_body_matches_spec_vector_1() -> None:
    body = proto.request_body(
        request_id="ss3OTqPiQp0=", dpid=1234, uuid=VECTOR_UUID, dpuuid=None, signals={},
        consent=None, deadline_ms=80,
    )
    assert body == (
        b'{"v":1,"request_id":"ss3OTqPiQp0=","dpid":1234,'
        b'"user":{"uuid":"07955261652886032950143702505894272138"},"signals":{},"deadline_ms":80}'
    )


def test_request_body_with_dpuuid_consent_and_signals() -> None:
    body = proto.request_body(
        request_id="r", dpid=1, uuid=VECTOR_UUID, dpuuid="YRNggwAAAL9ULAPw",
        signals={"c_page": ("shoes",), "c_lang": ["it", "en"], "p_secret": ("x",)},
        consent={"gdpr": 1, "gdpr_consent": "CPX"}, deadline_ms=80,
    )
    doc = json.loads(body)
    assert doc["user"] == {"uuid": VECTOR_UUID, "dpuuid": "YRNggwAAAL9ULAPw"}
    assert doc["signals"] == {"c_page": ["shoes"], "c_lang": ["it", "en"]}  # p_ never sent
    assert doc["consent"] == {"gdpr": 1, "gdpr_consent": "CPX"}


def test_hmac_vector_from_the_spec_with_sha1() -> None:
    got = proto.signature(b"sample_partner_private_key", b"POST message content", digest="sha1")
    assert got == "+wFdR/afZNoVqtGl8/e1KJ4ykPU="


def test_signature_defaults_to_sha256() -> None:
    key, body = b"sample_partner_private_key", b"POST message content"
    expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    assert proto.signature(key, body) == expected
    assert len(base64.b64decode(proto.signature(key, body))) == 32


def js(doc: Any) -> bytes:
    return json.dumps(doc).encode()


ANSWERS = [
    pytest.param(204, b"", None, Answer((), None), id="204"),
    pytest.param(204, b"", "max-age=60", Answer((), 60), id="204-max-age"),
    pytest.param(
        200, b'{"segments":[{"id":"auto-intender"},{"id":"sports","status":1}],"ttl_s":600}',
        None, Answer((SegmentResult("auto-intender", 1), SegmentResult("sports", 1)), 600),
        id="spec-vector-1",
    ),
    pytest.param(200, b'{"segments":[{"id":"sports","status":0}]}', None,
                 Answer((SegmentResult("sports", 0),), None), id="spec-vector-3-status-0"),
    pytest.param(200, js({"segments": [{"id": "a"}]}), None,
                 Answer((SegmentResult("a", 1),)), id="missing-status-means-1"),
    pytest.param(200, js({"segments": []}), None, Answer(()), id="empty-list"),
    pytest.param(200, b"{}", None, Answer(()), id="no-segments-key"),
    pytest.param(200, js({"segments": [{"id": 123}]}), None,
                 Answer((SegmentResult("123", 1),)), id="integer-id-as-text"),
    pytest.param(200, js({"segments": [{"id": "x" * 255}]}), None,
                 Answer((SegmentResult("x" * 255, 1),)), id="id-255-chars"),
    pytest.param(200, js({"segments": [], "ttl_s": 0}), "max-age=60", Answer((), 0),
                 id="ttl_s-beats-max-age"),
    pytest.param(200, js({"segments": []}), "public, max-age=90", Answer((), 90),
                 id="max-age-without-ttl_s"),
]


@pytest.mark.parametrize(("status", "body", "cache_control", "expected"), ANSWERS)
def test_valid_answers(status: int, body: bytes, cache_control: str | None,
                       expected: Answer) -> None:
    got = proto.parse_answer(status, body, cache_control=cache_control)
    assert got == expected
    assert got.empty == (not expected.segments)


FAILURES = [
    pytest.param(500, js({"segments": []}), {}, "HTTP 500", id="status-500"),
    pytest.param(404, b"", {}, "HTTP 404", id="status-404"),
    pytest.param(202, js({"segments": []}), {}, "HTTP 202", id="status-202"),
    pytest.param(200, b"not json", {}, "not JSON", id="spec-vector-4-not-json"),
    pytest.param(200, b"\xff\xfe{}", {}, "not JSON", id="not-utf8"),
    pytest.param(200, b"", {}, "not JSON", id="empty-200"),
    # deeper than any Python version decodes (3.13 copes with a few thousand levels)
    pytest.param(200, b"[" * 100000 + b"]" * 100000, {}, "not JSON", id="too-deep"),
    pytest.param(200, b'[{"id":"a"}]', {}, "not a JSON object", id="a-list"),
    pytest.param(200, b'"segments"', {}, "not a JSON object", id="a-string"),
    pytest.param(200, js({"segments": {"id": "a"}}), {}, "not a list", id="segments-object"),
    pytest.param(200, js({"segments": None}), {}, "not a list", id="segments-null"),
    pytest.param(200, js({"segments": ["a"]}), {}, "not an object", id="segment-a-string"),
    pytest.param(200, js({"segments": [{"id": "a"}] * 3}), {"max_segments": 2},
                 "3 segments, more than the limit of 2", id="too-many-segments"),
    pytest.param(200, js({"segments": [{"id": "x"}] * 1001}), {},
                 "1001 segments, more than the limit of 1000", id="default-segment-limit"),
    pytest.param(200, js({"segments": []}) + b" " * 100, {"max_bytes": 100},
                 "over the limit of 100", id="body-too-big"),
    pytest.param(200, b" " * (256 * 1024 + 1), {}, "over the limit of 262144",
                 id="default-body-limit"),
    pytest.param(200, js({"segments": [{"id": 5.5}]}), {}, "segment id", id="id-float"),
    pytest.param(200, js({"segments": [{"id": True}]}), {}, "segment id", id="id-bool"),
    pytest.param(200, js({"segments": [{"id": None}]}), {}, "segment id", id="id-null"),
    pytest.param(200, js({"segments": [{"id": ["a"]}]}), {}, "segment id", id="id-list"),
    pytest.param(200, js({"segments": [{"id": ""}]}), {}, "segment id", id="id-empty"),
    pytest.param(200, js({"segments": [{"status": 1}]}), {}, "segment id", id="id-missing"),
    pytest.param(200, js({"segments": [{"id": "x" * 256}]}), {}, "segment id", id="id-256"),
    pytest.param(200, js({"segments": [{"id": "a", "status": 2}]}), {}, "status 2",
                 id="status-2"),
    pytest.param(200, js({"segments": [{"id": "a", "status": "1"}]}), {}, "status '1'",
                 id="status-string"),
    pytest.param(200, js({"segments": [{"id": "a", "status": True}]}), {}, "status True",
                 id="status-bool"),
    pytest.param(200, js({"segments": [], "ttl_s": -1}), {}, "ttl_s", id="ttl-negative"),
    pytest.param(200, js({"segments": [], "ttl_s": "60"}), {}, "ttl_s", id="ttl-string"),
    pytest.param(200, js({"segments": [], "ttl_s": 1.5}), {}, "ttl_s", id="ttl-float"),
    pytest.param(200, js({"segments": [], "ttl_s": True}), {}, "ttl_s", id="ttl-bool"),
]


@pytest.mark.parametrize(("status", "body", "limits", "message"), FAILURES)
def test_failures(status: int, body: bytes, limits: dict[str, int], message: str) -> None:
    with pytest.raises(ProtocolError, match=message.replace("(", r"\(")):
        proto.parse_answer(status, body, **limits)


def test_limits_are_inclusive() -> None:
    body = js({"segments": [{"id": "a"}, {"id": "b"}]})
    got = proto.parse_answer(200, body, max_segments=2, max_bytes=len(body))
    assert [s.id for s in got.segments] == ["a", "b"]


def test_protocol_error_is_a_value_error() -> None:
    assert issubclass(ProtocolError, ValueError)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("max-age=60", 60),
        ("public, max-age=3600", 3600),
        ("private,max-age=0", 0),
        ("MAX-AGE = 5", 5),
        ("no-cache", None),
        ("s-maxage=10", None),
        ("max-age=abc", None),
    ],
)
def test_max_age(header: str | None, expected: int | None) -> None:
    assert proto.max_age(header) == expected
