"""Sphinx extension of the na64tools documentation site.

It keeps the site true to the code it documents, at every build:

* **API pages** (``docs/api/generated/``) are written at ``builder-inited`` from the package itself:
  one page per public module of ``na64tools`` (found with :func:`pkgutil.walk_packages`), listing
  every public name (the module's ``__all__``; without ``__all__``, the public names the module
  defines). A name re-exported from the module that documents it is linked, not documented twice.
  A module that is not there yet simply has no page; a module that fails to import is a warning
  (an error under ``sphinx-build -W``).
* **Optional toctree entries**: pages written by other parts of the project (``simulation``,
  ``dask``, the tutorial notebooks, ...) are listed in ``na64_optional_pages``; an entry of a
  toctree that names one of them (or a glob such as ``notebooks/*``) is dropped while no such
  document exists, so the site builds without warnings before and after they land. A MyST comment
  line ``% na64-if-empty PATTERN: text`` is replaced by ``text`` while nothing matches PATTERN.
* ``{na64-setup-table}`` renders the parameters of a shipped setup description
  (:func:`na64tools.default_setup`) with value, unit, meaning and source.
* ``{na64-benchmarks}`` lists the benchmark scripts of ``benchmarks/`` with their description and
  the exact command that measures each figure.
* ``{na64-signature} name`` shows the call signature of a function as the code defines it.
* ``{na64-cli}`` renders the usage and options of every ``na64tools`` subcommand from the argparse
  parser itself (:func:`na64tools.cli.build_parser`), so that a changed option or help text shows
  on the CLI reference at the next build.
* **Rendered notebooks without build-machine traces**: the outputs of the executed notebooks
  (a Dask client's dashboard link on 127.0.0.1, a worker's scratch folder under /tmp) would show
  addresses and paths of the machine that built the site; :func:`scrub` replaces them with
  neutral placeholders and removes such links (``doctree-read``).
* **Numbers from the code**: :func:`facts` computes the numbers the narrative pages quote (defaults,
  counts, cross-section ratios, energy loss, decay lengths) from the package; they are the MyST
  substitutions ``{{ name }}`` of every page (``myst_substitutions``), so a page cannot quote a
  stale default.
"""

from __future__ import annotations

import ast
import dataclasses
import fnmatch
import importlib
import inspect
import pkgutil
import posixpath
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
GENERATED = "api/generated"

# --------------------------------------------------------------------------------------------
# API pages
# --------------------------------------------------------------------------------------------


def _is_private(modname: str) -> bool:
    return any(part.startswith("_") for part in modname.split("."))


