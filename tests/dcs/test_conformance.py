"""The conformance vectors E1-E8 of the Audience Manager reference (section 2.7)."""

from __future__ import annotations

import json

import pytest

from edge.contracts.ids import is_tid, is_uuid
from tests.dcs.helpers import UUID, make_client


def jsonp(text: str, callback: str) -> dict[str, object]:
    assert text.startswith(callback + "(") and text.endswith(")")
    body: dict[str, object] = json.loads(text[len(callback) + 1 : -1])
    return body


def test_e1_basic_event_with_jsonp() -> None:
    client, _ = make_client()
    r = client.get("/event?videoTypeID=2&data=moarData&d_dst=1&d_rtbd=json&d_cb=acme_callback")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    body = jsonp(r.text, "acme_callback")
    assert body["stuff"] == [] and body["dcs_region"] == 7
    assert is_uuid(str(body["uuid"])) and is_tid(str(body["tid"]))
    assert [d["id"] for d in body["dests"]] == ["50"]  # type: ignore[index, union-attr]


def test_e2_rtbd_json_alone() -> None:
    client, _ = make_client()
    body = client.get("/event?d_rtbd=json").json()
    assert set(body) == {"stuff", "uuid", "dcs_region", "tid"}
    assert body["stuff"] == [] and is_uuid(body["uuid"]) and is_tid(body["tid"])


@pytest.mark.parametrize("cts", ["1", "2"])
def test_e3_cts_returns_traits_and_segments(cts: str) -> None:
    client, _ = make_client()
    body = client.get(f"/event?d_rtbd=json&d_cts={cts}&videoTypeID=2").json()
    assert body["traits"] == [420020] and body["segments"] == [984263]


def test_e3_without_cts_no_traits() -> None:
    client, _ = make_client()
    body = client.get("/event?d_rtbd=json&videoTypeID=2").json()
    assert "traits" not in body and "segments" not in body


def test_e4_declared_id_jsonp() -> None:
    client, store = make_client()
    r = client.get("/event?d_rtbd=json&d_cb=myCallback&key=val&d_dpuuid=1234&d_dpid=5678")
    body = jsonp(r.text, "myCallback")
    assert store.resolve("dpid:5678", "1234") == body["uuid"]
    client.cookies.clear()  # another device, same declared id
    again = jsonp(client.get("/event?d_rtbd=json&d_cb=myCallback&d_dpuuid=1234&d_dpid=5678").text,
                  "myCallback")
    assert again["uuid"] == body["uuid"]


@pytest.mark.parametrize(
    ("filter_", "traits"),
    [("d_tdpid=1", [101]), ("d_tdpid_ic=ic2", [102]), ("", [101, 102])],
)
def test_e5_data_source_filter(filter_: str, traits: list[int]) -> None:
    client, _ = make_client()
    body = client.get(f"/event?key1=val1&key2=val2&d_rtbd=json&d_cts=1&{filter_}").json()
    assert body["traits"] == traits


def test_e6_get_and_post_store_the_same_signals() -> None:
    get_client, get_store = make_client()
    post_client, post_store = make_client()
    get_client.get(f"/event?d_uuid={UUID}&d_rtbd=json&c_likes=famous%20popstar"
                   "&c_loves=famous%20actress")
    post_client.post(
        "/event", headers={"content-type": "application/x-www-form-urlencoded"},
        content=f"c_likes=famous%20popstar&c_loves=famous%20actress&d_uuid={UUID}",
    )
    for store in (get_store, post_store):
        profile = store.load(UUID)
        assert profile is not None
        assert profile.attrs["c_likes"] == ["famous popstar"]
        assert profile.attrs["c_loves"] == ["famous actress"]
        assert 201 in profile.traits


@pytest.mark.parametrize("query", ["d_sid=1234", "d_sid=1234,5678,9876,5432"])
def test_e7_trait_ids_by_pixel(query: str) -> None:
    client, store = make_client()
    r = client.get(f"/event?d_uuid={UUID}&{query}")
    assert r.headers["content-type"] == "image/gif" and r.content.startswith(b"GIF89a")
    profile = store.load(UUID)
    assert profile is not None
    expected = {1234} if query == "d_sid=1234" else {1234, 5678}
    assert set(profile.traits) == expected


def test_e8_click_redirect() -> None:
    client, _ = make_client()
    r = client.get("/event?d_event=click&d_creative=123"
                   "&d_rd=http%3A%2F%2Fadobe.com%2Fcallback%3Fcreative%3D%25d_creative%25")
    assert r.status_code == 302
    assert r.headers["location"] == "https://adobe.com/callback?creative=123"
