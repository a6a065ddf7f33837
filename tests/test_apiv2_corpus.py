"""All 126 APIv2 endpoints of the corpus: built, signed, sent over the emulator's HTTPS, authenticated, answered.

Each endpoint is stubbed on the emulator's APIv2 wire, so the emulator authenticates the request
(merchant, nonce, sign_type, sign of either type, the merchant certificate where it is needed)
before the stub answers; the client then verifies the signed answer. The calls rotate through the
three calling styles and pass what the documented example passes (security, nonceless, base_uri,
headers, timeout, query; sink as a download; the upload through Client.upload).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any

import pytest

from wechatpay_chain import ApiError, Chain, Client
from wechatpay_chain._v2 import endpoints
from wechatpay_chain.testing import Answer, Emulator, Incoming

CORPUS = Path(__file__).with_name("data") / "endpoints.jsonl"
V2 = [
    row
    for line in CORPUS.read_text(encoding="utf-8").splitlines()
    if (row := json.loads(line))["template"].startswith("v2/")
]
# The corpus writes three placeholders where the catalogue documents these path segments.
SEGMENTS = {
    "addinstitutionsub": "addInstitutionsub",
    "modifyinstitutionsub": "modifyInstitutionsub",
    "queryinstitutionsub": "queryInstitutionsub",
}
APPID = "wxd678efh567hg6787"
pytestmark = pytest.mark.wechatpay_emulator(tls=True)


def test_the_corpus_has_126_apiv2_endpoints() -> None:
    assert len(V2) == 126


def test_the_certificate_list_is_the_corpus_security_examples() -> None:
    # The package's list comes from the catalogue (tools/v2_endpoints.py); the doc site's examples
    # pass security => true on exactly those calls.
    secured = set()
    for row in V2:
        if "security" in row["example_args"]:
            path = row["template"].removeprefix("v2/")
            for name, segment in SEGMENTS.items():
                path = path.replace("{" + name + "}", segment)
            secured.add(path)
    assert secured == endpoints.CERTIFICATE
    nonceless = {row["template"].removeprefix("v2/") for row in V2 if "nonceless" in row["example_args"]}
    assert {p for p in nonceless if "{" not in p} <= endpoints.NONCELESS


def node_for(client: Client, row: dict[str, Any], style: int) -> Chain:
    template = row["template"]
    if style == 0:
        node: Chain = functools.reduce(getattr, row["attr_chain"].split("->"), client)  # type: ignore[assignment]
        return node
    return client.chain(template) if style == 1 else client[template]


async def send(client: Client, emulator: Emulator, row: dict[str, Any], style: int, tmp_path: Path) -> str:
    """Call the endpoint as its documented example does; returns what proves the answer was verified."""
    args = set(row["example_args"])
    values = {name: SEGMENTS[name] for name in row["placeholders"]}
    fields: dict[str, Any] = {"mch_id": client.mchid, "appid": APPID}
    if row["template"] == "v2/secapi/mch/uploadmedia":
        answer = await client.upload(row["template"], b"\xff\xd8 a picture", filename="id.jpg", meta=fields)
        return str(answer.xml()["echo"])
    if "sink" in args:  # bills: streamed to a file (the family answers; a bill is never signed)
        day = (dt.date.today() - dt.timedelta(days=2)).strftime("%Y%m%d")
        kind = {"bill_type": "ALL"} if row["template"].endswith("downloadbill") else {"account_type": "Basic"}
        done = await client.download(row["template"], tmp_path / "bill.csv", xml={**fields, "bill_date": day, **kind})
        return "bill" if done.size > 1000 else "empty"
    options: dict[str, Any] = {"security": True} if "security" in args else {}
    if "nonceless" in args:
        options["nonceless"] = True
    if "base_uri" in args:
        options["base_url"] = emulator.base_url  # the example's other host, here the emulator
    if "headers" in args:
        options["headers"] = {"X-Trace": "1"}
    if "timeout" in args:
        options["timeout"] = 10
    if row["method"] == "GET":
        options["query"] = fields
    else:
        options["xml"] = fields
        if "query" in args:
            options["query"] = {"action": "query"}
    call = getattr(node_for(client, row, style), row["method"].lower())
    response = await call(**options, **values)
    return str(response.xml()["echo"])


async def test_every_apiv2_endpoint_is_signed_sent_authenticated_and_verified(
    emulator: Emulator, client: Client, tmp_path: Path
) -> None:
    def echo(incoming: Incoming) -> Answer:
        return Answer(200, {"result_code": "SUCCESS", "echo": incoming.path})

    for row in V2:
        if "sink" not in row["example_args"]:
            emulator.stub(row["method"], row["template"], echo)
    outcomes = {}
    for number, row in enumerate(V2):
        outcomes[row["template"]] = await send(client, emulator, row, number % 3, tmp_path)
    assert len(outcomes) == 126
    for row in V2:
        template = row["template"]
        expected = "bill" if "sink" in row["example_args"] else "/" + template.removeprefix("v2/")
        for name, segment in SEGMENTS.items():
            expected = expected.replace("{" + name + "}", segment)
        assert outcomes[template] == expected, template
    assert len(emulator.received) == 126
    assert all("Authorization" not in r.headers for r in emulator.received)  # APIv2 signs in the body


async def test_a_wrong_apiv2_key_fails_the_authenticator(emulator: Emulator) -> None:
    # The same calls with another key are refused as WeChat Pay refuses them: the authenticator is real.
    client = emulator.client(apiv2_key="0" * 32)
    posts = [row for row in V2 if row["method"] == "POST" and not row["placeholders"]][::10]
    for row in posts:
        with pytest.raises(ApiError) as caught:
            await client[row["template"]].post(xml={"mch_id": client.mchid}, security=True)
        assert caught.value.return_msg == "签名错误", row["template"]
    assert len(posts) == len(emulator.received) > 10
