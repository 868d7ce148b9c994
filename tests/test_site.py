"""The website, as a reader's browser sees it.

The site is built once per session, offline and with warnings as errors (``-W -n``), into
a temporary directory, then served on localhost. Every page listed in ``_toc.yml`` is
opened in headless Chromium (Debian's ``chromium`` and ``chromedriver``, installed by
``tests/install_browser.sh``), and for each one we check that

- MathJax, served from the build itself, typeset every formula, left no raw TeX and
  reported no error;
- every image loaded, and every file the page asked for exists;
- the page is reachable from the sidebar navigation;
- the browser made no request to any other machine;
- every code cell's input and output fits its box at 1280 px or scrolls with a scroll bar
  that is drawn (not an overlay bar that appears only once the reader scrolls);
- every display equation fits a 390 px phone or scrolls the same way, and its number never
  covers it;
- every figure has alt text that describes it (not empty, not its file name), holds at least
  1.5 times the pixels it is shown at (sharp on a high-density screen), and is not a white
  box in the dark theme (mean brightness of its screenshot);
- no citation repeats the names it cites ("Hoffmann et al. [Hoffmann et al., 2022]");
- every bibliography entry links to its paper and is labelled author-year, as cited.

Layout is measured with overlay scroll bars, as macOS and phones draw them (Chromium's mobile
emulation): an unstyled scroll bar then takes no room and counts as invisible. Each check
also has a test that breaks the page on purpose (the book's stylesheet switched off, a
figure shown at its natural size, a doubled citation) and asserts the check notices.

A chapter added to ``_toc.yml`` is tested automatically.
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import re
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

# Figures (every image in a page's article; the theme's logos sit outside it): their alt text,
# their natural and displayed widths, and whether they are on the page at all.
FIGURES = """
return Array.from(document.querySelectorAll("article.bd-article img")).map((img) => ({
  src: img.getAttribute("src"), alt: img.getAttribute("alt") || "",
  natural: img.naturalWidth, shown: img.getBoundingClientRect().width}));
