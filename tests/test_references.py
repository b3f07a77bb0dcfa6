"""The repository cites only itself and original publications.

- No tracked file (outside ``.git`` and ``.ci``) refers to a path outside the repository: the
  team-internal facts brief and the shared steering folder are not part of the project.
- Every ``docs/<page>.md`` that the package's docstrings point to exists and is in a toctree;
  ``docs/references.md`` carries the numbers the docstrings send readers there for, and the
  sections they name.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# built by concatenation so that this file does not match itself
FORBIDDEN = ("NA64MU" + "_FACTS", ".." + "/shared", "/work" + "/wt/", "/work" + "/main")


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: no list of tracked files")
    names = [n for n in out.stdout.decode().split("\0") if n]
    return [ROOT / n for n in names if not n.startswith((".git/", ".ci/")) and n != ".ci"]


def test_no_reference_outside_the_repository():
    bad = []
    for path in _tracked_files():
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary file
        for needle in FORBIDDEN:
            for lineno, line in enumerate(text.splitlines(), 1):
                if needle in line:
                    bad.append(f"{path.relative_to(ROOT)}:{lineno}: {needle!r}")
    assert not bad, "references outside the repository:\n" + "\n".join(bad)


def _toctree_pages() -> set[str]:
    pages = set()
    for md in DOCS.rglob("*.md"):
        for block in re.findall(r"```\{toctree\}(.*?)```", md.read_text(encoding="utf-8"), re.S):
            for line in block.splitlines():
                line = line.strip()
                if line and not line.startswith(":"):
                    pages.add(str((md.parent / line).relative_to(DOCS)).removesuffix(".md"))
    return pages


def _doc_pointers() -> dict[str, list[str]]:
    """docs page -> places in na64tools/ that point to it."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "na64tools").rglob("*")):
        if path.suffix not in (".py", ".yaml", ".yml") or not path.is_file():
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for page in re.findall(r"docs/([A-Za-z0-9_/]+)\.md", line):
                found.setdefault(page, []).append(f"{path.relative_to(ROOT)}:{lineno}")
    return found


def test_every_docs_pointer_has_a_page_in_a_toctree():
    pointers = _doc_pointers()
    assert "references" in pointers  # the docstrings do use it
    toc = _toctree_pages()
    for page, where in pointers.items():
        assert (DOCS / f"{page}.md").is_file(), f"docs/{page}.md missing (cited at {where[:3]})"
        assert page in toc, f"docs/{page}.md is not in any toctree (cited at {where[:3]})"


def test_references_page_has_the_numbered_sections_docstrings_name():
    text = (DOCS / "references.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^## (\d+)\.", text, re.M))
    for page, where in _doc_pointers().items():
        if page != "references":
            continue
        for loc in where:
            file, lineno = loc.rsplit(":", 1)
            lines = (ROOT / file).read_text(encoding="utf-8").splitlines()
            nearby = " ".join(lines[int(lineno) - 1 : int(lineno) + 1])
            for sec in re.findall(r"references\.md\s+section\s+(\d+)", nearby):
                assert sec in headings, f"{loc} names section {sec} of docs/references.md"


@pytest.mark.parametrize(
    "fact",
    [
        # published result and backgrounds (PRL 132 (2024) 211803)
        "1.98 \\pm 0.02", "0.05 \\pm 0.03", "0.010 \\pm 0.001", "< 0.01", "0.07 \\pm 0.03",
        "80 GeV/c", "250 GeV/c", "10^7", "3.5\\times10^{11}", "2\\times10^{13}", "arXiv:2505.14291",
        # photon flux and cross-section (constants.py, flux.py, cross_section.py)
        "111\\,Z^{-1/3}/m_e", "0.164\\,A^{-2/3}", "0.3$ rad", "arXiv:0906.0580", "arXiv:1705.01633",
        "arXiv:2409.12748", "arXiv:2107.13297", "PRD 108 (2023) 056018", "Rev. Mod. Phys. 46",
        "3.894\\times10^{8}",
        # widths, g-2, LDM (widths.py, gminus2.py, relic.py)
        "\\alpha_D m/3", "116\\,592\\,061(41)", "116\\,591\\,810(43)", "251(59)",
        "116\\,592\\,033(62)", "arXiv:2505.21476", "arXiv:2506.03069", "arXiv:1505.00011",
        "1803.01038",
        # energy loss, materials, decays, statistics
        "At. Data Nucl. Data Tables 78 (2001) 183", "Kelner", "Geant4", "207.2", "11.35", "183.84",
        "19.3", "63.56", "99.99", "Junk", "J. Phys. G 28 (2002) 2693", "-\\ln 0.1 = 2.30",
        "MOT}^{-1/4}", "Sieber et al., PRD 105 (2022) 052006",
    ],
)
def test_references_page_carries_the_cited_facts(fact):
    assert fact in (DOCS / "references.md").read_text(encoding="utf-8")
