"""The browser set-up itself: Debian's chromium, the live server, screenshots, axe, the CSP."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_home_page_renders_with_its_own_scripts_under_the_csp(journey):
    response = journey.go("/")

    assert response.status == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    # htmx came from our static files and ran (no CDN, no inline script).
    assert journey.page.evaluate("typeof window.htmx") == "object"
    journey.assert_accessible()