def discover_modules(package: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Public modules of ``package`` (itself included) and the ``(name, error)`` of those that fail to import."""
    errors: list[tuple[str, str]] = []
    pkg = importlib.import_module(package)
    names = [package]

    def onerror(name: str) -> None:
        import sys

        errors.append((name, repr(sys.exc_info()[1])))

    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + ".", onerror=onerror):
        if not _is_private(info.name):
            names.append(info.name)
    return sorted(set(names)), errors


def _defined_names(module) -> list[str]:
    """Public top-level names a module defines (functions, classes, assignments), in source order."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return []
    out: list[str] = []
    for node in ast.parse(source).body:
        targets: list[ast.expr] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.append(node.name)
            continue
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for t in targets:
            if isinstance(t, ast.Name):
                out.append(t.id)
    seen: set[str] = set()
    return [n for n in out if not n.startswith("_") and not (n in seen or seen.add(n))]


def public_names(module) -> list[str]:
    """The public names of a module: its ``__all__`` (dunders left out), else the names it defines."""
    names = getattr(module, "__all__", None)
    if names is None:
        return _defined_names(module)
    return [n for n in names if not (n.startswith("__") and n.endswith("__"))]


@dataclasses.dataclass
class Entry:
    """One public name of a module page."""

    name: str
    target: str  # full dotted name the summary table links to
    kind: str  # module, class, exception, function, data
    owned: bool  # documented in full on this page


def _kind(obj: Any) -> str:
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or inspect.ismethod(obj):
        return "function"
    if callable(obj) and hasattr(obj, "__module__") and hasattr(obj, "__qualname__"):
        return "function"
    return "data"


def module_entries(modname: str, documented: dict[str, list[str]]) -> tuple[list[Entry], list[str]]:
    """The entries of one module page and the names that could not be resolved (with the reason)."""
    module = importlib.import_module(modname)
    entries: list[Entry] = []
    problems: list[str] = []
    for name in documented[modname]:
        try:
            obj = getattr(module, name)
        except ModuleNotFoundError as err:
            root = modname.split(".")[0]
            if err.name and (err.name == root or err.name.startswith(root + ".")):
                # a lazily imported submodule of the package that is not written yet
                logger.info(f"na64docs: {modname}.{name} not available yet ({err}); left out")
            else:
                problems.append(f"{modname}.{name} cannot be imported: {err!r}")
            continue
        except AttributeError as err:
            problems.append(f"{modname}.__all__ names {name!r}, which does not exist ({err})")
            continue
        except Exception as err:  # noqa: BLE001 - reported as a build warning
            problems.append(f"{modname}.{name} cannot be imported: {err!r}")
            continue
        kind = _kind(obj)
        if kind == "module":
            entries.append(Entry(name, obj.__name__, kind, owned=False))
            continue
        owner = getattr(obj, "__module__", None) if kind != "data" else None
        qualname = getattr(obj, "__qualname__", name)
        if (owner and owner != modname and owner in documented
                and getattr(obj, "__name__", None) in documented[owner] and "." not in qualname):
            entries.append(Entry(name, f"{owner}.{qualname}", kind, owned=False))
        else:
            entries.append(Entry(name, f"{modname}.{name}", kind, owned=True))
    return entries, problems


_AUTODOC = {
    "class": ("autoclass", [":members:", ":show-inheritance:"]),
    "exception": ("autoexception", [":members:", ":show-inheritance:"]),
    "function": ("autofunction", []),
}


def _has_doc_comment(modname: str, name: str) -> bool:
    """Whether a module-level name has a ``#:`` comment or a docstring after its assignment."""
    from sphinx.pycode import ModuleAnalyzer, PycodeError

    try:
        return ("", name) in ModuleAnalyzer.for_module(modname).find_attr_docs()
    except PycodeError:
        return False


def _data_lines(modname: str, name: str) -> list[str]:
    """Directive lines of a module-level data name.

    ``autodata`` shows the docstring of the value's *type* (``dict``'s, ``tuple``'s) when the name
    has no doc comment, which is wrong (and not valid reST); such a name gets a bare ``py:data``
    with its type and, when short, its value.
    """
    value = getattr(importlib.import_module(modname), name)
    short = len(repr(value)) <= 80
    if _has_doc_comment(modname, name):
        return [f".. autodata:: {modname}.{name}"] + ([] if short else ["   :no-value:"])
    lines = [f".. py:data:: {name}", f"   :type: {type(value).__name__}"]
    if short:
        lines.append(f"   :value: {value!r}")
    return lines


def _first_paragraph(modname: str) -> str:
    """The first paragraph of a module's docstring, on one line."""
    doc = inspect.getdoc(importlib.import_module(modname)) or ""
    return " ".join(doc.strip().split("\n\n", 1)[0].split()) or "(no description)"


def _summary_item(target: str, modname: str) -> str:
    """An autosummary item: relative inside the current module, else the full name shown short."""
    if target.startswith(modname + "."):
        rel = target[len(modname) + 1:]
        return rel if "." not in rel else f"~{rel}"
    return f"~{target}"


def module_page(modname: str, entries: Sequence[Entry], submodules: Sequence[str]) -> str:
    """reStructuredText of one API page."""
    title = f"``{modname}``"
    lines = [f".. _api-{modname}:", "", title, "=" * len(title), "", f".. automodule:: {modname}", ""]
    if submodules:
        # not an autosummary: a package attribute can shadow its submodule of the same name
        # (na64tools.physics.cross_section is the function), and autosummary would list that
        lines += [".. rubric:: Modules", "", ".. list-table::", "   :widths: 30 70",
                  "   :class: autosummary longtable", ""]
        for m in submodules:
            lines += [f"   * - :py:mod:`~{m}`", f"     - {_first_paragraph(m)}"]
        lines += [""]
    if entries:
        lines += [".. rubric:: Public names", "", ".. autosummary::", "   :nosignatures:", ""]
        # a data name without a doc comment would show the docstring of its type (dict, tuple):
        # it is listed in the reference section only
        lines += [f"   {_summary_item(e.target, modname)}" for e in entries
                  if (e.kind != "module" or e.target not in submodules)
                  and not (e.kind == "data" and not _has_doc_comment(*e.target.rsplit(".", 1)))]
        lines += [""]
    owned = [e for e in entries if e.owned]
    if owned:
        lines += [".. rubric:: Reference", ""]
        for e in owned:
            if e.kind == "data":
                lines += _data_lines(modname, e.name) + [""]
                continue
            directive, options = _AUTODOC[e.kind]
            lines += [f".. {directive}:: {e.target}"] + [f"   {o}" for o in options] + [""]
    return "\n".join(lines)


def generate_api(app: Sphinx) -> None:
    """Write ``docs/api/generated/<module>.rst`` for every public module of the package."""
    package = app.config.na64_api_package
    outdir = Path(app.srcdir) / GENERATED
    outdir.mkdir(parents=True, exist_ok=True)
    modnames, errors = discover_modules(package)
    for name, err in errors:
        logger.warning(f"na64docs: cannot import {name}: {err}", type="na64docs", subtype="import")
    documented: dict[str, list[str]] = {}
    for modname in modnames:
        try:
            documented[modname] = public_names(importlib.import_module(modname))
        except Exception as err:  # noqa: BLE001 - reported as a build warning
            logger.warning(f"na64docs: cannot import {modname}: {err!r}", type="na64docs", subtype="import")
    written: set[str] = set()
    for modname in documented:
        entries, problems = module_entries(modname, documented)
        for p in problems:
            logger.warning(f"na64docs: {p}", type="na64docs", subtype="api")
        prefix = modname + "."
        submodules = [m for m in documented if m.startswith(prefix) and "." not in m[len(prefix):]]
        text = module_page(modname, entries, submodules)
        path = outdir / f"{modname}.rst"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.add(path.name)
    for stale in outdir.glob("*.rst"):
        if stale.name not in written:
            stale.unlink()


# --------------------------------------------------------------------------------------------
# References to re-exported names
# --------------------------------------------------------------------------------------------


def import_dotted(name: str) -> Any:
    """The object named by a dotted path (``pkg.mod.attr.attr``); ``None`` if there is none."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except Exception:  # noqa: BLE001 - AttributeError, or a lazy import that fails
            return None
        return obj
    return None


def canonical_name(obj: Any) -> str | None:
    """Where a module, class or function is documented: its module and qualified name."""
    if inspect.ismodule(obj):
        return obj.__name__
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str) and "<" not in qualname:
        return f"{module}.{qualname}"
    return None


def _missing_reference(app: Sphinx, env, node, contnode):
    """Resolve ``na64tools.X`` to where X is documented; warn about a broken one in the pages.

    ``{py:func}`na64tools.default_setup``` names the function as users import it, while the API
    reference documents it once, as ``na64tools.config.default_setup``. A reference to the
    package that resolves to nothing at all is a warning on the narrative pages (not in the
    docstrings of the API pages, whose type annotations are not all documented objects).
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    package = app.config.na64_api_package
    if not (target == package or target.startswith(package + ".")):
        return None
    obj = import_dotted(target)
    canonical = canonical_name(obj) if obj is not None else None
    if canonical and canonical != target:
        domain = env.get_domain("py")
        new = node.deepcopy()
        new["reftarget"] = canonical
        ref = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], canonical, new,
                                  contnode)
        if ref is not None:
            return ref
    if not node["refdoc"].startswith(GENERATED + "/"):
        logger.warning(f"na64docs: reference to {target!r} does not resolve to a documented object",
                       location=node, type="na64docs", subtype="ref")
    return None


