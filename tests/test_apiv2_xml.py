"""APIv2's XML: written so that what is read back is what was signed, read safely (no DTD, no entities, bounded)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wechatpay_chain import ConfigurationError, XmlDict, XmlError
from wechatpay_chain._config import XML_DEPTH, XML_ELEMENTS, XML_LIMIT
from wechatpay_chain._v2.xml import dumps, loads, looks_like_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<xml><return_code>&lol3;</return_code></xml>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><return_code>SUCCESS</return_code><return_msg>&secret;</return_msg></xml>"""
PARAMETER_ENTITY = b"""<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]><xml/>"""
BARE_DOCTYPE = b"<!DOCTYPE xml><xml><a>1</a></xml>"
# The shape of WeChat Pay's own answers: CDATA everywhere.
ANSWER = (
    b"<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg>"
    b"<appid><![CDATA[wx2421b1c4370ec43b]]></appid><result_code><![CDATA[SUCCESS]]></result_code>"
    b"<prepay_id><![CDATA[wx201411101639507cbf6ffd8b0779950874]]></prepay_id>"
    b'<detail><![CDATA[{"goods_detail":[{"goods_id":"a<b&c","quantity":1}]}]]></detail></xml>'
)


def test_wechat_pay_answers_are_read_with_cdata_and_json_fields() -> None:
    fields = loads(ANSWER)
    assert isinstance(fields, XmlDict)
    assert fields["return_code"] == "SUCCESS" and fields["prepay_id"].startswith("wx2014")
    assert fields.json("detail") == {"goods_detail": [{"goods_id": "a<b&c", "quantity": 1}]}
    with pytest.raises(XmlError) as caught:
        fields.json("appid")
    assert caught.value.check == "json"


@pytest.mark.parametrize(
    ("document", "check"),
    [
        (BILLION_LAUGHS, "doctype"),
        (XXE, "doctype"),
        (PARAMETER_ENTITY, "doctype"),
        (BARE_DOCTYPE, "doctype"),
        (b"<xml><a>&undefined;</a></xml>", "syntax"),
        (b"<xml><a>1</a>", "syntax"),
        (b"not xml at all", "syntax"),
        (b"", "syntax"),
        (b"<xml><a>1</a></xml><xml/>", "syntax"),
    ],
    ids=[
        "billion-laughs",
        "xxe",
        "parameter-entity",
        "doctype",
        "undefined-entity",
        "unclosed",
        "text",
        "empty",
        "two-roots",
    ],
)
def test_hostile_or_broken_documents_are_refused_with_a_typed_error(document: bytes, check: str) -> None:
    with pytest.raises(XmlError) as caught:
        loads(document)
    assert caught.value.check == check
    assert isinstance(caught.value, ValueError)  # and a WechatpayError


def test_sizes_are_bounded() -> None:
    with pytest.raises(XmlError) as caught:
        loads(b"<xml><a>" + b"x" * XML_LIMIT + b"</a></xml>")
    assert caught.value.check == "size"
    deep = b"<a>" * (XML_DEPTH + 1) + b"</a>" * (XML_DEPTH + 1)
    with pytest.raises(XmlError) as caught:
        loads(deep)
    assert caught.value.check == "depth"
    loads(b"<a>" * XML_DEPTH + b"</a>" * XML_DEPTH)  # the limit itself is fine
    wide = b"<xml>" + b"<a/>" * XML_ELEMENTS + b"</xml>"
    with pytest.raises(XmlError) as caught:
        loads(wide)
    assert caught.value.check == "elements"


def test_nested_and_repeated_elements() -> None:
    fields = loads(
        b"<xml><hblist><hbinfo><openid>o1</openid></hbinfo><hbinfo><openid>o2</openid></hbinfo></hblist></xml>"
    )
    assert fields == {"hblist": {"hbinfo": [{"openid": "o1"}, {"openid": "o2"}]}}
    assert loads(dumps(fields, nested=True)) == fields  # the emulator's nested answers are written back so
    assert loads(dumps(fields))["hblist"] == '{"hbinfo":[{"openid":"o1"},{"openid":"o2"}]}'  # a caller's: JSON


def test_writing_escapes_and_keeps_the_order_given() -> None:
    body = dumps({"b": "x<y&z>", "a": 1, "skip": None, "detail": {"k": ["v"]}, "crlf": "1\r\n2"})
    assert body == (b'<xml><b>x&lt;y&amp;z&gt;</b><a>1</a><detail>{"k":["v"]}</detail><crlf>1&#13;\n2</crlf></xml>')
    assert loads(body) == {"b": "x<y&z>", "a": "1", "detail": '{"k":["v"]}', "crlf": "1\r\n2"}


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"total_fee": 1.5}, "amount in fen"),
        ({"is_subscribe": True}, "'Y'/'N'"),
        ({"bad name": "x"}, "element name"),
        ({"1x": "x"}, "element name"),
        ({"body": "a\x00b"}, "control character"),
        ({"body": object()}, "takes str, int"),
    ],
)
def test_what_xml_cannot_carry_is_refused_before_io(fields: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        dumps(fields)


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True),
        st.text(
            st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\ufffe\uffff"), max_size=40
        ).filter(lambda t: not any(ord(c) < 32 and c not in "\t\n\r" for c in t)),
        max_size=8,
    )
)
def test_any_text_written_is_read_back_as_it_was(fields: dict[str, str]) -> None:
    assert loads(dumps(fields)) == {name: value for name, value in fields.items()}


def test_what_looks_like_an_xml_answer() -> None:
    assert looks_like_xml(b"  <xml><a/></xml>") and looks_like_xml(b'<?xml version="1.0"?><xml/>')
    assert (
        not looks_like_xml(b"\xef\xbb\xbf<html>")
        and not looks_like_xml(b"`2024-06-01,`wx")
        and not looks_like_xml(b"{}")
    )
