"""The fast paths taken for performance give exactly what the plain code gave (no timing here)."""

from __future__ import annotations

import asyncio
import collections
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from wechatpay_chain import BaseURL, Handler, Middleware, MiddlewareStack, Request, Response, TemplateError
from wechatpay_chain._chain.template import encode_query, parse, quote_component
from wechatpay_chain._hazmat import nonce

BASE62 = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


@given(st.text())
def test_quote_fast_path_matches_urllib(text: str) -> None:
    assert quote_component(text) == quote(text, safe="")


@given(st.text(min_size=1).filter(lambda t: t not in (".", "..")))
def test_expansion_encodes_a_value_as_one_segment(value: str) -> None:
    assert parse("v3/a/{x}/b").expand({"x": value}) == "v3/a/" + quote(value, safe="") + "/b"


def test_expansion_still_names_a_missing_or_unknown_placeholder() -> None:
    template = parse("v3/a/{out_trade_no}/{sub_mchid}")
    with pytest.raises(TemplateError, match=r"missing \{sub_mchid\}"):
        template.expand({"out_trade_no": "1"})
    with pytest.raises(TemplateError, match="did you mean 'sub_mchid'"):
        template.expand({"out_trade_no": "1", "sub_mchid": "2", "sub_mchd": "3"})


@pytest.mark.parametrize(
    ("inline", "query", "expected"),
    [
        ("", {"mchid": "1900000109"}, "mchid=1900000109"),
        ("", {"a b": "c/d", "e": [1, True, None]}, "a%20b=c%2Fd&e=1&e=true"),
        ("mchid=1&x=2", {"mchid": "3"}, "x=2&mchid=3"),
        ("x=2", [("k", "v")], "x=2&k=v"),
        ("x=2", None, "x=2"),
    ],
)
def test_query_encoding(inline: str, query: Any, expected: str) -> None:
    assert encode_query(inline, query) == expected


def test_nonce_draws_every_base62_character_about_equally() -> None:
    counts = collections.Counter("".join(nonce() for _ in range(2000)))
    assert set(counts) == BASE62
    expected = 2000 * 32 / 62
    assert all(0.8 * expected < n < 1.2 * expected for n in counts.values())
    assert {len(nonce(n)) for n in (1, 31, 32, 100)} == {1, 31, 32, 100}


async def test_middlewares_still_run_in_order_around_the_transport() -> None:
    seen: list[str] = []

    async def transport(request: Request) -> Response:
        seen.append("transport")
        await asyncio.sleep(0)
        return Response(200, CIMultiDictProxy(CIMultiDict()), b"", request)

    def named(name: str) -> Middleware:
        async def middleware(request: Request, call_next: Handler) -> Response:
            seen.append(name + " in")
            response = await call_next(request)
            seen.append(name + " out")
            return response

        return middleware

    stack = MiddlewareStack(transport)
    stack.append("b", named("b"))
    stack.prepend("a", named("a"))
    request = Request("GET", BaseURL.parse("http://x/"), "v3/x", "", "v3/x", CIMultiDict())
    response = await stack(request)
    assert response.request is request
    assert seen == ["a in", "b in", "transport", "b out", "a out"]
