"""The chaos addon on flows (route specs) and its options."""

from __future__ import annotations

import asyncio

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons

from addons.chaos import FIRED, EdgeChaos
from edge.chaos import GARBAGE

from ._flows import dcs_flow


def _run(specs: list[str], path: str = "/event?d_rtbd=json"):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        chaos = EdgeChaos()
        with taddons.context(chaos) as tctx:
            tctx.configure(chaos, edge_chaos=specs, edge_chaos_seed=1)
            f = dcs_flow(path)
            f.response = None
            f.comment = "visitor x"
            await chaos.request(f)
            if f.response is None and f.error is None:
                f.response = dcs_flow().response
            chaos.response(f)
            return f

    return asyncio.run(main())


def test_error_answers_from_the_edge_and_marks_the_flow() -> None:
    f = _run(["route:/event:error=503"])
    assert f.response.status_code == 503
    assert f.marked == ":fire:"
    assert f.comment == "chaos route:/event:error=503 | visitor x"
    assert f.metadata[FIRED]["specs"] == ["route:/event:error=503"]


def test_reset_kills_the_flow() -> None:
    f = _run(["route:/event:reset"])
    assert f.response is None and f.error is not None and f.error.msg == "Connection killed."


def test_garbage_replaces_the_answer_body() -> None:
    f = _run(["route:/event:garbage"])
    assert f.response.status_code == 200 and f.response.content == GARBAGE


@pytest.mark.parametrize(
    "specs",
    [["route:/ibs:error=503"], ["provider:acme:error=503"], ["route:/event:error=503,p=0"], []],
)
def test_specs_that_do_not_apply_leave_the_flow_alone(specs: list[str]) -> None:
    f = _run(specs)
    assert f.response.status_code == 200 and f.response.content != GARBAGE
    assert not f.marked and FIRED not in f.metadata


def test_a_bad_spec_is_an_options_error_and_keeps_the_old_rules() -> None:
    chaos = EdgeChaos()
    with taddons.context(chaos) as tctx:
        tctx.configure(chaos, edge_chaos=["route:/event:reset"])
        with pytest.raises(exceptions.OptionsError, match="unknown effect"):
            tctx.configure(chaos, edge_chaos=["route:/event:boom"])
        assert chaos.chaos.decide("route", "/event") is not None


def test_the_provider_client_follows_the_current_rules() -> None:
    from tests.enrich._support import config, provider

    chaos = EdgeChaos()

    async def main() -> list[int]:
        with taddons.context(chaos) as tctx:
            client = chaos.client_for(config(provider("acme", 1001)))
            tctx.configure(chaos, edge_chaos=["provider:acme:error=502"])
            first = await client.post("http://acme.test/v1")
            await client.aclose()
            return [first.status_code]

    assert asyncio.run(main()) == [502]