"""

SET_THEME = "document.documentElement.dataset.theme = arguments[0];"

# Switches the book's own stylesheet (book/_static/book.css) off, to check that a check
# fails on the site as it was before the stylesheet; returns how many it switched off.
WITHOUT_BOOK_CSS = """
const links = Array.from(document.querySelectorAll('link[rel="stylesheet"][href*="book.css"]'));
links.forEach((link) => { link.disabled = true; });
return links.length;
"""

# Layout checks, run in the page. visibleScrollbar: the element scrolls sideways and its
# horizontal scroll bar takes room (an overlay bar takes none and is not drawn until the
# reader scrolls) and, when the page styles it, has a thumb that is not transparent.
LAYOUT_JS = """
function visibleScrollbar(e) {
  const cs = getComputedStyle(e);
  if (!["auto", "scroll"].includes(cs.overflowX) || cs.scrollbarWidth === "none") return false;
  const bar = e.offsetHeight - e.clientHeight
      - parseFloat(cs.borderTopWidth) - parseFloat(cs.borderBottomWidth);
  if (bar < 6) return false;
  if (getComputedStyle(e, "::-webkit-scrollbar").height === "auto") return true;
  const thumb = getComputedStyle(e, "::-webkit-scrollbar-thumb").backgroundColor;
  const alpha = thumb.startsWith("rgba") ? parseFloat(thumb.split(",")[3]) : 1;
  return alpha > 0.3;
}
function where(e) {
  const cell = e.closest(".cell");
  const index = cell ? Array.from(document.querySelectorAll("article .cell")).indexOf(cell) : -1;
  const text = (e.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 50);
  return `code cell ${index} (${e.tagName.toLowerCase()} "${text}")`;
}
// Code cells: anything wider than its box must scroll with a visible bar; nothing may stick
// out of the cell. Elements inside a scrolling (or clipping) box are that box's business.
function wideCode() {
  const problems = [];
  for (const box of document.querySelectorAll("article .cell_input, article .cell_output")) {
    const edge = box.getBoundingClientRect();
    const walk = (e) => {
      const cs = getComputedStyle(e);
      if (cs.display === "none") return;
      const r = e.getBoundingClientRect();
      // Inline math (in a figure caption): MathJax's hidden copy for screen readers widens
      // scrollWidth by a few px, so compare the typeset formula with its box instead.
      if (e.matches("span.math")) {
        const formula = e.querySelector("mjx-math");
        const hidden = formula ? formula.getBoundingClientRect().right - r.right : 0;
        if (hidden > 1 && cs.overflowX !== "visible" && !visibleScrollbar(e))
          problems.push(`${where(e)} hides ${Math.round(hidden)} px of a formula`);
        return;
      }
      if (cs.display !== "inline" && r.width > 0) {
        if (r.right > edge.right + 1 || r.left < edge.left - 1) {
          problems.push(`${where(e)} sticks out of its cell by ${Math.round(r.right - edge.right)} px`);
          return;
        }
        if (e.scrollWidth > e.clientWidth + 1) {
          const hidden = e.scrollWidth - e.clientWidth;
          if (cs.overflowX === "visible") problems.push(`${where(e)} spills ${hidden} px out of its box`);
          else if (!visibleScrollbar(e)) problems.push(`${where(e)} hides ${hidden} px with no visible scroll bar`);
          return;
        }
        if (cs.overflowX !== "visible") return;
      }
      for (const child of e.children) walk(child);
    };
    walk(box);
  }
  return problems;
}
// The page itself: its width, and the widest elements that stick out past the screen's right edge
// (outside any box that scrolls or clips them).
function widePage() {
  const screen = document.documentElement.clientWidth;
  const out = [];
  const walk = (e) => {
    const cs = getComputedStyle(e);
    if (cs.display === "none") return;
    const r = e.getBoundingClientRect();
    if (r.right > screen + 1 && r.width > 0)
      out.push(`${e.tagName.toLowerCase()}.${e.className} "${(e.textContent || "").trim().slice(0, 40)}" ends at ${Math.round(r.right)} px`);
    if (cs.overflowX !== "visible" && e !== document.body && e !== document.documentElement) return;
    for (const child of e.children) walk(child);
  };
  walk(document.body);
  return {width: document.documentElement.scrollWidth, screen: screen, culprits: out.slice(-5)};
}
// Display equations: the box fits the screen, the equation fits the box or scrolls with a
// visible bar, and the equation number does not overlap it.
function wideEquations() {
  const problems = [];
  const screen = document.documentElement.clientWidth;
  for (const m of document.querySelectorAll("article div.math")) {
    const c = m.querySelector("mjx-container");
    if (!c) continue;
    const number = m.querySelector(".eqno");
    const name = number ? `Eq. ${number.textContent.replace("#", "").trim()}` : m.id || c.textContent.slice(0, 40);
    const box = m.getBoundingClientRect(), eq = c.getBoundingClientRect();
    if (box.left < -1 || box.right > screen + 1) problems.push(`${name}: its box is wider than the screen`);
    if (eq.left < box.left - 1 || eq.right > box.right + 1) problems.push(`${name}: sticks out of its box`);
    if (c.scrollWidth > c.clientWidth + 1 && !visibleScrollbar(c))
      problems.push(`${name}: ${c.scrollWidth - c.clientWidth} px of it hidden with no visible scroll bar`);
    if (number) {
      const n = number.getBoundingClientRect();
      const dx = Math.min(n.right, eq.right) - Math.max(n.left, eq.left);
      const dy = Math.min(n.bottom, eq.bottom) - Math.max(n.top, eq.top);
      if (dx > 1 && dy > 1) problems.push(`${name}: the equation number covers the equation`);
    }
  }
  return problems;
}
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
            cache[doc]["figures"] = browser.execute_script(FIGURES)
            cache[doc]["dark_brightness"] = figure_brightness(browser, "dark")
        return cache[doc]

    return visit


def figure_brightness(driver, theme: str) -> list[tuple[str, float]]:
    """(src, mean brightness 0-255) of a screenshot of each figure, in the given theme."""
    from PIL import Image

    driver.execute_script(SET_THEME, theme)
    found = []
    for image in driver.find_elements("css selector", "article.bd-article img"):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", image)
        shot = Image.open(io.BytesIO(image.screenshot_as_png)).convert("L")
        histogram = shot.histogram()
        mean = sum(value * count for value, count in enumerate(histogram)) / sum(histogram)
        found.append((image.get_attribute("src").rsplit("/", 1)[-1], mean))
    driver.execute_script(SET_THEME, "light")
    return found


# Overlay scroll bars, as macOS and phones draw them: Chromium's mobile emulation. The page's
# width in CSS pixels is the width given.
DESKTOP_WIDTH, PHONE_WIDTH = 1280, 390


