"""APIv2's XML: `<xml><name>value</name>…</xml>` written from a mapping and read back safely.

Reading refuses what a WeChat Pay document never holds and an attacker would send: a DOCTYPE,
entity declarations (XXE, "billion laughs"), more than `XML_LIMIT` bytes, `XML_DEPTH` levels or
`XML_ELEMENTS` elements. Writing escapes every value, so the text a server reads back is the
text that was signed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.parsers import expat

import orjson

from .._config import XML_DEPTH, XML_ELEMENTS, XML_LIMIT
from .._errors import ConfigurationError, XmlError

ROOT = "xml"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
# XML 1.0 has no way to carry these characters, escaped or not.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# `\r` would come back as `\n` (line-end normalisation) and break the signature: sent as a reference.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


class XmlDict(dict[str, Any]):
    """An APIv2 document's fields: name -> text (a nested element gives an XmlDict, a repeated one a list)."""

    def json(self, name: str) -> Any:
        """A field that holds JSON (the catalogue's `x-json` fields: `detail`, `promotion_detail`…), parsed."""
        value = self[name]
        if not isinstance(value, str):
            raise XmlError(f"field {name!r} is an element, not JSON text", check="json")
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            raise XmlError(f"field {name!r} is not JSON: {value[:80]!r}", check="json") from None


def looks_like_xml(body: bytes) -> bool:
    """Whether an answer is an XML document (rather than a file, a page or JSON)."""
    head = body[:64].lstrip()
    return head.startswith((b"<xml>", b"<xml ", b"<?xml"))


def dumps(fields: Mapping[str, Any], *, root: str = ROOT, nested: bool = False) -> bytes:
    """`<xml><k>v</k>…</xml>` in the mapping's order; None leaves a field out, a dict or list is sent as JSON.

    With `nested=True` (answers that nest, as two APIv2 answers do) an XmlDict value is written as
    nested elements and a list of XmlDicts as repeated ones, as `loads` reads them back.
    ConfigurationError for a name that is not an XML name, a bool or float (say what WeChat Pay
    documents: 'Y', 'true', an amount in fen), or text XML cannot carry.
    """
    return f"<{root}>{_elements(fields, nested)}</{root}>".encode()


def _elements(fields: Mapping[str, Any], nested: bool) -> str:
    parts = []
    for name, value in fields.items():
        if value is None:
            continue
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigurationError(f"xml field name {name!r} is not an XML element name")
        repeated = nested and isinstance(value, list) and value and all(isinstance(v, XmlDict) for v in value)
        for item in value if repeated else [value]:
            if nested and isinstance(item, XmlDict):
                parts.append(f"<{name}>{_elements(item, nested)}</{name}>")
            else:
                parts.append(f"<{name}>{_text(name, item).translate(_ESCAPES)}</{name}>")
    return "".join(parts)


def _text(name: str, value: object) -> str:
    if isinstance(value, (bool, float)):
        raise ConfigurationError(
            f"xml field {name}={value!r}: pass the text WeChat Pay documents "
            "(an amount in fen as an int, 'Y'/'N', 'true')"
        )
    if isinstance(value, (dict, list, tuple)):
        value = orjson.dumps(value).decode()  # the `x-json` fields take JSON text
    elif isinstance(value, int):
        value = str(int(value))
    elif not isinstance(value, str):
        raise ConfigurationError(
            f"xml field {name} takes str, int, or a dict/list sent as JSON; got {type(value).__name__}"
        )
    text = str.__str__(value)
    if _FORBIDDEN.search(text):
        raise ConfigurationError(f"xml field {name} holds a control character XML cannot carry")
    return text


def loads(data: bytes, *, limit: int = XML_LIMIT) -> XmlDict:
    """The fields of an XML document (the root's children); XmlError naming the check that refused it."""
    if len(data) > limit:
        raise XmlError(f"the XML document is {len(data)} bytes, more than the {limit} accepted", check="size")
    reader = _Reader()
    parser = expat.ParserCreate("UTF-8")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = reader.doctype
    parser.EntityDeclHandler = reader.entity
    parser.UnparsedEntityDeclHandler = reader.entity
    parser.ExternalEntityRefHandler = reader.external
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.text
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise XmlError(f"not a well-formed XML document ({expat.errors.messages[exc.code]})", check="syntax") from None
    if reader.root is None:
        raise XmlError("the XML document has no root element", check="syntax")
    return reader.root


class _Reader:
    """expat's handlers: builds the fields element by element, refusing declarations and excess."""

    def __init__(self) -> None:
        self.root: XmlDict | None = None
        self._open: list[tuple[str, XmlDict, list[str], bool]] = []  # name, children, text, has children
        self._count = 0

    def doctype(self, *args: object) -> None:
        raise XmlError("the XML document declares a DOCTYPE, which WeChat Pay never sends: refused", check="doctype")

    def entity(self, *args: object) -> None:
        raise XmlError("the XML document declares an entity (XXE or entity expansion): refused", check="entity")

    def external(self, *args: object) -> int:
        raise XmlError("the XML document refers to an external entity: refused", check="entity")

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self._count += 1
        if self._count > XML_ELEMENTS:
            raise XmlError(f"the XML document has more than {XML_ELEMENTS} elements", check="elements")
        if len(self._open) >= XML_DEPTH:
            raise XmlError(f"the XML document nests deeper than {XML_DEPTH} levels", check="depth")
        if self._open:
            parent = self._open[-1]
            self._open[-1] = (parent[0], parent[1], parent[2], True)
        self._open.append((name, XmlDict(), [], False))

    def text(self, data: str) -> None:
        if self._open:
            self._open[-1][2].append(data)

    def end(self, name: str) -> None:
        _, children, text, nested = self._open.pop()
        value: Any = children if nested else "".join(text)
        if not self._open:
            self.root = children  # the root's own text, if any, is not a field
            return
        siblings = self._open[-1][1]
        if name not in siblings:
            siblings[name] = value
        elif isinstance(siblings[name], list):
            siblings[name].append(value)
        else:
            siblings[name] = [siblings[name], value]
