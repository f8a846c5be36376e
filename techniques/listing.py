"""The catalog as a person asked for it: searched, filtered, sorted, and one page of that.

    asked = CatalogQuery.from_params(request.GET)      # bad values fall back, never raise
    shown = asked.apply(catalog.techniques)            # every match, in order
    page = shown[asked.start : asked.start + PAGE_SIZE]

Everything here works on the whole list that techniques.services walked from FLORA, so a
filter finds the matches on FLORA's last page as well as on its first, and "Load more"
continues the filtered, sorted list by position (`start`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flora import Technique
from techniques.services import MAX_QUERY_LENGTH, MEDIA_FILTERS

__all__ = ["DEFAULT_SORT", "SORTS", "CatalogQuery"]

# URL value -> the words of the sort choice.
SORTS: dict[str, str] = {
    "name": "Name, A to Z",
    "price-low": "Price, low to high",
    "price-high": "Price, high to low",
}
DEFAULT_SORT = "name"
# ASCII digits only (int() also reads "１２", isdigit() also passes "²"), and at most six:
# far past any catalog the walk can hold (WALK_PAGES pages of 100).
_START = re.compile(r"[0-9]{1,6}")


def _name_key(technique: Technique) -> tuple[str, str]:
    # Ties (two techniques of one name) are broken by id, so every page is cut the same way.
    return (technique.name.casefold(), technique.technique_id)


def _price_key(sign: int) -> Callable[[Technique], tuple[Any, ...]]:
    def key(technique: Technique) -> tuple[Any, ...]:
        cost = technique.run_cost
        # An unknown price (FLORA sent no number) goes last in either direction.
        return (cost is None, sign * (cost or 0.0), *_name_key(technique))

    return key


_SORT_KEYS: dict[str, Callable[[Technique], tuple[Any, ...]]] = {
    "name": _name_key,
    "price-low": _price_key(1),
    "price-high": _price_key(-1),
}


def _clean_query(raw: str) -> str:
    return " ".join(raw.split())[:MAX_QUERY_LENGTH]


def _clean_start(raw: str) -> int:
    raw = raw.strip()
    return int(raw) if _START.fullmatch(raw) else 0


@dataclass(frozen=True)
class CatalogQuery:
    query: str = ""
    takes: str = ""
    makes: str = ""
    sort: str = DEFAULT_SORT
    # Position of the first card to show in the filtered, sorted list.
    start: int = 0

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> CatalogQuery:
        """Read the query string; an unknown filter or sort, or a start that is no small
        whole number, falls back to the default (a hand-edited link is no error page)."""

        def choice(name: str, allowed: Iterable[str], default: str = "") -> str:
            value = params.get(name, "")
            return value if value in allowed else default

        return cls(
            query=_clean_query(params.get("q", "")),
            takes=choice("takes", MEDIA_FILTERS),
            makes=choice("makes", MEDIA_FILTERS),
            sort=choice("sort", SORTS, DEFAULT_SORT),
            start=_clean_start(params.get("start", "")),
        )

    @property
    def filtering(self) -> bool:
        return bool(self.query or self.takes or self.makes)

    def params(self) -> dict[str, str]:
        """The query string of this listing's first page (defaults left out)."""
        values = {"q": self.query, "takes": self.takes, "makes": self.makes}
        if self.sort != DEFAULT_SORT:
            values["sort"] = self.sort
        return {name: value for name, value in values.items() if value}

    def matches(self, technique: Technique) -> bool:
        # Every word, in any order, in the name or description (as FLORA's own search).
        if self.query:
            text = f"{technique.name} {technique.description or ''}".casefold()
            if not all(word in text for word in self.query.casefold().split()):
                return False
        if self.takes and MEDIA_FILTERS[self.takes] not in {io.type for io in technique.inputs}:
            return False
        return not self.makes or MEDIA_FILTERS[self.makes] in {io.type for io in technique.outputs}

    def apply(self, techniques: Iterable[Technique]) -> list[Technique]:
        """Every matching technique, in the chosen order."""
        return sorted((t for t in techniques if self.matches(t)), key=_SORT_KEYS[self.sort])