# --------------------------------------------------------------------------------------------
# Optional toctree entries
# --------------------------------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\s*\{toctree\}")
_IF_EMPTY = re.compile(r"^%\s*na64-if-empty\s+(?P<pattern>\S+?):\s*(?P<text>.*)$")


def _matches(pattern: str, docnames: Iterable[str]) -> bool:
    if any(c in pattern for c in "*?["):
        return any(fnmatch.fnmatchcase(d, pattern) for d in docnames)
    return pattern in set(docnames)


def filter_optional(text: str, docname: str, found_docs: Iterable[str], optional: Iterable[str]) -> tuple[str, list[str]]:
    """Drop toctree entries naming absent optional pages; fill ``% na64-if-empty`` markers.

    Returns the new text and the entries that were dropped. Entries are resolved relative to the
    document's folder, as Sphinx does.
    """
    found = set(found_docs)
    base = posixpath.dirname(docname)
    optional = set(optional)
    out: list[str] = []
    dropped: list[str] = []
    fence: str | None = None
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if fence is None:
            m = _FENCE.match(stripped)
            if m:
                fence = m.group("fence")
            else:
                e = _IF_EMPTY.match(stripped)
                if e:
                    full = posixpath.normpath(posixpath.join(base, e.group("pattern")))
                    if not _matches(full, found):
                        out.append(e.group("text") + "\n")
                    continue
            out.append(line)
            continue
        if stripped.startswith(fence) and stripped.strip(fence[0]) == "":
            fence = None
            out.append(line)
            continue
        if stripped in optional and not stripped.startswith(":"):
            full = posixpath.normpath(posixpath.join(base, stripped))
            if not _matches(full, found):
                dropped.append(stripped)
                continue
        out.append(line)
    return "".join(out), dropped


