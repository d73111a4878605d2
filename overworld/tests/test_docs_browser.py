"""/api/docs/ in a real browser: Debian's headless Chromium driven by Playwright.

The page must draw every documented route from assets the project serves itself (any request to
another host fails the test) and register a user through Swagger UI's "Try it out".
Screenshots land in build/screenshots/ (not committed).
"""

import json
from urllib.parse import urlsplit

import pytest
from rest_framework import status
from rest_framework.test import APIClient

from overworld.tests.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from users.models import User


@pytest.mark.live
def test_docs_page_lists_every_route_and_registers_a_user(live_server, sync_playwright, tmp_path):
    openapi = json.loads(APIClient().get("/api/schema/", {"format": "json"}).content)
    documented = {
        (method.upper(), path) for path, ops in openapi["paths"].items() for method in ops
    }
    origin = urlsplit(live_server.url).netloc
    foreign = []

    def only_this_server(route):
        if urlsplit(route.request.url).netloc == origin:
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # The ORM is not touched inside this block: Playwright's sync API runs an event loop, and
    # Django refuses database calls from a thread that has one.
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",  # a fresh profile every run
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1400},
        )
        try:
            context.route("**/*", only_this_server)
            page = context.new_page()
            page.goto(f"{live_server.url}/api/docs/")
            page.wait_for_selector(".opblock .opblock-summary-path", timeout=15_000)
            listed = {
                (method.strip(), path)
                for method, path in page.eval_on_selector_all(
                    ".opblock",
                    """blocks => blocks.map(block => [
                        block.querySelector('.opblock-summary-method').textContent,
                        block.querySelector('.opblock-summary-path').dataset.path,
                    ])""",
                )
            }
            page.screenshot(path=SCREENSHOTS / "swagger-ui.png", full_page=True)

            register = page.locator("#operations-users-register")
            register.locator(".opblock-summary").click()
            register.get_by_role("button", name="Try it out").click()
            register.locator("textarea.body-param__text").fill(
                json.dumps(
                    {
                        "username": "theo",
                        "email": "theo@example.com",
                        "password": "selfie-summit-42",
                    }
                )
            )
            register.locator("button.execute").click()
            live = register.locator(".live-responses-table tbody .response")
            live.locator(".response-col_status").wait_for(timeout=15_000)
            answered_status = live.locator(".response-col_status").inner_text().strip()
            answered_body = live.locator(".response-col_description pre").first.inner_text()
            register.scroll_into_view_if_needed()
            register.screenshot(path=SCREENSHOTS / "swagger-ui-register.png")
        finally:
            context.close()

    assert foreign == []
    assert listed == documented
    assert answered_status == "200"
    answer = json.loads(answered_body)
    assert answer["user"]["username"] == "theo"
    user = User.objects.get(username="theo")
    assert answer["user"] == {"id": user.pk, "username": "theo", "email": "theo@example.com"}
    # The token Swagger UI got back works.
    client = APIClient(HTTP_AUTHORIZATION=f"Token {answer['token']}")
    assert client.get("/api/users/user/").status_code == status.HTTP_200_OK


def test_docs_page_assets_are_local(client):
    response = client.get("/api/docs/")
    assert response.status_code == status.HTTP_200_OK
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "https://" not in page and "http://" not in page


@pytest.mark.django_db
def test_docs_assets_served_by_whitenoise_with_debug_off(settings, tmp_path):
    # What scripts/serve.sh does in production: collectstatic, then whitenoise serves the files.
    from django.core.management import call_command
    from django.test import Client

    assert settings.DEBUG is False
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", "--noinput", verbosity=0)
    client = Client()  # a new handler: whitenoise indexes the new STATIC_ROOT when it starts
    bundle = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    response = client.get(bundle)
    assert response.status_code == status.HTTP_200_OK
    assert response["Content-Type"].startswith("text/javascript")