def open_with_overlay_scrollbars(driver, url: str, width: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": True})
    driver.get(url)
    assert driver.execute_async_script(WAIT_FOR_MATHJAX) in ("ok", "absent")
    driver.execute_async_script(WAIT_FOR_IMAGES)


@pytest.fixture(scope="session")
def layout(server, browser):
    """layout(doc, width): the code cells and display equations that do not fit, at that width."""
    cache = {}

    def measure(doc: str, width: int, break_it: str | None = None) -> dict:
        key = (doc, width, break_it)
        if key not in cache:
            open_with_overlay_scrollbars(browser, f"{server}{doc}.html", width)
            try:
                if break_it:
                    browser.execute_script(break_it)
                cache[key] = browser.execute_script(
                    LAYOUT_JS + "return {code: wideCode(), equations: wideEquations(), page: widePage()};")
            finally:
                browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return cache[key]

    return measure


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


NOTEBOOK_DOCS = [doc for doc in DOCS if source_of(doc).suffix == ".ipynb"]
MATH_DOCS = [doc for doc in DOCS if has_math(doc)]


@pytest.mark.parametrize("doc", NOTEBOOK_DOCS)
def test_code_fits_or_scrolls_visibly_at_1280px(layout, doc):
    problems = layout(doc, DESKTOP_WIDTH)["code"]
    assert not problems, f"{doc} at {DESKTOP_WIDTH} px:\n" + "\n".join(problems)


@pytest.mark.parametrize("doc", MATH_DOCS)
def test_display_equations_fit_a_phone(layout, doc):
    problems = layout(doc, PHONE_WIDTH)["equations"]
    assert not problems, f"{doc} at {PHONE_WIDTH} px:\n" + "\n".join(problems)


@pytest.mark.parametrize("doc", DOCS)
def test_no_page_is_wider_than_a_phone(layout, doc):
    """At 390 px the page does not scroll sideways: only code, outputs, equations and tables
    may be wider than the screen, inside boxes that scroll on their own."""
    page = layout(doc, PHONE_WIDTH)["page"]
    assert page["width"] <= page["screen"] + 1, (
        f"{doc} is {page['width']} px wide on a {page['screen']} px phone:\n" + "\n".join(page["culprits"]))


def test_page_width_check_fails_on_unwrapped_inline_code(layout):
    """Without rule 5 of book.css, chapter 14's long inline command widens its page on a phone."""
    unwrapped = ("document.querySelectorAll('code.literal, code.literal span.pre')"
                 ".forEach((e) => { e.style.whiteSpace = 'nowrap'; e.style.overflowWrap = 'normal'; });")
    page = layout("book/14_why_kaplan", PHONE_WIDTH, unwrapped)["page"]
    assert page["width"] > page["screen"] + 1, page


def test_layout_checks_fail_without_the_books_stylesheet(layout):
    """Without book.css (the site before it) chapter 1's allocation table hides its last
    column behind an overlay scroll bar, and on a phone chapter 3's Eq. 3.1 is clipped."""
    code = layout("book/01_introduction", DESKTOP_WIDTH, WITHOUT_BOOK_CSS)["code"]
    assert any("no visible scroll bar" in problem for problem in code), code
    equations = layout("book/03_kaplan", PHONE_WIDTH, WITHOUT_BOOK_CSS)["equations"]
    assert any(problem.startswith("Eq. (3.1)") for problem in equations), equations
    clipped = layout("book/01_introduction", DESKTOP_WIDTH,
                     "document.querySelectorAll('article pre').forEach((p) => p.style.overflowX = 'hidden');")
    assert any("no visible scroll bar" in problem for problem in clipped["code"]), clipped


def alt_text_problem(alt: str) -> str | None:
    """Why ``alt`` does not describe a figure, or None: empty, a file name or path (what
    Sphinx writes when a cell gives none: the image's hash name), or under three words."""
    text = alt.strip()
    if not text:
        return "no alt text"
    if re.search(r"\.(png|jpe?g|svg|gif|webp)$", text, re.IGNORECASE) or re.fullmatch(r"\S*[0-9a-f]{16,}\S*", text):
        return f"its file name as alt text ({text[-40:]!r})"
    if len(text.split()) < 3:
        return f"alt text {text!r} says too little"
    return None


def test_alt_text_check_rejects_file_names_and_empty_text():
    assert alt_text_problem("") and alt_text_problem("   ")
    assert alt_text_problem("../_images/6a452c73cbb0f454e7180cb23f9708e059e8ca10939ed7685884e6235c0407bd.png")
    assert alt_text_problem("6a452c73cbb0f454e7180cb23f9708e0") and alt_text_problem("figure.svg")
    assert alt_text_problem("Plot")
    assert alt_text_problem("Log-log plot of compute-optimal parameters against compute") is None


@pytest.mark.parametrize("doc", NOTEBOOK_DOCS)
def test_every_figure_has_alt_text(pages, doc):
    problems = [f"{figure['src'].rsplit('/', 1)[-1][:16]}...: {alt_text_problem(figure['alt'])}"
                for figure in pages(doc)["figures"] if alt_text_problem(figure["alt"])]
    assert not problems, f"{doc}: figures without a description:\n" + "\n".join(problems)


# A figure holds at least this many image pixels per CSS pixel it is shown at, so it stays
# sharp on a screen of device pixel ratio 1.5 or more (plotting.use_book_style draws 2x).
MIN_PIXELS_PER_CSS_PIXEL = 1.5


def blurry_figures(figures: list[dict]) -> list[str]:
    return [f"{figure['src'].rsplit('/', 1)[-1][:16]}...: {figure['natural']} px shown at "
            f"{figure['shown']:.0f} px ({figure['natural'] / figure['shown']:.2f}x)"
            for figure in figures
            if figure["shown"] > 0 and figure["natural"] / figure["shown"] < MIN_PIXELS_PER_CSS_PIXEL]


@pytest.mark.parametrize("doc", NOTEBOOK_DOCS)
def test_figures_are_sharp_on_a_high_density_screen(pages, doc):
    problems = blurry_figures(pages(doc)["figures"])
    assert not problems, (f"{doc}: figures with under {MIN_PIXELS_PER_CSS_PIXEL}x the pixels they "
                          "are shown at (re-execute the chapter: use_book_style draws 2x):\n" + "\n".join(problems))


def test_sharpness_check_fails_on_a_figure_shown_at_its_natural_size(pages, browser):
    doc = "book/01_introduction"
    browser.get(pages(doc)["url"])
    browser.execute_async_script(WAIT_FOR_IMAGES)
    browser.execute_script("document.querySelectorAll('article.bd-article img')"
                           ".forEach((img) => { img.style.maxWidth = 'none'; img.style.width = img.naturalWidth + 'px'; });")
    figures = browser.execute_script(FIGURES)
    assert figures and len(blurry_figures(figures)) == len(figures), figures


# In the dark theme a figure's screenshot must be darker on average than mid-grey. The
# theme's dimmed white figures measured 179-210, the inverted ones 30-55 (chapters 1, 3, 6, 12).
MAX_DARK_FIGURE_BRIGHTNESS = 128


def white_boxes(brightness: list[tuple[str, float]]) -> list[str]:
    return [f"{src[:16]}...: mean brightness {value:.0f} of 255"
            for src, value in brightness if value > MAX_DARK_FIGURE_BRIGHTNESS]


@pytest.mark.parametrize("doc", NOTEBOOK_DOCS)
def test_figures_are_not_white_boxes_in_the_dark_theme(pages, doc):
    problems = white_boxes(pages(doc)["dark_brightness"])
    assert not problems, f"{doc}: white figures on the dark page:\n" + "\n".join(problems)


def test_dark_theme_check_fails_without_the_books_stylesheet(pages, browser):
    doc = "book/01_introduction"
    browser.get(pages(doc)["url"])
    browser.execute_async_script(WAIT_FOR_IMAGES)
    assert browser.execute_script(WITHOUT_BOOK_CSS) == 1, "book.css is not on the page"
    brightness = figure_brightness(browser, "dark")
    assert brightness and len(white_boxes(brightness)) == len(brightness), brightness


def doubled_citations(text: str) -> list[str]:
    """Citations that repeat the names just before them: "Hoffmann et al. [Hoffmann et al.,
    2022]" (a name, then {cite:p}) or "Kaplan et al. Kaplan et al. [2020]" ({cite:t})."""
    name = r"[A-ZÀ-Þ][\w'’-]+"
    names = rf"(?P<name>{name})(?: et al\.| and {name})?(?:'s|’s)?"
    parenthetical = rf"{names}\s*\[(?P=name)\b[^\]]*?\d{{4}}[a-z]?\]"
    textual = rf"{names}\s+(?P=name)(?: et al\.| and {name})?\s*\[\d{{4}}[a-z]?\]"
    return [match.group(0) for pattern in (parenthetical, textual) for match in re.finditer(pattern, text)]


def test_doubled_citation_check():
    assert doubled_citations("published. Hoffmann et al. [Hoffmann et al., 2022] published")
    assert doubled_citations("as Hägele et al. [Hägele et al., 2024] show")
    assert doubled_citations("Pearce and Song [Pearce and Song, 2024]")
    assert doubled_citations("Kaplan et al. Kaplan et al. [2020] fitted")
    assert not doubled_citations("Hoffmann et al. [2022] published; the law [Hoffmann et al., 2022]")
    assert not doubled_citations("Hoffmann et al.'s three answers from those runs [Hoffmann et al., 2022]")


@pytest.mark.parametrize("doc", DOCS)
def test_no_citation_repeats_its_names(pages, doc):
    doubled = doubled_citations(" ".join(pages(doc)["prose"].split()))
    assert not doubled, f"{doc}: citations that repeat the names before them (use {{cite:t}}): {doubled}"


def bibliography_problems(html: str) -> list[str]:
    """Entries of a built bibliography page without a link to their paper, or whose label is
    not author-year ("Huber, 1964", "Liu and Nocedal, 1989", "Hoffmann et al., 2022")."""
    problems = []
    entries = re.findall(r'<div class="citation"[^>]*>(.*?)</div>', html, re.DOTALL)
    name = r"[A-ZÀ-Þ][\w'’ -]*"
    for entry in entries:
        label_html = re.search(r'<span class="label">(.*?)</span>\s*<p>', entry, re.DOTALL)
        label = re.sub(r"<[^>]+>", "", label_html.group(1) if label_html else "").strip("[] \n")
        if not re.fullmatch(rf"{name}(?: and {name}| et al\.)?, \d{{4}}[a-z]?", label):
            problems.append(f"[{label}]: not an author-year label")
        if not re.search(r'<a class="reference external" href="https://', entry):
            problems.append(f"[{label}]: no link to the paper")
    return problems if entries else ["no bibliography entry found"]


def test_bibliography_check():
    old = ('<div class="citation" id="id10" role="doc-biblioentry">\n<span class="label"><span class="fn-bracket">'
           '[</span>HageleBK+24<span class="fn-bracket">]</span></span>\n<p>Alexander Hägele. Scaling laws. '
           '<em>arXiv preprint arXiv:2405.18392</em>, 2024.</p>\n</div>')
    assert bibliography_problems(old) == ["[HageleBK+24]: not an author-year label", "[HageleBK+24]: no link to the paper"]
    assert bibliography_problems("<p>nothing</p>") == ["no bibliography entry found"]


def test_bibliography_links_every_entry_and_labels_it_as_cited(site):
    html = (site / "book" / "bibliography.html").read_text()
    problems = bibliography_problems(html)
    assert not problems, "bibliography entries:\n" + "\n".join(problems)
    in_bib = len(re.findall(r"^@\w+\{", (REPO / "references.bib").read_text(), re.MULTILINE))
    shown = html.count('role="doc-biblioentry"')
    assert shown == in_bib, f"references.bib has {in_bib} entries, the bibliography page shows {shown}"


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


SCRIPT_TAG = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)


