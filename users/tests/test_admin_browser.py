"""The admin at celebrity scale in a real browser: Debian's headless Chromium via Playwright.

Signs in, opens a celebrity's change page, follows its followers link and removes one follow
with the bulk delete action, as an admin would. Skipped without Chromium/Playwright on a
developer's machine; required in CI (the same switch as overworld/tests/test_docs_browser.py).
"""

import pytest

from overworld.tests.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from users.models import Follow, User
from users.tests.factories import make_user

PASSWORD = "watch-the-summit-42"
FOLLOWERS = 120  # more than one page of the Follow list (100 rows)


@pytest.mark.live
def test_admin_browser_removes_one_of_a_celebritys_followers(
    live_server, sync_playwright, settings, tmp_path
):
    # The live server speaks plain http: cookies marked Secure would not come back.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    make_user(username="root", password=PASSWORD, is_staff=True, is_superuser=True)
    celebrity = make_user(username="celeste")
    fans = User.objects.bulk_create(
        User(username=f"fan{n:03}", email=f"fan{n:03}@example.com", password="!")
        for n in range(FOLLOWERS)
    )
    Follow.objects.bulk_create(Follow(follower=fan, followee=celebrity) for fan in fans)
    change_page = f"/admin/users/user/{celebrity.pk}/change/"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # No ORM inside this block: Playwright's sync API runs an event loop in this thread.
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1000},
        )
        try:
            page = context.new_page()
            page.goto(f"{live_server.url}/admin/login/?next={change_page}")
            page.fill("#id_username", "root")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"**{change_page}")
            page.screenshot(path=SCREENSHOTS / "admin-celebrity.png", full_page=True)

            page.get_by_role("link", name=f"{FOLLOWERS} followers").click()
            page.wait_for_url("**/admin/users/follow/?followee__id__exact=*")
            rows_shown = page.locator("#result_list tbody tr").count()
            first = page.locator("#result_list tbody input.action-select").first
            removed_pk = int(first.get_attribute("value"))
            first.check()
            page.select_option("select[name=action]", "delete_selected")
            page.click("button[name=index]")
            # The confirmation is a POST answer at the same URL: wait for its form, not the URL.
            page.locator("#content form input[name=post]").wait_for(state="attached")
            confirmation = page.locator("#content").inner_text()
            page.click("#content form input[type=submit]")
            page.wait_for_selector(".messagelist .success")
            message = page.locator(".messagelist").inner_text()
            page.screenshot(path=SCREENSHOTS / "admin-follow-removed.png", full_page=True)
        finally:
            context.close()

    assert rows_shown == 100  # one page, not every follower
    assert "Are you sure" in confirmation
    assert "Successfully deleted 1 follow" in message
    assert not Follow.objects.filter(pk=removed_pk).exists()
    assert Follow.objects.filter(followee=celebrity).count() == FOLLOWERS - 1
