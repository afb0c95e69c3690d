"""The published page in a real headless Chromium: loads cleanly, tables sort, plots render.

Needs Chromium and ChromeDriver (Debian: ``apt-get install chromium chromium-driver``)
and selenium (the ``test`` extra).  Skipped where they are missing, except when
``AVBENCH_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where a missing browser fails.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading

import pytest

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")


def _require_browser():
    missing = [name for name, found in (("chromium", BROWSER), ("chromedriver", DRIVER)) if not found]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium")
    if missing:
        reason = f"browser test needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("AVBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def server(published):
    handler = functools.partial(_QuietHandler, directory=str(published))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def column_values(driver, table_id: str, index: int) -> list:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))"
        ".map(r => r.cells[arguments[1]].dataset.sort ?? r.cells[arguments[1]].textContent.trim());",
        table_id, index)


def header(driver, table_id: str, text: str):
    from selenium.webdriver.common.by import By

    for i, th in enumerate(driver.find_elements(By.CSS_SELECTOR, f"#{table_id} thead th")):
        if th.text.split(" ")[0] == text or th.text.rstrip(" ⇅▲▼") == text:
            return i, th
    raise AssertionError(f"no header {text!r} in #{table_id}")


def test_board_loads_without_console_errors(browser, server):
    for page in ("/index.html", "/synthetic/index.html", "/nvfair/index.html"):
        browser.get(server + page)
        assert "avbench" in browser.title
        errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == [], page


def test_tables_sort_by_clicked_column(browser, server):
    browser.get(server + "/synthetic/index.html")
    table = "table-overall-v1-fp-synth"
    col, th = header(browser, table, "all")
    th.click()  # number columns start best-first
    values = [float(v) for v in column_values(browser, table, col)]
    assert values == sorted(values, reverse=True) and th.get_attribute("aria-sort") == "descending"
    th.click()
    values = [float(v) for v in column_values(browser, table, col)]
    assert values == sorted(values) and th.get_attribute("aria-sort") == "ascending"
    col, th = header(browser, table, "method")
    th.click()
    names = column_values(browser, table, col)
    assert names == sorted(names, key=str.lower) and len(names) == 3
    # The comparison table sorts too, empty cells never first.
    col, th = header(browser, "table-comparisons", "Δ")
    th.click()
    deltas = [float(v) for v in column_values(browser, "table-comparisons", col)]
    assert deltas == sorted(deltas, reverse=True) and len(deltas) == 15


def test_plots_render_as_non_empty_images(browser, server):
    browser.get(server + "/synthetic/index.html")
    stats = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const imgs = Array.from(document.images);
        Promise.all(imgs.map(img => img.decode().then(() => img, () => img))).then(() => {
          done(imgs.map(img => {
            const c = document.createElement('canvas');
            c.width = img.naturalWidth; c.height = img.naturalHeight;
            if (!c.width) return {src: img.src, width: 0, inked: 0};
            const ctx = c.getContext('2d');
            ctx.drawImage(img, 0, 0);
            const d = ctx.getImageData(0, 0, c.width, c.height).data;
            let inked = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] < 600) inked++;
            return {src: img.src, width: img.naturalWidth, inked: inked};
          }));
        });
    """)
    assert len(stats) == 5  # ROC/DET and per-target AUC of overall and per_gen, clip length
    for s in stats:
        assert s["width"] > 300, s["src"]
        assert s["inked"] > 2000, s["src"]  # lines, text and colour, not a blank canvas


def test_the_comparisons_table_filters_by_every_word_typed(browser, server):
    from selenium.webdriver.common.by import By

    browser.get(server + "/synthetic/index.html")
    rows = browser.find_elements(By.CSS_SELECTOR, "#table-comparisons tbody tr")
    box = browser.find_element(By.CSS_SELECTOR, "input.table-filter[data-table=table-comparisons]")
    box.send_keys("cross_gen  LIA")

    def visible():
        return [r.text for r in rows if r.is_displayed()]

    shown = visible()
    assert shown and len(shown) < len(rows)
    assert all("cross_gen" in t and "lia" in t.lower() for t in shown)
    expected = sum(1 for r in rows if "cross_gen" in r.get_attribute("textContent")
                   and "lia" in r.get_attribute("textContent").lower())
    assert len(shown) == expected
    count = browser.find_element(By.CSS_SELECTOR, ".filter-count").text
    assert count == f"{expected} of {len(rows)} rows"
    box.clear()
    box.send_keys(" ")
    assert len(visible()) == len(rows)
