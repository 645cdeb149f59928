"""alexnet_lib.display: recording numbers for the book's pages."""

from __future__ import annotations

from alexnet_lib import display


def test_record_returns_its_text_and_needs_no_book():
    # outside a book build it records nothing, and it returns nothing, so a call that ends a
    # cell prints nothing under it
    assert display.record("a_key", "12.5%") is None
