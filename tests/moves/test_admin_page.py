"""The moves admin in Chromium: "Move to…" on the pools page, then live counters until done."""

from __future__ import annotations

import re
from typing import Any

import pytest
import pytest_asyncio

from tests.browser.conftest import browser, login, page  # noqa: F401  (fixtures)
from tests.moves.conftest import Stack

pytestmark = pytest.mark.browser
MOVE_PAGE = re.compile(r".*/admin/moves/\d+$")


# Package scope, so it is arranged before the (module-scoped) browser starts: Playwright's
# sync API runs a loop of its own, and the database lives on the package's loop.
@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def pools(stack: Stack) -> tuple[Any, Any]:
    source, target = await stack.pool("s01"), await stack.pool("s02")
    for _ in range(8):
        await stack.image(source, variants=3)
    return source, target


def test_an_admin_moves_a_pool_from_the_pools_page_and_watches_it_finish(
    page: Any,  # noqa: F811
    stack: Stack,
    pools: tuple[Any, Any],
) -> None:
    source, target = pools
    login(page, "admin")
    page.goto("/admin/pools")
    page.locator(f"tr[data-pool='{source.name}'] a:has-text('Move to…')").click()
    page.select_option("#target", str(target.id))
    page.fill("#images_per_second", "500")
    page.shots("form")
    # The Plan step: counts, the target's share and the preflight, before anything starts.
    page.click("button:has-text('Plan')")
    page.locator("#plan-verdict:has-text('Ready to start')").wait_for()
    assert page.locator("[data-plan=images]").inner_text() == "8"
    assert page.locator("[data-check=target_room][data-ok=yes]").count() == 1
    assert page.locator(f"[data-plan-target='{target.name}']").count() == 1
    assert page.locator("#target").input_value() == str(target.id)  # the choice is kept
    page.shots("plan")
    page.click("button:has-text('Start move')")
    page.wait_for_url(MOVE_PAGE)

    # The fragment polls by itself; the page is never reloaded.
    page.locator("#move-state:has-text('done')").wait_for(timeout=60_000)
    assert page.locator("[data-count=done]").inner_text() == "8"
    assert page.locator("[data-count=failed]").inner_text() == "0"
    assert page.locator("[data-count=left]").inner_text() == "0"
    assert float(page.locator("[data-count=rate]").inner_text()) > 0
    assert page.locator("#move-progress[hx-trigger]").count() == 0  # polling stopped
    page.shots("done")
    page.goto("/admin/moves")
    assert f"{source.name} → {target.name}" in page.locator("#moves-table").inner_text()
