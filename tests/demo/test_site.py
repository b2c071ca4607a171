import asyncio
import re
import tomllib
from importlib import resources

import httpx
import pytest

from edge.demo.site import SITE_DIR, create_site

PAGES = ["/", "/index.html", "/shoes.html"]


class Client:
    """A sync facade over httpx's ASGI transport: one request per asyncio.run."""

    def __init__(self, app):
        self.app = app

    def get(self, path: str) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://site.test") as c:
                return await c.get(path)

        return asyncio.run(go())


@pytest.fixture
def client():
    return Client(create_site())


def test_healthz(client):
    r = client.get("/healthz")
    assert (r.status_code, r.text) == (200, "ok")


@pytest.mark.parametrize("path", PAGES)
def test_pages_carry_the_tag_and_the_ids_a_browser_test_reads(client, path):
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<script src="/tag.js"></script>' in r.text
    for element_id in ("uuid", "segments", "banner", "status", "syncs"):
        assert f'id="{element_id}"' in r.text


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/site.css", "text/css"), ("/site.js", "text/javascript"),
     ("/segments.json", "application/json"), ("/banners.json", "application/json")],
)
def test_assets_are_served(client, path, content_type):
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(content_type)


@pytest.mark.parametrize("name", ["index.html", "shoes.html", "site.css", "site.js"])
def test_no_external_resources(name):
    text = (SITE_DIR / name).read_text(encoding="utf-8")
    assert re.search(r"(src|href)=\"(https?:)?//", text) is None
    assert re.search(r"url\(|@import", text) is None


def test_segment_names_match_the_demo_config(client):
    config = tomllib.loads((resources.files("edge") / "demo.toml").read_text(encoding="utf-8"))
    expected = {str(s["sid"]): s["name"] for s in config["segments"]}
    assert client.get("/segments.json").json() == expected


def test_every_banner_names_a_known_segment(client):
    names = client.get("/segments.json").json()
    banners = client.get("/banners.json").json()
    assert banners
    assert all(str(b["sid"]) in names and b["text"] for b in banners)


def test_names_and_banners_can_be_overridden():
    app = create_site(segment_names={7: "Seven"}, banners=[(7, "Lucky you")])
    c = Client(app)
    assert c.get("/segments.json").json() == {"7": "Seven"}
    assert c.get("/banners.json").json() == [{"sid": 7, "text": "Lucky you"}]
    assert c.get("/shoes.html").status_code == 200


def test_other_root_folder(tmp_path):
    (tmp_path / "index.html").write_text("<p>other</p>")
    c = Client(create_site(tmp_path))
    assert c.get("/").text == "<p>other</p>"
    assert c.get("/shoes.html").status_code == 404
