"""What each interactive figure adds to its page of the built website (issue 15's size budget).

    .venv/bin/python benchmarks/interactive_page_sizes.py [_build/html] > results/benchmarks/interactive_page_sizes.txt

For every page that holds an interactive figure (scalinglaws.book.interactive_figures): the page's
HTML in bytes, the bytes of each figure's block (its static fallback image and its figure
JSON), and the page without them; then plotly.js, which the site ships once in _static and
which a browser loads, and caches, with the first such page.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from scalinglaws.book.plotly_assets import BUNDLE

BLOCK = re.compile(r'<div class="interactive-figure" id="(?P<id>[\w-]+)-figure">.*?\}\)\(\);</script>\n</div>', re.S)
IMAGE = re.compile(r'src="data:image/png;base64,[A-Za-z0-9+/=]+"')


def main(html_dir: Path) -> None:
    print(f"{'page':<36}{'figure':<22}{'page bytes':>12}{'figure':>10}{'of it image':>13}{'page without':>14}")
    for page in sorted(html_dir.rglob("*.html")):
        text = page.read_bytes().decode("utf-8")
        blocks = list(BLOCK.finditer(text))
        if not blocks:
            continue
        size = len(text.encode())
        figures = sum(len(block.group(0).encode()) for block in blocks)
        for block in blocks:
            image = sum(len(m.group(0)) for m in IMAGE.finditer(block.group(0)))
            print(f"{str(page.relative_to(html_dir)):<36}{block['id']:<22}{size:>12,}{len(block.group(0).encode()):>10,}"
                  f"{image:>13,}{size - figures:>14,}")
    bundle = html_dir / "_static" / BUNDLE
    print(f"\n_static/{BUNDLE} (shared by those pages, loaded once): {bundle.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html"))
