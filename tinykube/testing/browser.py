"""Headless Chromium (the distro's, through its chromedriver) for the dashboard's
browser tests: tests/integration/test_dashboard_browser.py on hollow nodes and the
e2e variant in tests/e2e/test_cluster_up.py.

Nothing is downloaded: `chromium` and `chromium-driver` come from the distro
(deploy/prereqs.sh installs them with `make install`), selenium from the test
dependencies. `missing_browser()` says why the tests cannot run, when they cannot.
Screenshots go to build/test-artifacts/dashboard/ (gitignored).

Kubernetes counterpart: none (kubernetes/dashboard tests its front end with Cypress)
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tinykube.testing.processes import REPO_ROOT

ARTIFACTS = REPO_ROOT / "build" / "test-artifacts" / "dashboard"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
WAIT_SECONDS = 60.0


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not any(shutil.which(name) for name in CHROMIUM_NAMES):
        return "no chromium on PATH (make install installs the distro's chromium)"
    if not shutil.which("chromedriver"):
        return "no chromedriver on PATH (make install installs the distro's chromium-driver)"
    return None


def start_browser() -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = next(str(shutil.which(n)) for n in CHROMIUM_NAMES if shutil.which(n))
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,1000", "--no-proxy-server"):
        options.add_argument(flag)
    # The driver's path is given, so selenium never looks for (or downloads) one.
    return webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))


def wait(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str,
         timeout_seconds: float = WAIT_SECONDS) -> Any:
    """Until `condition(driver)` is truthy; an element that a live update replaced
    or has not drawn yet only means "not yet"."""
    return WebDriverWait(driver, timeout_seconds, poll_frequency=0.2,
                         ignored_exceptions=(NoSuchElementException,
                                             StaleElementReferenceException)).until(
        condition, f"timed out after {timeout_seconds:.0f}s waiting for {what}")


def screenshot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def texts(driver: WebDriver, css: str, field: str = "textContent") -> list[str]:
    """One field (`textContent`, `dataset.node`, ...) of every element `css` matches,
    read in one script: a live update cannot replace an element halfway through."""
    return list(driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".map(e => arguments[1].split('.').reduce((v, k) => v[k], e));", css, field))
