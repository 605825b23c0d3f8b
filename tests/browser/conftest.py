"""Real-browser tests: Debian's headless Chromium, driven by Selenium through ChromeDriver.

One Chromium runs per test session (``chromium``); each test gets it through ``browser``
with no cookies, a download directory of its own, and a ``shot(step)`` helper that saves a
PNG of the page as ``artifacts/browser/<test>/<NN>-<step>.png``. When a test fails, the
page it stopped at is saved too (``NN-failure.png`` and ``.html``). Selenium is given the
paths of the browser and the driver, so Selenium Manager never downloads anything; when
either is missing the tests fail (they are never skipped) with the command that installs
them: ``.ci/browser.sh``.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from ..e2e.ssp import SimpleSAMLphp, make_key_pair, start, stop_process, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL_HINT = (
    "Chromium is not installed: run .ci/browser.sh (as root: it installs Debian's chromium "
    "and chromium-driver packages) before the browser tests"
)
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in a container: no user namespaces for Chromium's sandbox
    "--disable-gpu",
    "--disable-dev-shm-usage",  # /dev/shm is small in containers
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--password-store=basic",
    "--window-size=1280,1024",
)
PAGE_LOAD_TIMEOUT = 30
WAIT_TIMEOUT = 15.0
"""Seconds a test waits for a page to arrive after a click (redirects, auto-posted forms)."""
_NAVIGATING = (NoSuchElementException, StaleElementReferenceException)
"""What reading a page may raise while the browser leaves it: wait on."""
_GONE = "does not belong to the document"
"""How ChromeDriver sometimes says an element's page was replaced, instead of raising
StaleElementReferenceException ("unhandled inspector error")."""


def _left(page: WebElement) -> Callable[[WebDriver], bool]:
    """The wait condition "the browser has left ``page``": Selenium's ``staleness_of``, which
    also counts ChromeDriver's other way of saying the element is gone."""

    def left(driver: WebDriver) -> bool:
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if _GONE in str(exc):
                return True
            raise
        return False

    return left


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "browser: end-to-end test in a real headless Chromium (install it with .ci/browser.sh)",
    )


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test, so that ``browser`` knows if the test failed."""
    report: pytest.TestReport = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """The session's headless Chromium with a fresh profile; quit at the end of the session."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.is_file():
            pytest.fail(f"{INSTALL_HINT} ({path} is missing)", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    log = tmp_path_factory.mktemp("chromedriver") / "chromedriver.log"
    try:
        driver = webdriver.Chrome(
            options=options, service=Service(str(CHROMEDRIVER), log_output=str(log))
        )
    except WebDriverException as exc:
        pytest.fail(f"Chromium did not start: {exc.msg}\n{INSTALL_HINT}", pytrace=False)
    try:
        driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
        yield driver
    finally:
        driver.quit()  # ends Chromium and stops the ChromeDriver process Selenium started


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


@dataclass
class Browser:
    """The session's Chromium as one test uses it."""

    driver: WebDriver
    artifacts: Path
    """``artifacts/browser/<test name>/``"""
    downloads: Path
    steps: int = 0
    full_page: bool = False
    """Screenshots show the whole page, not only the 1280x1024 window."""

    def shot(self, step: str) -> Path:
        """Save a screenshot of the page as ``<NN>-<step>.png``, numbered in test order."""
        self.steps += 1
        path = self.artifacts / f"{self.steps:02d}-{_slug(step)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.full_page:
            path.write_bytes(self._full_page_png())
        elif not self.driver.save_screenshot(str(path)):
            raise AssertionError(f"Chromium did not save the screenshot {path}")
        return path

    def _full_page_png(self) -> bytes:
        size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": clip},
        )
        return base64.b64decode(shot["data"])

    def open(self, url: str) -> None:
        self.driver.get(url)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        return self.find(css).text

    def wait_for(self, css: str, *, url: str | None = None, text: str | None = None) -> WebElement:
        """Wait until the page (at ``url``, if given) has an element matching ``css`` (whose
        text contains ``text``, if given) and has finished loading; return that element."""

        def arrived(driver: WebDriver) -> WebElement | None:
            if url is not None and driver.current_url != url:
                return None
            if driver.execute_script("return document.readyState") != "complete":
                return None
            for element in driver.find_elements(By.CSS_SELECTOR, css):
                if text is None or text in element.text:
                    return element
            return None

        wait = WebDriverWait(self.driver, WAIT_TIMEOUT, ignored_exceptions=_NAVIGATING)
        try:
            found: WebElement = wait.until(arrived)
        except TimeoutException:
            wanted = f"{css!r}" + (f" containing {text!r}" if text else "")
            raise AssertionError(
                f"no {wanted} at {url or 'any URL'} within {WAIT_TIMEOUT:.0f} s; the browser is "
                f"at {self.driver.current_url} (title {self.driver.title!r}); page text: "
                f"{self._body_text()[:1500]!r}"
            ) from None
        return found

    def click(self, target: WebElement | str) -> None:
        """Click something that leaves the page (a submit button, a link), and wait until the
        browser has left it, so that no later wait can be met by the page left behind.

        ``target`` is the element, or its CSS selector: then a click that ChromeDriver refuses
        ("Node with given id does not belong to the document": the page was still being
        replaced under the element) is tried again on the element found anew.
        """
        page = self.driver.find_element(By.TAG_NAME, "html")
        left = _left(page)
        for attempt in range(3):
            element = self.find(target) if isinstance(target, str) else target
            try:
                element.click()
            except WebDriverException as exc:
                # The click's own navigation may replace the page before the click command
                # has finished: if the page was left, the click did what a user's does.
                try:
                    WebDriverWait(self.driver, 3.0).until(left)
                except TimeoutException:
                    if isinstance(target, str) and attempt < 2:
                        page = self.driver.find_element(By.TAG_NAME, "html")
                        left = _left(page)
                        continue
                    raise exc from None
                return
            break
        try:
            WebDriverWait(self.driver, WAIT_TIMEOUT).until(left)
        except TimeoutException:
            raise AssertionError(
                f"the click did not leave {self.driver.current_url} within {WAIT_TIMEOUT:.0f} s"
            ) from None

    def status(self) -> int:
        """The HTTP status of the response the current page was loaded from."""
        status = self.driver.execute_script(
            "return performance.getEntriesByType('navigation')[0].responseStatus"
        )
        return int(status)

    def paste(self, element: WebElement, text: str) -> None:
        """Replace the text of a form field as a user's paste does (one input event)."""
        element.clear()
        element.click()
        self.driver.execute_cdp_cmd("Input.insertText", {"text": text})

    def download(self, link: WebElement) -> bytes:
        """Click a link that Chromium downloads; the downloaded file's bytes."""
        before = set(self.downloads.iterdir())
        link.click()

        def finished(_: WebDriver) -> Path | None:
            new = [p for p in self.downloads.iterdir() if p not in before]
            done = [p for p in new if not p.name.endswith(".crdownload")]
            return done[0] if done and len(done) == len(new) else None

        try:
            path: Path = WebDriverWait(self.driver, WAIT_TIMEOUT).until(finished)
        except TimeoutException:
            raise AssertionError(
                f"nothing was downloaded into {self.downloads} within {WAIT_TIMEOUT:.0f} s"
            ) from None
        return path.read_bytes()

    def new_session(self) -> None:
        """Forget every cookie (of the apps and of the IdP), as a new browser would."""
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})

    def _body_text(self) -> str:
        try:
            return str(self.driver.find_element(By.TAG_NAME, "body").text)
        except WebDriverException:
            return self.driver.page_source


