"""Server text in errors is escaped: a line break or terminal escape in an answer cannot forge a log line.

ApiError carries the server's code and message; a TransportError may carry aiohttp's description
of a broken answer, which quotes the bytes received.
"""

from __future__ import annotations

import logging

import pytest

from benchmarks.reliability.raw_http import answering
from wechatpay_chain import ApiError, Client, TransportError
from wechatpay_chain.testing import Answer, Credentials, Emulator

FORGED = "bad request\n2024-06-01 12:00:00 INFO payment 1217752501 succeeded\r\x1b[2K\u2028\u202e"


@pytest.mark.parametrize(
    "answer",
    [
        Answer(400, {"code": "PARAM_ERROR", "message": FORGED}),
        Answer(400, {"code": "PARAM\nERROR", "message": "x"}),
        Answer(502, FORGED.encode()),  # not JSON: the body's text stands in for the message
        Answer(400, {"code": "X", "message": "private use \ue000, unassigned \U000e0080, zero width \u200b"}),
    ],
    ids=["message", "code", "a non-JSON body", "code points no terminal shows"],
)
async def test_control_characters_of_an_error_answer_are_escaped(
    emulator: Emulator, client: Client, caplog: pytest.LogCaptureFixture, answer: Answer
) -> None:
    emulator.stub("GET", "v3/things", answer)
    with caplog.at_level(logging.INFO, "wechatpay_chain"), pytest.raises(ApiError) as caught:
        await client["v3/things"].get()
    text = str(caught.value)
    assert text.isprintable(), text
    assert "\\n" in text or "\\ue000" in text
    for record in caplog.records:
        assert record.getMessage().isprintable(), record.getMessage()


async def test_the_fields_keep_what_the_server_sent(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", "v3/things", Answer(400, {"code": "PARAM_ERROR", "message": "第一行\n第二行"}))
    with pytest.raises(ApiError) as caught:
        await client["v3/things"].get()
    assert caught.value.message == "第一行\n第二行"  # the data as sent; only the text is escaped
    assert str(caught.value).startswith("HTTP 400 PARAM_ERROR: 第一行\\n第二行 (Request-ID: ")


async def test_a_transport_error_quoting_a_broken_answer_is_one_line(credentials: Credentials) -> None:
    async with answering(b"\x1b[31mHTTP/1.1 200 OK\nINFO forged line\r\n\r\n") as url:
        client = Client(
            credentials.mchid,
            credentials.serial,
            credentials.merchant_key,
            {credentials.public_key_id: credentials.public_key.public_key()},
            base_url=url,
        )
        with pytest.raises(TransportError) as caught:
            await client["v3/things"].get()
        await client.close()
    assert str(caught.value).isprintable(), str(caught.value)
