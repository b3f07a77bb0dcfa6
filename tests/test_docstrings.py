"""Every public function of na64tools documents its arguments and result (numpydoc), and the
entry points carry a runnable Examples section (issue #19, item 4).

"Public" is what the API pages show (docs/_ext/na64docs.py): each public module's ``__all__``
(else the names it defines), plus the functions of the ``na64tools.cli`` subcommand modules. A
function or method is checked in the module that defines it (re-exports are not checked twice):

* every argument other than ``self``/``cls`` is listed by name under ``Parameters`` (``*args`` and
  ``**kwargs`` as ``*args``/``**kwargs``, or by their bare name);
* a function that returns something (a return annotation other than ``None``; without annotation,
  a ``return <value>`` in its body) has a ``Returns`` (or ``Yields``) section;
* a class with its own ``__init__`` documents the constructor arguments under ``Parameters`` in
  the class docstring or in ``__init__``'s (a dataclass's generated ``__init__`` is not checked:
  its fields carry their documentation where they are declared).

Run ``python tests/test_docstrings.py`` for the list of offenders.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
import pkgutil
import re
import textwrap
import typing

import pytest

PACKAGE = "na64tools"

#: the entry points that must carry an ``Examples`` section (and whose examples are run below)
ENTRY_POINTS = [
    "na64tools.sim.simulate",
    "na64tools.runner.run",
    "na64tools.analysis.Analysis",
    "na64tools.stats.limits.upper_limit",
    "na64tools.stats.limits.coupling_limit",
    "na64tools.interactive.widgets.CutExplorer",
    "na64tools.clients.make_client",
]

_SECTION = re.compile(r"^(?P<name>[A-Z][A-Za-z ]+)\n[ ]*-{3,}[ ]*$", re.M)


def _sections(doc: str | None) -> dict[str, str]:
    """The numpydoc sections of a docstring: ``{title: body}``."""
    if not doc:
        return {}
    doc = inspect.cleandoc(doc)
    out: dict[str, str] = {}
    matches = list(_SECTION.finditer(doc))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(doc)
        out[m.group("name").strip()] = doc[m.end():end]
    return out


def _listed(section: str) -> set[str]:
    """The names a Parameters/Attributes section lists (``a, b : type`` lines at column 0)."""
    names: set[str] = set()
    for line in section.splitlines():
        if not line or line[0].isspace():
            continue
        head = line.split(" : ")[0].split(":")[0] if " : " in line else line.strip()
        for part in head.split(","):
            part = part.strip()
            if part:
                names.add(part)
                names.add(part.lstrip("*"))
    return names


def public_modules() -> list[str]:
    pkg = importlib.import_module(PACKAGE)
    names = [PACKAGE]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=PACKAGE + "."):
        if not any(p.startswith("_") for p in info.name.split(".")):
            names.append(info.name)
    return sorted(set(names))


def _defined_names(module) -> list[str]:
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return []
    out = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.append(node.name)
    return [n for n in out if not n.startswith("_")]


def public_names(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None or module.__name__.startswith(PACKAGE + ".cli"):
        names = list(names or []) + _defined_names(module)
    return [n for n in dict.fromkeys(names) if not (n.startswith("__") and n.endswith("__"))]


def _returns_value(func) -> bool:
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # noqa: BLE001 - fall back on the raw annotation
        hints = getattr(func, "__annotations__", {})
    if "return" in hints:
        ret = hints["return"]
        return ret is not None and ret is not type(None) and ret != "None"
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return False
    top = tree.body[0]
    for node in ast.walk(top):
        if node is not top and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                 ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            return True
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
    return False


def _arguments(func) -> list[inspect.Parameter]:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    return [p for p in sig.parameters.values() if p.name not in ("self", "cls")]


def _check_function(label: str, func, doc: str | None, problems: list[str],
                    check_returns: bool = True) -> None:
    if not doc or not doc.strip():
        problems.append(f"{label}: no docstring")
        return
    secs = _sections(doc)
    args = _arguments(func)
    if args:
        listed = _listed(secs.get("Parameters", "")) | _listed(secs.get("Other Parameters", ""))
        missing = [p.name for p in args if p.name not in listed]
        if missing:
            problems.append(f"{label}: Parameters does not list {', '.join(missing)}")
    if check_returns and _returns_value(func) and not ({"Returns", "Yields"} & secs.keys()):
        problems.append(f"{label}: no Returns section")


def _check_class(label: str, cls, problems: list[str]) -> None:
    if not cls.__doc__ or not cls.__doc__.strip():
        problems.append(f"{label}: no docstring")
        return
    init = cls.__dict__.get("__init__")
    generated = init is not None and getattr(getattr(init, "__code__", None), "co_filename",
                                             "") == "<string>"
    # a dataclass's generated __init__: its fields are documented where they are declared
    if init is not None and not generated and not issubclass(cls, BaseException):
        args = _arguments(init)
        secs = _sections(cls.__doc__)
        isecs = _sections(init.__doc__)
        listed = (_listed(secs.get("Parameters", "")) | _listed(secs.get("Other Parameters", ""))
                  | _listed(isecs.get("Parameters", "")) | _listed(isecs.get("Other Parameters", "")))
        missing = [p.name for p in args if p.name not in listed]
        if missing:
            problems.append(f"{label}: constructor arguments not documented: {', '.join(missing)}")
    for name, attr in cls.__dict__.items():
        if name.startswith("_"):
            continue
        if isinstance(attr, (staticmethod, classmethod)):
            func = attr.__func__
        elif inspect.isfunction(attr):
            func = attr
        else:
            continue
        _check_function(f"{label}.{name}", func, func.__doc__, problems)


def offenders() -> list[str]:
    problems: list[str] = []
    seen: set[int] = set()
    for modname in public_modules():
        module = importlib.import_module(modname)
        for name in public_names(module):
            obj = getattr(module, name, None)
            if obj is None or id(obj) in seen:
                continue
            if getattr(obj, "__module__", None) != modname:
                continue  # checked in the module that defines it
            label = f"{modname}.{name}"
            if inspect.isclass(obj):
                seen.add(id(obj))
                _check_class(label, obj, problems)
            elif inspect.isfunction(obj):
                seen.add(id(obj))
                _check_function(label, obj, obj.__doc__, problems)
    for target in ENTRY_POINTS:
        modname, _, name = target.rpartition(".")
        obj = getattr(importlib.import_module(modname), name)
        if "Examples" not in _sections(obj.__doc__):
            problems.append(f"{target}: entry point without an Examples section")
    return problems


def test_every_public_function_documents_parameters_and_returns():
    problems = offenders()
    assert not problems, (f"{len(problems)} docstring problems (numpydoc Parameters/Returns, "
                          "tests/test_docstrings.py):\n" + "\n".join(problems))


@pytest.mark.parametrize("target", [
    pytest.param(t, marks=pytest.mark.cluster) if t.endswith("make_client") else t
    for t in ENTRY_POINTS])
def test_entry_point_examples_run(target, tmp_path, monkeypatch):
    """The Examples of each entry point run as written (small samples, in a temporary directory:
    ``tempfile.mkdtemp()`` in an example makes its directory under ``tmp_path``)."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    modname, _, name = target.rpartition(".")
    obj = getattr(importlib.import_module(modname), name)
    tests = doctest.DocTestFinder(recurse=False).find(obj, target, globs={})
    assert tests and tests[0].examples, f"{target}: no example to run"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    for test in tests:
        runner.run(test, out=out.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(out)


def test_the_checker_sees_a_missing_parameter():
    """The checker itself: a function with an undocumented argument and no Returns is caught."""

    def f(a, b, *args, **kwargs) -> int:
        """Sum.

        Parameters
        ----------
        a : int
            first
        *args, **kwargs
            ignored
        """

    problems: list[str] = []
    _check_function("f", f, f.__doc__, problems)
    assert problems == ["f: Parameters does not list b", "f: no Returns section"]


def test_the_walk_covers_the_cli_and_the_entry_points():
    """The CLI modules (which have no ``__all__`` of their functions) and the entry points are
    among the names checked."""
    import na64tools.cli
    import na64tools.cli.run

    mods = public_modules()
    assert {"na64tools.cli", "na64tools.cli.run", "na64tools.sim.parallel"} <= set(mods)
    assert {"add_parser", "main"} <= set(public_names(na64tools.cli.run))
    assert {"build_parser", "main"} <= set(public_names(na64tools.cli))
    for target in ENTRY_POINTS:
        modname, _, name = target.rpartition(".")
        assert modname in mods and name in public_names(importlib.import_module(modname)), target


if __name__ == "__main__":  # pragma: no cover - the inventory
    found = offenders()
    print("\n".join(found))
    print(len(found), "problems")
