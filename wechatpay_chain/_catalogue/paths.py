"""Which documented endpoints a URI template, and then the path it expands to, stand for.

A template's segment is either literal text or holds a placeholder. It can stand for a documented
endpoint when, segment by segment, its literals equal the endpoint's literals or fill the
endpoint's placeholders (`v3/pay/transactions/id/4200…` is `…/id/{transaction_id}`); a segment
with a placeholder can stand for anything. Once the values are in, the path decides, as WeChat
Pay's router does: a literal segment wins over a placeholder.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from urllib.parse import unquote

from .data import Endpoint


def template_segments(template: str) -> tuple[str | None, ...]:
    """A template's path segments, decoded; None for a segment holding a placeholder."""
    path = template.partition("?")[0].lstrip("/")
    return tuple(None if "{" in segment else unquote(segment) for segment in path.split("/"))


def path_segments(path: str) -> tuple[str, ...]:
    """An expanded (percent-encoded) path's segments, decoded."""
    return tuple(unquote(segment) for segment in path.lstrip("/").split("/"))


def specificity(endpoint: Endpoint) -> tuple[bool, ...]:
    """Sorts an endpoint with a literal before those with a placeholder at the first place they differ."""
    return tuple(segment is None for segment in endpoint.segments)


class Index:
    """The endpoints by number of segments, most specific first, for the two lookups."""

    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        self.endpoints = tuple(endpoints)
        self._by_length: dict[int, list[Endpoint]] = {}
        for endpoint in sorted(self.endpoints, key=specificity):
            self._by_length.setdefault(len(endpoint.segments), []).append(endpoint)
        self.candidates = lru_cache(maxsize=2048)(self._candidates)

    def _candidates(self, template: str) -> tuple[Endpoint, ...]:
        """The endpoints (of any method) the template can stand for, most specific first."""
        mine = template_segments(template)
        return tuple(
            endpoint
            for endpoint in self._by_length.get(len(mine), ())
            if all(_fits(given, documented) for given, documented in zip(mine, endpoint.segments, strict=True))
        )

    @staticmethod
    def match(candidates: Sequence[Endpoint], path: str) -> Endpoint | None:
        """The most specific of `candidates` whose segments the expanded path fills, if any."""
        segments = path_segments(path)
        for endpoint in candidates:
            if len(endpoint.segments) == len(segments) and all(
                segment == documented if documented is not None else segment != ""
                for segment, documented in zip(segments, endpoint.segments, strict=True)
            ):
                return endpoint
        return None

    def closest(self, method: str, template: str, count: int = 3) -> list[str]:
        """The documented `METHOD template`s nearest to a mistaken one (its own method first)."""
        import difflib  # only on this error path: it is slow to import

        keys = [endpoint.template for endpoint in self.endpoints]
        near = difflib.get_close_matches(template.partition("?")[0].lstrip("/"), keys, n=count * 2, cutoff=0.6)
        ranked = sorted(
            (e for e in self.endpoints if e.template in near),
            key=lambda e: (near.index(e.template), e.method != method),
        )
        return list(dict.fromkeys(e.key for e in ranked))[:count]


def _fits(given: str | None, documented: str | None) -> bool:
    if given is None:
        return True
    if documented is None:
        return given != ""
    return given == documented