def _source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    optional = app.config.na64_optional_pages
    if not any(p in source[0] for p in optional) and "na64-if-empty" not in source[0]:
        return
    text, dropped = filter_optional(source[0], docname, app.env.found_docs, optional)
    source[0] = text
    docs = getattr(app.env, "na64_optional_docs", set())
    docs.add(docname)
    app.env.na64_optional_docs = docs
    if dropped:
        logger.info(f"na64docs: {docname}: not yet written, left out of the toctree: {', '.join(dropped)}")


def _outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    """Re-read the pages with optional entries whenever documents appear or disappear."""
    if added or removed:
        return sorted(getattr(env, "na64_optional_docs", set()) & env.found_docs)
    return []


def _merge(app: Sphinx, env, docnames, other) -> None:
    env.na64_optional_docs = getattr(env, "na64_optional_docs", set()) | getattr(
        other, "na64_optional_docs", set())


def _purge(app: Sphinx, env, docname: str) -> None:
    getattr(env, "na64_optional_docs", set()).discard(docname)


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def format_number(value: float) -> str:
    """Short human form: ``1.98 × 10¹⁰``, ``0.038``, ``160``."""
    v = float(value)
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        mantissa, exp = f"{v:.5e}".split("e")
        mant = mantissa.rstrip("0").rstrip(".")
        e = str(int(exp)).translate(_SUPERSCRIPT)
        return f"10{e}" if mant == "1" else f"{mant} × 10{e}"
    return f"{v:.6g}"


def _cell(content: str | nodes.Node) -> nodes.entry:
    entry = nodes.entry()
    if isinstance(content, nodes.Node):
        entry += nodes.paragraph("", "", content)
    else:
        entry += nodes.paragraph(text=content)
    return entry


def build_table(headers: Sequence[str], rows: Sequence[Sequence[str | nodes.Node]],
                widths: Sequence[int], classes: Sequence[str] = ()) -> nodes.table:
    """A docutils table with a header row."""
    table = nodes.table(classes=["na64-table", "colwidths-given", *classes])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for w in widths:
        group += nodes.colspec(colwidth=w)
    head = nodes.thead()
    row = nodes.row()
    for h in headers:
        row += _cell(h)
    head += row
    group += head
    body = nodes.tbody()
    for r in rows:
        row = nodes.row()
        for c in r:
            row += _cell(c)
        body += row
    group += body
    return table