@pytest.fixture
def browser(
    chromium: WebDriver, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Browser]:
    """The session's Chromium with no cookies; its screenshots go to artifacts/browser/."""
    artifacts = ARTIFACTS / _slug(request.node.name)
    shutil.rmtree(artifacts, ignore_errors=True)  # no screenshot of an earlier run remains
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    chromium.get("about:blank")
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    chromium.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    session = Browser(driver=chromium, artifacts=artifacts, downloads=downloads)
    yield session
    reports = request.node.stash.get(_REPORTS, {})
    if any(report.failed for report in reports.values()):
        try:
            session.shot("failure")
            html = session.artifacts / f"{session.steps:02d}-failure.html"
            html.write_text(f"<!-- {chromium.current_url} -->\n{chromium.page_source}")
        except (WebDriverException, AssertionError) as exc:  # the failure may be Chromium's
            print(f"no failure screenshot: {exc!r}")
    chromium.get("about:blank")
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})


# --- servers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppServer:
    """A web app under test, running in a process of its own."""

    name: str
    base_url: str
    """``http://127.0.0.1:<port>``, no trailing slash."""
    pid: int
    log_path: Path

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def log(self) -> str:
        """The tail of the app's output (it is kept in full in artifacts/browser/servers/)."""
        return f"--- {self.log_path}\n{self.log_path.read_text(errors='replace')[-6000:]}"


@contextmanager
def run_app(
    name: str,
    argv: list[str],
    *,
    port: int,
    env: Mapping[str, str] | None = None,
    ready: Callable[[int, bytes], bool] = lambda status, body: status == 200,
    timeout: float = 20.0,
) -> Iterator[AppServer]:
    """Run ``argv`` (from the repository root, with this Python) until the block ends: wait
    until ``GET /`` is ready, then stop the process (and its process group) by its ID."""
    logs = ARTIFACTS / "servers"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.log"
    environment = {**_clean_environment(), **(env or {})}
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, *argv],
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with any children
        )
    try:
        server = AppServer(
            name=name, base_url=f"http://127.0.0.1:{port}", pid=process.pid, log_path=log_path
        )
        wait_until_serving(process, server.url("/"), ready=ready, timeout=timeout, log=server.log)
        print(f"{name} serving at {server.base_url} after {time.monotonic() - started:.1f} s")
        yield server
    finally:
        stop_process(process)


def _clean_environment() -> dict[str, str]:
    """This process's environment without what would send the apps' requests elsewhere."""
    dropped = {"http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}
    environment = {key: value for key, value in os.environ.items() if key not in dropped}
    environment["NO_PROXY"] = environment["no_proxy"] = "127.0.0.1,localhost"
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


@pytest.fixture(scope="session")
def simplesamlphp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleSAMLphp]:
    """The session's SimpleSAMLphp IdP; the tests add their users and apps' SPs to it."""
    with start(
        tmp_path_factory.mktemp("simplesamlphp"),
        idp_key=make_key_pair("SimpleSAMLphp browser-test IdP"),
    ) as server:
        try:
            yield server
        finally:
            logs = ARTIFACTS / "servers"
            logs.mkdir(parents=True, exist_ok=True)
            for name in ("simplesamlphp.log", "php-server.log"):
                source = server.root / "log" / name
                if source.exists():
                    shutil.copyfile(source, logs / name)
