"""Griffe extension: render the reStructuredText bits of numpydoc docstrings as Markdown.

beatdetect's docstrings follow numpydoc, which borrows a few constructs from Sphinx:
cross-reference roles (``:func:`~beatdetect.datasets.detect_r_peaks```), inline and display
math (``:math:`\\tau```, ``.. math::``) and numbered citations (``.. [1] Zhou ...`` cited as
``[1]_``). mkdocstrings' numpy parser passes them through verbatim, so this extension
rewrites them before rendering:

- roles become *optional* cross-references (``<autoref ... optional>``): a link when the
  target is rendered somewhere in the site, plain code otherwise, never a build warning;
- math becomes ``\\( ... \\)`` and ``$$ ... $$`` for ``pymdownx.arithmatex``;
- citations become a list ``[1] Zhou ...`` and ``[1]_`` becomes ``[1]``;
- a module or class attribute without docstring but with ``#:`` comment lines right above
  it (Sphinx autodoc's convention, used throughout beatdetect) gets them as docstring.

Loaded by ``mkdocs.yml`` (``extensions: [docs/griffe_rst.py:RstToMarkdown]``). Docs-only:
the library's docstrings stay valid numpydoc for Sphinx, IDEs and ``help()``.
"""

from __future__ import annotations

import html
import re
import textwrap

import griffe

ROLE = re.compile(
    r":(?:py:)?(?P<role>func|class|meth|mod|attr|data|exc|obj|const):`(?P<target>[^`]+)`"
)
MATH_ROLE = re.compile(r":math:`(?P<tex>[^`]+)`")
CITATION_USE = re.compile(r"\[(?P<label>[0-9]+|#?[A-Za-z][\w-]*)\]_")
CITATION_DEF = re.compile(r"^(?P<indent>\s*)\.\. \[(?P<label>[^\]]+)\]\s*(?P<text>.*)$")
MATH_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. math::\s*(?P<rest>.*)$")


#: Names that ``beatdetect/__init__.py`` exports lazily (``__getattr__``), which static
#: analysis cannot see, mapped to where they are documented.
LAZY_EXPORTS = {"beatdetect.SIBeatGANDetector": "beatdetect.detector.SIBeatGANDetector"}


def _resolve(obj: griffe.Object, target: str, loader: griffe.GriffeLoader) -> str:
    """Full identifier of ``target`` as seen from ``obj``'s docstring (best effort)."""
    target = target.rstrip("()")
    for exported, documented in LAZY_EXPORTS.items():
        if target == exported or target.startswith(exported + "."):
            return documented + target[len(exported):]
    candidates = []
    if target.startswith("beatdetect"):
        candidates.append(target)
    scope = obj
    while scope is not None:
        candidates.append(f"{scope.path}.{target}")
        scope = scope.parent
    candidates.append(f"beatdetect.{target}")
    collection = loader.modules_collection
    for path in candidates:
        try:
            collection[path]
        except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            continue
        return path
    return target


def _role(obj: griffe.Object, loader: griffe.GriffeLoader, match: re.Match) -> str:
    target = match["target"].strip()
    explicit = re.fullmatch(r"(?P<title>.+?)\s*<(?P<target>[^>]+)>", target)
    if explicit:
        title, target = explicit["title"], explicit["target"]
    else:
        title = target.lstrip("~").split(".")[-1] if target.startswith("~") else target
    identifier = _resolve(obj, target.lstrip("~"), loader)
    return (
        f'<autoref identifier="{html.escape(identifier)}" optional>'
        f"<code>{html.escape(title)}</code></autoref>"
    )


def _math_blocks(lines: list[str]) -> list[str]:
    """``.. math::`` directives (one line, or an indented block) to ``$$`` blocks."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = MATH_DIRECTIVE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent = match["indent"]
        body: list[str] = []
        i += 1
        # The directive's content: following lines that are blank or indented deeper.
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)
        ):
            body.append(lines[i])
            i += 1
        tex_lines = [match["rest"].strip()] if match["rest"].strip() else []
        tex_lines += textwrap.dedent("\n".join(body)).strip("\n").splitlines()
        tex = "\n".join(tex_lines)
        out += ["", f"{indent}$$", *[f"{indent}{line}" for line in tex.splitlines()],
                f"{indent}$$", ""]
    return out


def _citations(lines: list[str]) -> list[str]:
    """``.. [1] text`` (with indented continuation lines) to Markdown list items."""
    out: list[str] = []
    for line in lines:
        match = CITATION_DEF.match(line)
        if match:
            if out and out[-1].strip() and not out[-1].lstrip().startswith("- ["):
                out.append("")
            out.append(f"{match['indent']}- [{match['label']}] {match['text']}")
        else:
            out.append(line)
    return out


def rst_to_markdown(text: str, obj: griffe.Object, loader: griffe.GriffeLoader) -> str:
    """Rewrite the Sphinx constructs of one docstring (see the module docstring)."""
    lines = _citations(_math_blocks(text.splitlines()))
    text = "\n".join(lines)
    text = MATH_ROLE.sub(lambda m: rf"\({m['tex']}\)", text)
    text = ROLE.sub(lambda m: _role(obj, loader, m), text)
    return CITATION_USE.sub(lambda m: f"[{m['label']}]", text)


def _comment_docstring(obj: griffe.Object, loader: griffe.GriffeLoader) -> str | None:
    """The ``#:`` comment lines right above an attribute (Sphinx autodoc's convention)."""
    if not obj.is_attribute or obj.lineno is None or obj.filepath is None:
        return None
    try:
        lines = loader.lines_collection[obj.filepath]
    except KeyError:
        return None
    comment: list[str] = []
    index = obj.lineno - 2  # lines are 1-based; start at the line above the assignment
    while index >= 0 and lines[index].strip().startswith("#:"):
        comment.insert(0, lines[index].strip()[2:].strip())
        index -= 1
    return " ".join(comment) or None


class RstToMarkdown(griffe.Extension):
    """Rewrite roles, math and citations of every docstring once the tree is built, and
    give module attributes documented with ``#:`` comments their comment as docstring."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs) -> None:
        if obj.is_alias:
            return
        if obj.docstring is None:
            text = _comment_docstring(obj, loader)
            if text is None:
                return
            obj.docstring = griffe.Docstring(text, lineno=obj.lineno, parent=obj)
        obj.docstring.value = rst_to_markdown(obj.docstring.value, obj, loader)
