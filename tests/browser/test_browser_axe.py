"""axe-core finds no accessibility violation on any page type, in light and dark mode.

axe comes from the npm package pinned in package.json (``make browser`` installs it). The
site's CSP forbids inline scripts, so axe is run through ``page.evaluate``, which the page's
CSP does not govern, instead of an injected ``<script>`` tag.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import ARTIFACTS, Site
from tests.live import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.x A and AA plus axe's best practices (landmarks, one h1, skip link targets).
RUN_ONLY = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make browser` (npm install from package.json)")
    return AXE.read_text(encoding="utf-8")


def run_axe(page: Page, source: str) -> list[dict[str, Any]]:
    page.evaluate(source)
    results: dict[str, Any] = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", RUN_ONLY
    )
    violations: list[dict[str, Any]] = results["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['failureSummary']!r}")
    return "\n".join(lines)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_axe_violations_on_any_page_type(
    site: Site,
    urls: dict[str, str],
    axe_source: str,
    new_context: Callable[..., BrowserContext],
    scheme: str,
) -> None:
    page = new_context(color_scheme=scheme).new_page()
    report: dict[str, list[dict[str, Any]]] = {}
    for name, path in urls.items():
        page.goto(site(path))
        violations = run_axe(page, axe_source)
        if violations:
            report[f"{name} {path}"] = violations
    ARTIFACTS.mkdir(exist_ok=True)
    Path(ARTIFACTS / f"axe-{scheme}.json").write_text(json.dumps(report, indent=2))
    assert not report, "\n".join(f"{page}:\n{describe(v)}" for page, v in report.items())


def test_no_axe_violations_on_the_feedback_form_with_errors(
    site: Site, urls: dict[str, str], axe_source: str, new_context: Callable[..., BrowserContext]
) -> None:
    """The 422 re-render: error summary, messages beside fields, aria-invalid inputs."""
    page = new_context(java_script_enabled=False).new_page()
    page.goto(site(urls["comparison"]))
    page.locator(".feedback-form .choice label").first.click()
    page.locator("#fb-message").fill("Too vague but ten chars")
    page.locator("#fb-email").fill("me@localhost")
    page.get_by_role("button", name="Send to the editors").click()
    page.locator("#fb-email-error").wait_for()
    # axe needs script; run it in a JavaScript context on the same HTML.
    html = page.content()
    checker = new_context().new_page()
    checker.route(
        site("/axe-check"), lambda route: route.fulfill(body=html, content_type="text/html")
    )
    checker.goto(site("/axe-check"))
    violations = run_axe(checker, axe_source)
    assert not violations, describe(violations)
