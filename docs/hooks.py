"""MkDocs hooks of the beatdetect site (loaded by ``hooks:`` in ``mkdocs.yml``).

An image under ``figures/`` that ``docs/make_figures.py`` has not produced yet (it needs the
MIT-BIH records) is replaced by a note saying how to make it, instead of a broken image that
fails the strict build. The committed figures are all there, so on a checkout this changes
nothing; it matters while a new figure is being written.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.beatdetect")

FIGURE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<src>(?:\.\./)*figures/[^)\s]+)\)(?:\{[^}]*\})?")


def on_page_markdown(markdown, page, config, files, **kwargs):
    page_dir = (Path(config.docs_dir) / page.file.src_uri).parent

    def replace(match: re.Match) -> str:
        target = (page_dir / match["src"]).resolve()
        if target.is_file():
            return match.group(0)
        log.info("%s: figure %s not generated yet", page.file.src_uri, match["src"])
        return (
            f"*Figure not generated yet ({match['alt']}): run `python docs/make_figures.py` "
            "to make it from MIT-BIH.*"
        )

    return FIGURE.sub(replace, markdown)