def setup_rows(setup, section: str) -> tuple[list[str], list[list[str | nodes.Node]], list[int]]:
    """Header, rows and column widths of the table of one section of a :class:`~na64tools.Setup`."""
    from na64tools.config import Cuts, Quantity

    obj = getattr(setup, section)
    if section == "backgrounds":
        rows = []
        for f in dataclasses.fields(obj):
            b = getattr(obj, f.name)
            value = f"< {b.value:g}" if b.upper_limit else (
                f"{b.value:g} ± {b.uncertainty:g}" if b.uncertainty else f"{b.value:g}")
            rows.append([f.metadata.get("doc", f.name), value, b.source])
        return ["source", "n_b (events)", "reference"], rows, [40, 20, 40]
    if isinstance(obj, Cuts):
        from na64tools.selection import declaration

        t = declaration(type(obj)).thresholds  # the comparison each threshold makes, declared once
        rows = [[nodes.literal(text=n), format_number(getattr(obj, n)), Cuts.unit(n),
                 nodes.literal(text=f"{t[n].variable} {t[n].op} {format_number(getattr(obj, n))}"),
                 Cuts.doc(n), Cuts.source(n)] for n in Cuts.names()]
        return (["cut", "value", "unit", "an event passes if", "meaning", "source"], rows,
                [17, 8, 8, 19, 25, 23])
    rows = []
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        key = nodes.literal(text=f"{section}.{f.name}")
        if isinstance(v, Quantity):
            rows.append([key, format_number(v), v.unit, f.metadata.get("doc", ""), v.source])
        else:
            rows.append([key, str(v), "", f.metadata.get("doc", ""), ""])
    return ["parameter", "value", "unit", "meaning", "source"], rows, [26, 11, 10, 27, 26]


class SetupTable(SphinxDirective):
    """``{na64-setup-table} [section ...]``: tables of a shipped setup description.

    Without arguments, every section of the setup. Option ``:setup:`` names the shipped setup
    (default ``na64mu_2022``); ``:no-headings:`` leaves out the section headings.
    """

    optional_arguments = 20
    option_spec = {"setup": directives.unchanged, "no-headings": directives.flag}

    def run(self) -> list[nodes.Node]:
        from na64tools.config import Setup, default_setup

        name = self.options.get("setup", "na64mu_2022")
        setup = default_setup(name)
        self.env.note_dependency(str(ROOT / "na64tools" / "data" / "setups" / f"{name}.yaml"))
        self.env.note_dependency(str(ROOT / "na64tools" / "config.py"))
        sections = [f for f in dataclasses.fields(Setup)
                    if dataclasses.is_dataclass(getattr(setup, f.name))]
        known = {f.name: f for f in sections}
        wanted = self.arguments or list(known)
        out: list[nodes.Node] = []
        for s in wanted:
            if s not in known:
                raise self.error(f"na64-setup-table: unknown setup section {s!r} "
                                 f"(expected one of: {', '.join(known)})")
            if "no-headings" not in self.options:
                doc = known[s].metadata.get("doc", "")
                out.append(nodes.rubric(text=f"{s}: {doc}" if doc else s))
            headers, rows, widths = setup_rows(setup, s)
            out.append(build_table(headers, rows, widths, classes=[f"na64-setup-{s}"]))
        return out


