"""MkDocs hooks of the beatdetect site (loaded by ``hooks:`` in ``mkdocs.yml``).

1. API pages of modules that are still being written (``beatdetect.baselines``,
   ``.benchmark``, ``.parallel``, ``.plotting``, ``.self_improvement``, ``.cli``) are
   generated and added to the navigation only once the module's source exists, so
   ``mkdocs build --strict`` passes before and after. Until then, links to those pages
   (``[text](api/plotting.md)``) are rendered as their text alone.
2. An image under ``figures/`` that ``docs/make_figures.py`` has not produced yet is replaced
   by a note saying how to make it, instead of a broken image that fails the strict build.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.beatdetect")

#: Module -> one-line description, in navigation order.
OPTIONAL_API = {
    "beatdetect.baselines": "Baseline detectors with the same outlier-detector contract.",
    "beatdetect.benchmark": "Protocols, model registry and results tables.",
    "beatdetect.parallel": "Benchmark jobs and grid searches, locally or on a Dask cluster.",
    "beatdetect.plotting": "Beats, reconstructions, explanations, ROC/PR curves (matplotlib).",
    "beatdetect.self_improvement": "The distillation and contrastive loss terms of SI-BeatGAN.",
    "beatdetect.cli": "The `beatdetect` command line.",
}
API_SECTION = "API reference"
API_LINK = re.compile(
    r"\[(?P<text>[^\]]+)\]\((?P<up>(?:\.\./)*)api/(?P<name>[a-z_]+)\.md(?P<anchor>#[^)\s]*)?\)"
)
FIGURE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<src>(?:\.\./)*figures/[^)\s]+)\)(?:\{[^}]*\})?")


def _repo(config) -> Path:
    return Path(config.config_file_path).resolve().parent


def _module_exists(repo: Path, module: str) -> bool:
    path = repo.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def available_optional_modules(repo: Path) -> list[str]:
    """The optional API modules whose source file exists in the checkout."""
    return [module for module in OPTIONAL_API if _module_exists(repo, module)]


def _page_path(module: str) -> str:
    return f"api/{module.split('.', 1)[1]}.md"


def on_config(config, **kwargs):
    modules = available_optional_modules(_repo(config))
    missing = [m for m in OPTIONAL_API if m not in modules]
    if missing:
        log.info("API pages left out until the modules exist: %s", ", ".join(missing))
    for entry in config.nav or []:
        if isinstance(entry, dict) and API_SECTION in entry:
            section = entry[API_SECTION]
            listed = {next(iter(item.values())) for item in section if isinstance(item, dict)}
            for module in modules:
                if _page_path(module) not in listed:
                    section.append({module: _page_path(module)})
    return config


def on_files(files, config, **kwargs):
    for module in available_optional_modules(_repo(config)):
        path = _page_path(module)
        if files.get_file_from_path(path) is None:
            content = (
                f"# {module}\n\n{OPTIONAL_API[module]}\n\n::: {module}\n"
                "    options:\n      show_root_heading: false\n      show_root_toc_entry: false\n"
            )
            files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown, page, config, files, **kwargs):
    docs_dir = Path(config.docs_dir)
    page_dir = (docs_dir / page.file.src_uri).parent
    missing_api = {
        module.split(".", 1)[1]
        for module in OPTIONAL_API
        if module not in available_optional_modules(_repo(config))
    }

    def unlink(match: re.Match) -> str:
        return match["text"] if match["name"] in missing_api else match.group(0)

    def replace(match: re.Match) -> str:
        target = (page_dir / match["src"]).resolve()
        if target.is_file():
            return match.group(0)
        log.info("%s: figure %s not generated yet", page.file.src_uri, match["src"])
        return (
            f"*Figure not generated yet ({match['alt']}): run `python docs/make_figures.py` "
            "to make it from MIT-BIH.*"
        )

    return FIGURE.sub(replace, API_LINK.sub(unlink, markdown))
