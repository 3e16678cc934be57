"""The documentation site: every page in the navigation exists, and the strict build passes.

``mkdocs build --strict`` fails on a broken link, a missing page or an API object that
mkdocstrings cannot find, so a docstring or a page that drifts from the code fails here.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "mkdocs.yml"
DOCS = REPO / "docs"
#: Figures are committed: keep each one small.
MAX_FIGURE_BYTES = 200_000


def _nav_pages(nav) -> list[str]:
    """Markdown paths listed in a mkdocs ``nav`` (nested lists and dicts), URLs left out."""
    if isinstance(nav, str):
        return [] if "://" in nav else [nav]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    return []


def _config() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML (a mkdocs dependency) is not installed")
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))


def test_every_page_in_nav_exists():
    pages = _nav_pages(_config()["nav"])
    assert "index.md" in pages
    missing = [page for page in pages if not (DOCS / page).is_file()]
    assert not missing, f"pages listed in mkdocs.yml nav but missing from docs/: {missing}"


def test_referenced_figures_exist_and_are_small():
    pattern = re.compile(r"!\[[^\]]*\]\((?:\.\./)*(figures/[^)\s]+)\)")
    referenced = {m for page in DOCS.rglob("*.md")
                  for m in pattern.findall(page.read_text(encoding="utf-8"))}
    assert referenced, "no figure is referenced by the pages"
    missing = sorted(f for f in referenced if not (DOCS / f).is_file())
    assert not missing, f"run `python docs/make_figures.py` to make {missing}"
    large = {f: (DOCS / f).stat().st_size for f in referenced
             if (DOCS / f).stat().st_size > MAX_FIGURE_BYTES}
    assert not large, f"figures over {MAX_FIGURE_BYTES} bytes: {large}"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built by ``mkdocs build --strict`` (once for the tests of this file)."""
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        pytest.importorskip(
            module, reason=f"{module} is not installed: pip install -e '.[docs]' to build the docs"
        )
    site = tmp_path_factory.mktemp("docs") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(CONFIG),
         "--site-dir", str(site)],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=900, check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-6000:]}"
    return site


def test_strict_build(site):
    for page in _nav_pages(_config()["nav"]):
        html = site / ("index.html" if page == "index.md" else
                       page.removesuffix(".md").removesuffix("/index") + "/index.html")
        assert html.is_file(), f"{page} was not rendered to {html.relative_to(site)}"
    api = (site / "api" / "beatdetect" / "index.html").read_text(encoding="utf-8")
    assert 'id="beatdetect.gan.estimator.SIBeatGANDetector"' in api
    # The docstrings' Sphinx roles, math and citations are rewritten (docs/griffe_rst.py),
    # and `#:` comments document attributes (griffe-sphinx): none shows verbatim.
    leftover = re.compile(
        r":(?:func|class|meth|mod|data|attr|math):(?:`|<code>)|\.\. (?:math::|\[\d)|\]_")
    for page in (site / "api").rglob("*.html"):
        found = leftover.search(page.read_text(encoding="utf-8"))
        assert found is None, f"{page.relative_to(site)} shows {found.group(0)!r} verbatim"
    datasets = (site / "api" / "datasets" / "index.html").read_text(encoding="utf-8")
    assert "Samples per beat given to the models" in datasets  # BEAT_LENGTH's #: comment


def _documented_objects(site: Path) -> dict[str, list[str]]:
    """Identifiers of the site's API inventory (``objects.inv``), by their last name."""
    raw = (site / "objects.inv").read_bytes()
    body = zlib.decompress(raw.split(b"\n", 4)[4]).decode("utf-8")
    by_name: dict[str, list[str]] = {}
    for line in body.splitlines():
        identifier = line.split(" ", 1)[0]
        by_name.setdefault(identifier.rsplit(".", 1)[-1], []).append(identifier)
    return by_name


def test_every_public_module_is_in_the_api_reference(site):
    """A new module of beatdetect gets onto an API page (docs/api/*.md) with its first name."""
    import beatdetect

    by_name = _documented_objects(site)

    def documented(obj, name: str) -> bool:  # under any module that exposes this object
        for identifier in by_name.get(name, []):
            owner = identifier.rsplit(".", 1)[0]
            try:
                if getattr(importlib.import_module(owner), name) is obj:
                    return True
            except (ImportError, AttributeError):
                continue
        return False

    modules = [m.name for m in pkgutil.walk_packages(beatdetect.__path__, prefix="beatdetect.")
               if not any(part.startswith("_") for part in m.name.split(".")[1:])]
    missing = []
    for name in modules:
        module = importlib.import_module(name)
        public = [n for n in getattr(module, "__all__", [])
                  if not n.startswith("__")
                  and getattr(getattr(module, n), "__module__", name).startswith("beatdetect")]
        if public and not any(documented(getattr(module, n), n) for n in public):
            missing.append(name)
    assert not missing, (f"modules without an API page: {missing}; add `::: MODULE` (or its "
                         "objects) to a page of docs/api/ and to the nav of mkdocs.yml")


def _glance_table(markdown: str) -> dict[str, str]:
    """``name -> default`` from the backticked ``name=default`` of a "Parameters at a glance"
    table (the rows after that heading, up to the first line that is not a table row)."""
    section = markdown.split("## Parameters at a glance", 1)[1]
    rows = []
    for line in section.split("\n|", 1)[1].splitlines():
        if not line.startswith("|") and rows:
            break
        rows.append(line)
    found = re.findall(r"`([a-z_][a-z0-9_]*)=([^`]+)`", "\n".join(rows))
    return dict(found)


def test_glance_table_is_parsed():
    page = ("## Parameters at a glance\n\n| group | parameters |\n| --- | --- |\n"
            "| a | `lr=0.001`, `name=\"x\"` (or `True`) |\n\nText `after=1`.\n")
    assert _glance_table(page) == {"lr": "0.001", "name": '"x"'}


def test_detector_parameters_at_a_glance_match_get_params():
    """docs/detector.md lists every constructor parameter of SIBeatGANDetector, each with
    its default, and nothing else."""
    import ast

    from beatdetect import SIBeatGANDetector

    documented = _glance_table((DOCS / "detector.md").read_text(encoding="utf-8"))
    params = SIBeatGANDetector().get_params(deep=False)
    assert set(documented) == set(params), (
        f"missing from the table: {sorted(set(params) - set(documented))}; "
        f"not parameters: {sorted(set(documented) - set(params))}")
    wrong = {name: (text, params[name]) for name, text in documented.items()
             if ast.literal_eval(text) != params[name]}
    assert not wrong, f"documented default != get_params(): {wrong}"
