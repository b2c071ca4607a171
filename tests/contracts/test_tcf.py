"""The shared TC string parser and encoder (edge.contracts.tcf)."""

from __future__ import annotations

import base64

import pytest

from edge.contracts.tcf import ConsentError, TCString, encode, parse

FULL = TCString(
    created=16_504_920_000,
    last_updated=16_504_930_000,
    cmp_id=31,
    cmp_version=640,
    consent_screen=3,
    consent_language="IT",
    vendor_list_version=126,
    policy_version=4,
    is_service_specific=True,
    special_features=frozenset({1}),
    purposes_consent=frozenset({1, 3, 4, 10, 24}),
    purposes_li=frozenset({2, 7}),
    purpose_one_treatment=True,
    publisher_cc="DE",
    vendor_consents=frozenset({1, 2, 3, 100, 565, 566, 567}),
    vendor_li=frozenset({9, 10}),
)


@pytest.mark.parametrize("ranges", [False, True])
def test_round_trip_every_core_field(ranges: bool) -> None:
    assert parse(encode(FULL, ranges=ranges)) == FULL


def test_range_encoding_is_used_and_shorter_for_sparse_vendors() -> None:
    tc = TCString(vendor_consents=frozenset({5000, 5001, 5002}))
    assert len(encode(tc, ranges=True)) < len(encode(tc, ranges=False))
    assert parse(encode(tc, ranges=True)).vendor_consents == {5000, 5001, 5002}


def test_decodes_a_published_example_string() -> None:
    tc = parse("CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA")
    assert (tc.cmp_id, tc.consent_language, tc.publisher_cc) == (31, "EN", "DE")
    assert tc.vendor_list_version == 126


def test_later_segments_are_ignored() -> None:
    assert parse(encode(FULL) + ".YAAAAAAAAAAA") == FULL


def _version_1() -> str:
    raw = bytearray(base64.urlsafe_b64decode(encode(FULL) + "=="))
    raw[0] = (1 << 2) | (raw[0] & 0b11)
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "base64"),
        ("abc=", "base64"),
        ("ab+/", "base64"),
        ("A", "base64"),
        ("CPXxRfAP", "truncated"),
        (encode(FULL)[:40], "truncated"),
        ("__version_1__", "version"),
    ],
)
def test_malformed_strings(text: str, message: str) -> None:
    if text == "__version_1__":
        text = _version_1()
    with pytest.raises(ConsentError, match=message):
        parse(text)


def test_consent_error_is_a_value_error() -> None:
    assert issubclass(ConsentError, ValueError)


def test_invalid_range_is_rejected() -> None:
    bad = TCString(vendor_consents=frozenset({3}))
    text = encode(bad, ranges=True)
    # max vendor id 3, then a range entry claiming vendor 3: rewrite max id to 2
    raw = bytearray(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    bits = "".join(f"{b:08b}" for b in raw)
    start = 6 + 36 + 36 + 12 + 12 + 6 + 12 + 12 + 6 + 1 + 1 + 12 + 24 + 24 + 1 + 12
    bits = bits[:start] + f"{2:016b}" + bits[start + 16 :]
    out = int(bits, 2).to_bytes(len(raw), "big")
    with pytest.raises(ConsentError, match="invalid range"):
        parse(base64.urlsafe_b64encode(out).rstrip(b"=").decode())


def test_encoder_rejects_values_that_do_not_fit() -> None:
    with pytest.raises(ValueError):
        encode(TCString(cmp_id=1 << 12))
    with pytest.raises(ValueError):
        encode(TCString(consent_language="en"))


@pytest.mark.parametrize("ranges", [False, True])
def test_reads_cmp_purposes_and_vendors(ranges: bool) -> None:
    tc = parse(encode(TCString(cmp_id=31, purposes_consent=frozenset({1, 3, 10}),
                               vendor_consents=frozenset({2, 565})), ranges=ranges))
    assert (tc.version, tc.cmp_id) == (2, 31)
    assert tc.purposes_consent == {1, 3, 10}
    assert tc.vendor_consents == {2, 565}


@pytest.mark.parametrize("text", ["!!!", "AAAA", "BAAAAAAA"])
def test_rejects_strings_that_are_not_tc_strings(text: str) -> None:
    with pytest.raises(ConsentError):
        parse(text)
