"""Issue 7 item 9 in the browser: every control has an accessible name, the keyboard reaches the
controls with a visible focus indicator, and the pages still fit at 200 % zoom."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import log_in

PAGES = {
    "inm.officer": ["/", "/cases", "/cases/new", "/cases/import", "/flights", "/flights/new", "/planning",
                    "/estadisticas"],
    "saime.officer": ["/", "/verification", "/flights"],
    "carrier.officer": ["/", "/flights"],
    "op.officer": ["/reintegration/returnees", "/reintegration/opportunities", "/reintegration/opportunities/new",
                   "/reintegration/matching", "/reintegration/placements", "/reintegration/follow-ups"],
    "monitor.viewer": ["/monitor", "/audit"],
}

# Controls a person can use, and those without a name a screen reader could read out.
UNNAMED_CONTROLS = """() => {
  const controls = [...document.querySelectorAll('input, select, textarea, button')]
    .filter(el => el.type !== 'hidden' && el.offsetParent !== null);
  const named = el => {
    if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.title) return true;
    if (el.labels && [...el.labels].some(l => l.textContent.trim())) return true;
    if (el.tagName === 'BUTTON' || ['submit', 'button'].includes(el.type)) return (el.textContent || el.value).trim();
    return false;
  };
  return controls.filter(el => !named(el)).map(el => el.outerHTML.slice(0, 120));
}"""

FOCUS_VISIBLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0
    || style.boxShadow !== 'none';
}"""


@pytest.mark.browser
@pytest.mark.parametrize("username", sorted(PAGES))
def test_controls_are_named_keyboard_focus_is_visible_and_pages_fit_at_200_percent(
        page: Page, username: str) -> None:
    log_in(page, username)
    for path in PAGES[username]:
        page.set_viewport_size({"width": 1280, "height": 900})
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert page.evaluate(UNNAMED_CONTROLS) == [], path
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUS_VISIBLE) is not False, f"{path}: the focused control shows no focus indicator"
        # 200 % zoom on a 1280-pixel laptop screen is a 640-pixel-wide layout viewport.
        page.set_viewport_size({"width": 640, "height": 450})
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow} px at 200 % zoom"
