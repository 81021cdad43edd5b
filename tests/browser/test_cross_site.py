"""In real Chromium: a link on another site to a page of Retorno opens, with the official's login, only a page that
says so and links to it; the official's own click opens the page (red team round 43, L1: such a link recorded a read
of protection data in the official's name)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Served, log_in, served_api

pytestmark = pytest.mark.browser


def test_a_link_from_another_site_opens_the_page_only_by_the_official_s_own_click(page: Page, server: Served) -> None:
    with served_api(server, ("inm.officer",)) as api:
        ref = api.register(given_names="Elena")["reference"]
        api.screen(ref, ["pending_asylum_claim"])
    log_in(page, "inm.supervisor")
    target = f"{server}/cases/{ref}?protection=1"
    # Another site (served by the browser's own router): a page with a link to the protection record.
    page.route("http://elsewhere.test/**", lambda route: route.fulfill(
        content_type="text/html", body=f'<a id="go" href="{target}">un caso</a>'))
    page.goto("http://elsewhere.test/")
    page.click("#go")
    expect(page.locator("h1")).to_have_text("Enlace de otro sitio")
    expect(page.locator("main")).not_to_contain_text("Elena")
    page.click("#cross-site-target")
    expect(page.locator("h1")).to_contain_text(ref)
    expect(page.locator("main")).to_contain_text("solicitud de asilo o protección pendiente")
