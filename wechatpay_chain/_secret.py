"""Secrets held by the package (the APIv3 and APIv2 keys) in a type that never shows its value."""

from __future__ import annotations

from ._errors import ConfigurationError


class Secret:
    """Key bytes that no repr, str, log line or `vars()` of their holder reveals; `reveal()` hands them out."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    @classmethod
    def of(cls, value: object, *, name: str, length: int) -> Secret | None:
        """A Secret from a str or bytes of exactly `length` characters (None stays None)."""
        if value is None or isinstance(value, Secret):
            return value
        if isinstance(value, str):
            try:
                value = value.encode("ascii")
            except UnicodeEncodeError:
                raise ConfigurationError(f"{name} must be ASCII (letters and digits)") from None
        if not isinstance(value, (bytes, bytearray)):
            raise ConfigurationError(f"{name} must be a str or bytes, got {type(value).__name__}")
        if len(value) != length:
            raise ConfigurationError(
                f"{name} must be the {length}-character key set in the merchant platform (got {len(value)} characters)"
            )
        return cls(bytes(value))

    def reveal(self) -> bytes:
        """The key itself: pass it straight to the primitive that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('<redacted>')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