def benchmark_scripts(root: Path = ROOT) -> list[tuple[str, str, str]]:
    """``(relative path, description, target)`` of every ``benchmarks/bench_*.py``.

    The description is the first paragraph of the script's docstring, the target the paragraph
    that starts with ``Target:`` (without a trailing ``Run: ...`` sentence), or ``""``.
    """
    out = []
    for path in sorted((root / "benchmarks").glob("bench_*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        paragraphs = [" ".join(p.split()) for p in doc.strip().split("\n\n") if p.strip()]
        first = paragraphs[0] if paragraphs else ""
        target = next((p for p in paragraphs if p.startswith("Target")), "")
        target = re.sub(r"\s*Run:.*$", "", target.removeprefix("Target:").strip())
        out.append((path.relative_to(root).as_posix(), first, target))
    return out


class Benchmarks(SphinxDirective):
    """``{na64-benchmarks}``: the benchmark scripts, their description and command."""

    def run(self) -> list[nodes.Node]:
        scripts = benchmark_scripts()
        self.env.note_dependency(str(ROOT / "benchmarks"))
        for path, _, _ in scripts:
            self.env.note_dependency(str(ROOT / path))
        if not scripts:
            return [nodes.paragraph(text="No benchmark script is in benchmarks/ yet.")]
        rows = [[nodes.literal(text=f"python {path}"), doc or "(no description)", target or "(not stated)"]
                for path, doc, target in scripts]
        return [build_table(["command", "what it measures", "target"], rows, [30, 40, 30],
                            classes=["na64-benchmarks"])]


# --------------------------------------------------------------------------------------------
# The CLI reference
# --------------------------------------------------------------------------------------------

#: width of the rendered help text (argparse wraps at the terminal width, read from COLUMNS)
CLI_COLUMNS = 80


def cli_help() -> list[tuple[str, str]]:
    """``(command, help text)`` of ``na64tools`` and of each subcommand, as ``--help`` prints them."""
    import argparse
    import os

    from na64tools.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(CLI_COLUMNS)
    try:
        parser = build_parser()
        out = [("na64tools", parser.format_help())]
        for action in parser._actions:  # noqa: SLF001 - argparse has no public accessor
            if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
                for name, sub in action.choices.items():
                    out.append((f"na64tools {name}", sub.format_help()))
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return out


class CliReference(SphinxDirective):
    """``{na64-cli}``: one section per command with its ``--help`` text, from the parser."""

    def run(self) -> list[nodes.Node]:
        for path in sorted((ROOT / "na64tools" / "cli").glob("*.py")):
            self.env.note_dependency(str(path))
        out: list[nodes.Node] = []
        for command, text in cli_help():
            ident = nodes.make_id(command.replace(" ", "-"))
            section = nodes.section(ids=[ident], names=[nodes.fully_normalize_name(command)])
            section += nodes.title(text=command)
            block = nodes.literal_block(text.rstrip(), text.rstrip(), classes=["na64-cli-help"])
            block["language"] = "text"
            section += block
            self.state.document.note_implicit_target(section, section)
            out.append(section)
        return out


class Signature(SphinxDirective):
    """``{na64-signature} dotted.name [shown.name]``: the call signature, from the code itself."""

    required_arguments = 1
    optional_arguments = 1

    def run(self) -> list[nodes.Node]:
        import textwrap

        obj = import_dotted(self.arguments[0])
        if obj is None:
            raise self.error(f"na64-signature: {self.arguments[0]!r} does not exist")
        shown = self.arguments[1] if len(self.arguments) > 1 else self.arguments[0]
        sig = inspect.signature(obj)
        sig = sig.replace(parameters=[p.replace(annotation=inspect.Parameter.empty)
                                      for p in sig.parameters.values()],
                          return_annotation=inspect.Signature.empty)
        lines = textwrap.wrap(str(sig)[1:-1], width=90 - len(shown) - 1,
                              subsequent_indent=" " * (len(shown) + 1), break_long_words=False,
                              break_on_hyphens=False)
        text = f"{shown}(" + "\n".join(lines) + ")"
        block = nodes.literal_block(text, text)
        block["language"] = "python"
        return [block]


# --------------------------------------------------------------------------------------------
# Build-machine traces in the rendered notebooks
# --------------------------------------------------------------------------------------------

#: a link to a server of the build machine: <a href="http://127.0.0.1:PORT/...">
_LOCAL_HREF = re.compile(r"""\s+href=(["'])https?://(?:127\.0\.0\.1|localhost|\[::1\]):\d+[^"']*\1""")
#: a local URL in text
_LOCAL_URL = re.compile(r"(?P<scheme>https?|tcp|wss?)://(?:127\.0\.0\.1|localhost|\[::1\]):\d+"
                        r"(?P<path>/[\w./%-]*)?")


#: the text form of an ipywidgets container, shown where its live view cannot be
_WIDGET_REPR = re.compile(r"^\s*(VBox|HBox|Box|GridBox|Tab|Accordion|Stack|AppLayout|GridspecLayout)"
                          r"\(children=")
WIDGET_NOTE = ("[An interactive widget: it needs a running Python kernel. Run this notebook in "
               "JupyterLab or on Binder to use it.]")


def _path_patterns() -> list[tuple[re.Pattern, str]]:
    import tempfile

    out = []
    for path, name in [(str(ROOT), "REPO"), (tempfile.gettempdir(), "TMPDIR"),
                       ("/tmp", "TMPDIR"), (str(Path.home()), "~")]:
        if path and path != "/":
            out.append((re.compile(re.escape(path.rstrip("/")) + r"(?=/|\b)"), name))
    return out


def scrub(text: str) -> str:
    """``text`` without the build machine's local links, server ports and absolute paths."""
    text = _LOCAL_HREF.sub("", text)
    text = _LOCAL_URL.sub(lambda m: f"{m['scheme']}://127.0.0.1:PORT{m['path'] or ''}", text)
    for pattern, name in _path_patterns():
        text = pattern.sub(name, text)
    return text


def _scrub_notebooks(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    if not any(fnmatch.fnmatchcase(docname, p) for p in app.config.na64_scrub_pages):
        return
    for node in list(doctree.findall(nodes.raw)):
        new = scrub(node.astext())
        if new != node.astext():
            node.replace_self(nodes.raw(new, new, format=node.get("format", "html")))
    for node in list(doctree.findall(nodes.literal_block)):
        new = scrub(node.astext())
        if new != node.astext():
            block = node.deepcopy()
            block.children = [nodes.Text(new)]
            node.replace_self(block)
    for node in list(doctree.findall(nodes.reference)):
        uri = node.get("refuri", "")
        if _LOCAL_URL.match(uri):
            node.replace_self(nodes.Text(scrub(node.astext())))
    # a widget's text form (its view needs a running kernel): say so instead
    for node in list(doctree.findall(nodes.literal_block)):
        if _WIDGET_REPR.match(node.astext()):
            note = nodes.paragraph(classes=["na64-widget-note"])
            note += nodes.emphasis(text=WIDGET_NOTE)
            node.replace_self(note)


# --------------------------------------------------------------------------------------------
# Numbers from the code
# --------------------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def facts() -> dict[str, str]:
    """Numbers quoted on the narrative pages, computed from the package (strings, formatted).

    Returns a mapping substitution name -> text; the keys are the ``{{ name }}`` of the pages.
    Every value is recomputed at each build from the checkout being documented.
    """
    import numpy as np

    from na64tools import default_setup, physics, processor
    from na64tools import runner as run_module
    from na64tools.physics import eloss
    from na64tools.sim import beam
    from na64tools.stats.signal import yield_per_mot

    setup = default_setup()
    e0 = float(setup.beam.energy)
    x_cut = 1.0 - float(setup.cuts.p_out_max) / e0
    g = 1e-4

    def ratio(m: float, x_min: float) -> float:
        kw = dict(model="vector", energy=e0, target="Pb", x_min=x_min)
        return (physics.cross_section(m, g, method="IWW", **kw)
                / physics.cross_section(m, g, method="WW", **kw))

    f: dict[str, str] = {}
    from na64tools import __version__

    f["version"] = __version__
    chunk = int(run_module.DEFAULT_CHUNKSIZE)
    f["chunksize"] = f"{chunk:,}".replace(",", " ")
    f["chunksize_py"] = f"{chunk:_}"
    f["n_hists"] = str(len(processor.VARIABLES) + len(processor.MAIN_HISTS))
    f["n_cuts"] = str(len(setup.cuts.names()))
    f["x_cut"] = f"{x_cut:g}"
    f["beam_energy"] = f"{e0:g}"
    f["p_out_max"] = f"{float(setup.cuts.p_out_max):g}"
    f["mot"] = format_number(float(setup.run.mot))
    charge = "+" if beam.MUON_PDGID < 0 else "−"  # PDG: 13 is mu-, -13 is mu+
    f["beam_muon"] = f"μ{'⁺' if charge == '+' else '⁻'}"
    # IWW/WW of the vector boson on lead, total (x > 0) and in the signal region (x > x_cut)
    for m, key in [(0.001, "1mev"), (0.01, "10mev"), (0.07, "70mev"), (0.1, "100mev"),
                   (0.2, "200mev"), (1.0, "1gev")]:
        f[f"iww_ww_x0_{key}"] = _fmt(ratio(m, 0.0))
        f[f"iww_ww_xcut_{key}"] = _fmt(ratio(m, x_cut))
    # mean energy loss in the target: ionisation (setup ecal.mip) + radiative (b E rho L)
    mat = physics.material(setup.target.material)
    b_tot = sum(float(eloss.b_value(p, e0, mat)) for p in ("brems", "pair", "photonuclear"))
    radiative = b_tot * 1e-6 * e0 * mat.density * float(setup.target.thickness)
    ionisation = float(setup.ecal.mip)
    f["eloss_radiative"] = _fmt(radiative)
    f["eloss_ionisation"] = _fmt(ionisation)
    f["eloss_total"] = _fmt(radiative + ionisation)
    f["eloss_percent"] = f"{100 * (radiative + ionisation) / e0:.1f}"
    f["target_thickness"] = f"{float(setup.target.thickness):g}"
    # what the outputs say they are (na64tools.report: one place for the status lines)
    from na64tools import report

    f["background_status"] = report.BACKGROUND_STATUS
    f["calibration_status"] = report.CALIBRATION_STATUS
    f["reach_status"] = report.REACH_STATUS
    f["efficiency_correction"] = f"{float(setup.signal.efficiency_correction):g}"
    # gamma c tau of the Lmu-Ltau Z' at the coupling giving 2.3 events (efficiency 1)
    hbarc = 1.973269804e-16  # GeV m
    e_x = 120.0  # GeV, a typical boson energy for x > 0.5
    for m, key in [(0.001, "1mev"), (0.01, "10mev"), (0.1, "100mev")]:
        gg = g * np.sqrt(2.303 / (float(np.ravel(yield_per_mot(m, g, setup=setup, x_min=x_cut))[0])
                                  * float(setup.run.mot)))
        ctau = e_x / m * hbarc / float(physics.width_zprime(m, gg, "total"))
        f[f"ctau_{key}"] = _length(ctau)
    return f


def _length(metres: float) -> str:
    """A length in the unit that reads best: ``6 mm``, ``0.6 m``, ``60 m``, ``1.2 km``."""
    for unit, scale in [("km", 1e3), ("m", 1.0), ("cm", 1e-2), ("mm", 1e-3), ("µm", 1e-6)]:
        if metres >= scale:
            return f"{metres / scale:.2g} {unit}"
    return f"{metres / 1e-6:.2g} µm"


def _add_facts(app: Sphinx, config) -> None:
    subs = dict(facts())
    subs.update(getattr(config, "myst_substitutions", {}) or {})
    config.myst_substitutions = subs


# --------------------------------------------------------------------------------------------


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("na64_api_package", "na64tools", "env")
    app.add_config_value("na64_optional_pages", [], "env")
    app.add_config_value("na64_scrub_pages", ["notebooks/*"], "env")
    app.connect("doctree-read", _scrub_notebooks)
    app.connect("builder-inited", generate_api)
    app.connect("source-read", _source_read)
    app.connect("missing-reference", _missing_reference)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-merge-info", _merge)
    app.connect("env-purge-doc", _purge)
    app.add_directive("na64-setup-table", SetupTable)
    app.add_directive("na64-benchmarks", Benchmarks)
    app.add_directive("na64-cli", CliReference)
    app.add_directive("na64-signature", Signature)
    app.connect("config-inited", _add_facts)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