def repeated_scripts(html: str) -> list[str]:
    """The <script> elements of a page that repeat one before them, character for character."""
    seen, repeats = set(), []
    for tag in SCRIPT_TAG.findall(html):
        if tag in seen:
            repeats.append(tag[:100])
        seen.add(tag)
    return repeats


def test_no_page_repeats_a_script(site):
    """Every script once per page: a repeated inline `const` is an error in every browser console
    ("Identifier 'THEBE_JS_URL' has already been declared")."""
    offenders = [f"{page.relative_to(site)}: {repeat}" for page in site.rglob("*.html")
                 for repeat in repeated_scripts(page.read_text(errors="replace"))]
    assert not offenders, "scripts included twice:\n" + "\n".join(offenders[:10])


def test_repeated_script_check():
    thebe = '<script>const THEBE_JS_URL = "x"</script>'
    assert repeated_scripts(f"<head>{thebe}<script src='a.js'></script>{thebe}</head>") == [thebe[:100]]
    assert repeated_scripts(f"<head>{thebe}<script src='a.js'></script></head>") == []


def test_unique_scripts_drops_repeats_registered_as_none_or_empty():
    """The two copies of a theme's inline script differ only in how their file was left blank."""
    from sphinx.builders.html._assets import _JavaScript

    from scalinglaws.book.unique_scripts import unique_scripts

    scripts = [_JavaScript(None, body="const THEBE_JS_URL = 1"), _JavaScript("_static/a.js", priority=400),
               _JavaScript("", body="const THEBE_JS_URL = 1"), _JavaScript("_static/a.js", priority=500),
               _JavaScript("", body="const other = 2")]
    assert unique_scripts(scripts) == [scripts[0], scripts[1], scripts[4]]


def test_mathjax_is_served_from_the_build(site):
    assert (site / "_static" / "mathjax" / "tex-chtml.js").exists()
    assert "_static/mathjax/tex-chtml.js" in (site / "book" / "02_counting.html").read_text()


def test_toc_lists_only_existing_files():
    for doc in DOCS:
        source_of(doc)

