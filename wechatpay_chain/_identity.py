"""The merchant's identity as every `Authorization` header carries it: checked once, so no value adds a parameter.

`Authorization` quotes `mchid="…"` and `serial_no="…"`; a `"` or a comma in either would inject
parameters of its own. WeChat Pay's merchant ids are digits and certificate serials are hex.
"""

from __future__ import annotations

import re

from ._errors import ConfigurationError

_MCHID = re.compile(r"[0-9]{1,32}")
_SERIAL = re.compile(r"[0-9A-Fa-f]{1,64}")


def check_mchid(value: object, name: str = "mchid") -> str:
    """`value` if it is a merchant id (ASCII digits); ConfigurationError otherwise."""
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name}: the merchant id (商户号) is required, as a str of digits")
    if _MCHID.fullmatch(value) is None:
        raise ConfigurationError(
            f"{name}: a merchant id (商户号) is digits only, such as '1900000109'; got {_shown(value)}"
        )
    return value


def check_serial(value: object, name: str = "serial") -> str:
    """`value` in upper case if it is a certificate serial (hex); ConfigurationError otherwise."""
    if not isinstance(value, str) or not value:
        raise ConfigurationError(
            f"{name}: the merchant API certificate serial (商户API证书序列号) is required, as a str of hex digits"
        )
    if _SERIAL.fullmatch(value) is None:
        raise ConfigurationError(
            f"{name}: a certificate serial (商户API证书序列号) is hex digits only, such as "
            f"'3775B6A45ACD588826D15E583A95F5DD'; got {_shown(value)}"
        )
    return value.upper()


def _shown(value: str) -> str:
    return repr(value[:40]) + ("…" if len(value) > 40 else "")
