"""Helpers the browser tests share."""

from playwright.sync_api import Page, expect


def htmx_settled(page: Page) -> None:
    """Wait until htmx has no request in flight and nothing left to settle.

    A person never clicks within the moment in which htmx wires up content it
    has just swapped in, or while a refresh it triggered is still on its way; a
    test does, and on a busy machine such clicks landed on stale or unwired
    links. Call it after a step that swaps part of the page.
    """
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
