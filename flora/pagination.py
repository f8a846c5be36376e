"""Cursor pagination: a page of items that knows how to fetch the next one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["CursorPage"]

T = TypeVar("T")


class CursorPage(Generic[T]):
    """One page of a cursor-paginated list.

    Iterating a page yields every item of this page and of the pages after it.
    """

    def __init__(
        self,
        *,
        items: list[T],
        next_cursor: str | None,
        total_estimate: float | None,
        cursor: str | None,
        fetch: Callable[[str], CursorPage[T]],
    ) -> None:
        self.items = items
        self.next_cursor = next_cursor
        self.total_estimate = total_estimate
        # The cursor this page was fetched with (None for the first page).
        self.cursor = cursor
        self._fetch = fetch

    def has_next_page(self) -> bool:
        # A server that hands back the cursor it was just given would loop forever.
        return bool(self.next_cursor) and self.next_cursor != self.cursor

    def get_next_page(self) -> CursorPage[T]:
        """Fetch the page after this one, with the same filters."""
        if not self.has_next_page():
            raise RuntimeError("No next page: check has_next_page() first.")
        assert self.next_cursor is not None
        return self._fetch(self.next_cursor)

    next_page = get_next_page

    def iter_pages(self) -> Iterator[CursorPage[T]]:
        """This page, then each following page, stopping if a cursor repeats."""
        page = self
        seen = {self.cursor} if self.cursor else set()
        while True:
            yield page
            if not page.has_next_page() or page.next_cursor in seen:
                return
            assert page.next_cursor is not None
            seen.add(page.next_cursor)
            page = page.get_next_page()

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.items

    def __repr__(self) -> str:
        return (
            f"CursorPage(items={len(self.items)}, next_cursor={self.next_cursor!r}, "
            f"total_estimate={self.total_estimate!r})"
        )
