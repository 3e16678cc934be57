"""Griffe extension: the reStructuredText that mkdocstrings' numpydoc support leaves as is.

mkdocstrings-python parses numpydoc itself (``docstring_style: numpy`` in ``mkdocs.yml``):
sections, parameter types, ``>>>`` examples, and ``double backticks`` (code in Markdown
too). The extension griffe-sphinx turns ``#:`` comments above attributes into docstrings.
Three Sphinx constructs of beatdetect's docstrings have no Markdown equivalent and would
show verbatim, so this extension rewrites them before rendering:

- cross-reference roles (``:func:`~beatdetect.datasets.rr_intervals```, ``:class:``,
  ``:meth:``, ``:mod:``, ``:data:``, ``:attr:``) become *optional* autorefs: a link when the
  target is rendered on a page, plain code otherwise (scikit-learn or torch objects, private
  helpers). mkdocstrings' own syntax (``[title][identifier]``, with ``scoped_crossrefs``)
  cannot replace them: a target without a page fails the strict build. Names resolve in the
  docstring's scope with griffe's ``Object.resolve``, as ``scoped_crossrefs`` does;
- math: ``:math:`\\tau``` and ``.. math::`` become ``\\( ... \\)`` and ``$$ ... $$`` for
  ``pymdownx.arithmatex``;
- numbered citations: ``.. [1] Zhou ...`` becomes a list item ``[1] Zhou ...`` and ``[1]_``
  becomes ``[1]``.

Docs-only: the docstrings stay valid numpydoc for Sphinx, IDEs and ``help()``.
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
LAZY_EXPORTS = {"beatdetect.SIBeatGANDetector": "beatdetect.gan.estimator.SIBeatGANDetector"}


def _resolve(obj: griffe.Object, target: str) -> str:
    """Full identifier of ``target`` as written in ``obj``'s docstring.

    The first dotted name is looked up in the docstring's scope (members, imports, then the
    enclosing objects'); a name found nowhere, e.g. ``sklearn`` or ``beatdetect``, means the
    target is already written in full.
    """
    target = target.rstrip("()")
    for exported, documented in LAZY_EXPORTS.items():
        if target == exported or target.startswith(exported + "."):
            return documented + target[len(exported):]
    head, dot, rest = target.partition(".")
    try:
        head = obj.resolve(head)
    except griffe.NameResolutionError:
        return target
    return head + dot + rest


def _role(obj: griffe.Object, match: re.Match) -> str:
    target = match["target"].strip()
    explicit = re.fullmatch(r"(?P<title>.+?)\s*<(?P<target>[^>]+)>", target)
    if explicit:
        title, target = explicit["title"], explicit["target"]
    else:  # ``~a.b.c`` shows ``c``, ``a.b.c`` shows it all
        title = target.lstrip("~").split(".")[-1] if target.startswith("~") else target
    identifier = _resolve(obj, target.lstrip("~"))
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
        out += ["", f"{indent}$$", *[f"{indent}{line}" for line in tex_lines], f"{indent}$$", ""]
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


def rst_to_markdown(text: str, obj: griffe.Object) -> str:
    """Rewrite the Sphinx constructs of one docstring (see the module docstring)."""
    text = "\n".join(_citations(_math_blocks(text.splitlines())))
    text = MATH_ROLE.sub(lambda m: rf"\({m['tex']}\)", text)
    text = ROLE.sub(lambda m: _role(obj, m), text)
    return CITATION_USE.sub(lambda m: f"[{m['label']}]", text)


class RstToMarkdown(griffe.Extension):
    """Rewrite roles, math and citations of every docstring once the package is loaded
    (after griffe-sphinx has given ``#:``-commented attributes their docstrings)."""

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if not obj.is_alias and obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value, obj)
