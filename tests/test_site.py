"""The website, as a reader's browser sees it.

The site is built once per session, offline and with warnings as errors (``-W -n``), into
a temporary directory, then served on localhost. Every page listed in ``_toc.yml`` is
opened in headless Chromium (Debian's ``chromium`` and ``chromedriver``, installed by
``tests/install_browser.sh``), and for each one we check that

- MathJax, served from the build itself, typeset every formula, left no raw TeX and
  reported no error;
- every image loaded, and every file the page asked for exists;
- the page is reachable from the sidebar navigation;
- the browser made no request to any other machine.

A chapter added to ``_toc.yml`` is tested automatically.
"""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# Schemes that never leave the machine.
LOCAL_SCHEMES = {"data", "blob", "about", "chrome", "chrome-extension", "devtools"}


def toc_files(toc_path: Path = REPO / "_toc.yml") -> list[str]:
    """Every document in the table of contents, root first, in reading order."""
    toc = yaml.safe_load(toc_path.read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def source_of(doc: str) -> Path:
    """The .md or .ipynb file behind a toc entry."""
    for suffix in (".ipynb", ".md"):
        path = REPO / f"{doc}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(f"_toc.yml lists {doc!r} but neither {doc}.ipynb nor {doc}.md exists")


def has_math(doc: str) -> bool:
    """Whether the document's prose contains TeX ($...$, $$...$$ or a math directive)."""
    path = source_of(doc)
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        text = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    else:
        text = path.read_text()
    return "$" in text or "{math}" in text


def build_site(out_dir: Path, *extra_args: str) -> Path:
    """Build the book with warnings as errors and return the HTML directory."""
    command = [
        str(Path(sys.executable).with_name("jupyter-book")), "build", str(REPO),
        "-W", "-n", "--keep-going", "--all", "--path-output", str(out_dir), *extra_args,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"the book does not build:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    html = out_dir / "_build" / "html"
    assert (html / "index.html").exists(), f"no index.html in {html}"
    return html


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """A fresh build of the whole site: never a stale _build/html left from earlier."""
    return build_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="session")
def server(site):
    """The built site on http://127.0.0.1:<free port>/, for the length of the session."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Headless Chromium that logs every network request and cannot resolve remote hosts."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("headless Chromium is missing: run `bash tests/install_browser.sh` (make test does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1280,2000",
        # Any attempt to reach another machine fails fast instead of hanging; the request
        # is still logged, so the test below sees it.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def network_log(driver) -> tuple[list[str], list[str]]:
    """Requests since the log was last read (Chrome DevTools events): every URL requested,
    and "status URL" for each answered with an HTTP error."""
    requested, failed = [], []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            requested.append(params["request"]["url"])
        elif message["method"] == "Network.webSocketCreated":
            requested.append(params["url"])
        elif message["method"] == "Network.responseReceived":
            response = params["response"]
            # The browser asks for /favicon.ico on its own; the book has none.
            if response["status"] >= 400 and not response["url"].endswith("/favicon.ico"):
                failed.append(f"{response['status']} {response['url']}")
    return requested, failed


def is_off_machine(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return False
    return parts.hostname not in LOCAL_HOSTS


WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
const start = Date.now();
if (!Array.from(document.scripts).some((s) => s.src.includes("mathjax"))) {
  done("absent");  // Sphinx adds MathJax only to pages that contain math
  return;
}
(function poll() {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done("ok"), (e) => done("MathJax failed: " + e));
  } else if (Date.now() - start > 30000) {
    done("MathJax never started");
  } else {
    setTimeout(poll, 100);
  }
})();
"""

WAIT_FOR_IMAGES = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
images.forEach((img) => { img.loading = "eager"; });
Promise.all(images.map((img) => img.complete ? null :
    new Promise((resolve) => { img.onload = img.onerror = resolve; })))
  .then(() => done(images.filter((img) => !(img.naturalWidth > 0)).map((img) => img.src)));
"""

PROSE_TEXT = """
const article = document.querySelector("article") || document.body;
const copy = article.cloneNode(true);
copy.querySelectorAll("pre, code, .highlight, mjx-container, script").forEach((e) => e.remove());
return copy.textContent;
"""


@pytest.fixture(scope="session")
def pages(server, browser):
    """Open each page once and collect what the checks need."""
    cache = {}

    def visit(doc: str) -> dict:
        if doc not in cache:
            network_log(browser)  # drain the requests of earlier pages
            url = f"{server}{doc}.html"
            browser.get(url)
            cache[doc] = {
                "url": url,
                "mathjax": browser.execute_async_script(WAIT_FOR_MATHJAX),
                "broken_images": browser.execute_async_script(WAIT_FOR_IMAGES),
                "n_images": browser.execute_script("return document.images.length;"),
                "math_elements": browser.execute_script(
                    "return document.querySelectorAll('article .math').length;"),
                "untypeset": browser.execute_script(
                    "return Array.from(document.querySelectorAll('article .math'))"
                    ".filter((e) => !e.querySelector('mjx-container')).map((e) => e.textContent);"),
                "containers": browser.execute_script(
                    "return document.querySelectorAll('article mjx-container').length;"),
                "errors": browser.execute_script(
                    "return Array.from(document.querySelectorAll('mjx-merror, [data-mjx-error]'))"
                    ".map((e) => e.getAttribute('data-mjx-error') || e.textContent);"),
                "prose": browser.execute_script(PROSE_TEXT),
                "sidebar": browser.execute_script(
                    "return Array.from(document.querySelectorAll('nav.bd-docs-nav a'))"
                    ".map((a) => a.href);"),
            }
            cache[doc]["requests"], cache[doc]["failed"] = network_log(browser)
        return cache[doc]

    return visit


DOCS = toc_files()


@pytest.mark.parametrize("doc", DOCS)
def test_math_is_typeset(pages, doc):
    page = pages(doc)
    if has_math(doc):
        assert page["mathjax"] == "ok", f"{doc}: {page['mathjax']}"
    assert page["mathjax"] in ("ok", "absent"), f"{doc}: {page['mathjax']}"
    assert not page["errors"], f"{doc}: MathJax errors {page['errors']}"
    assert not page["untypeset"], f"{doc}: formulas left as raw TeX: {page['untypeset'][:3]}"
    for raw in ("$$", "\\(", "\\)", "\\begin{"):
        assert raw not in page["prose"], f"{doc}: raw TeX {raw!r} in the text"
    if has_math(doc):
        assert page["math_elements"] > 0 and page["containers"] > 0, (
            f"{doc} has TeX in its source but the page shows no typeset formula")


@pytest.mark.parametrize("doc", DOCS)
def test_every_image_loads(pages, doc):
    page = pages(doc)
    assert not page["broken_images"], f"{doc}: images that did not load: {page['broken_images']}"


def test_chapters_show_their_figures(pages):
    """Chapters with plots in their stored outputs show them (the outputs are not dropped)."""
    for doc in DOCS:
        path = source_of(doc)
        if path.suffix != ".ipynb":
            continue
        cells = json.loads(path.read_text())["cells"]
        figures = sum("image/png" in output.get("data", {})
                      for cell in cells if cell["cell_type"] == "code" for output in cell["outputs"])
        # Two images of the theme (the Colab and Binder logos) appear on every notebook page.
        assert pages(doc)["n_images"] >= figures, f"{doc}: {figures} figures stored, fewer shown"


@pytest.mark.parametrize("doc", DOCS)
def test_page_is_in_the_sidebar(pages, doc):
    page = pages(doc)
    linked = {urldefrag(href).url for href in page["sidebar"]}
    assert page["url"] in linked, f"{doc} is not reachable from the sidebar navigation"


@pytest.mark.parametrize("doc", DOCS)
def test_no_request_leaves_the_machine(pages, doc):
    page = pages(doc)
    assert page["requests"], f"{doc}: no request logged at all, the network log is not working"
    remote = sorted({url for url in page["requests"] if is_off_machine(url)})
    assert not remote, f"{doc} requested other machines: {remote}"


@pytest.mark.parametrize("doc", DOCS)
def test_every_file_the_page_asks_for_exists(pages, doc):
    page = pages(doc)
    assert not page["failed"], f"{doc}: requests answered with an error: {page['failed']}"


def test_no_page_links_a_remote_script_or_stylesheet(site):
    """A static check of every built page, including pages the browser test does not open."""
    offenders = []
    for page in site.rglob("*.html"):
        text = page.read_text(errors="replace")
        for marker in ('<script src="http', "<script src='http", 'rel="stylesheet" href="http',
                       '<link href="http', "cdn.jsdelivr", "unpkg.com/mathjax", "googleapis"):
            if marker in text:
                offenders.append(f"{page.relative_to(site)}: {marker}")
    assert not offenders, "pages that would load from another site:\n" + "\n".join(offenders)


def test_mathjax_is_served_from_the_build(site):
    assert (site / "_static" / "mathjax" / "tex-chtml.js").exists()
    assert "_static/mathjax/tex-chtml.js" in (site / "book" / "02_counting.html").read_text()


def test_toc_lists_only_existing_files():
    for doc in DOCS:
        source_of(doc)

