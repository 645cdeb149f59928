"""Write the Colab edition of the notebooks: MyST turned into plain Markdown, solutions folded.

    python tools/colab.py [--out colab] [--check]

The chapters are written in MyST Markdown for the book: exercises, solutions, admonitions
and citations are directives and roles that Jupyter Book renders and that Colab or a plain
Jupyter shows as raw text (with every solution under its question). The Colab edition is
the same chapter, code unchanged, with

- an exercise as a heading, ``### Exercise 7.2``, and its text;
- a solution folded: its prose in a ``<details>`` block ("Solution", closed), its code
  cells hidden (Colab's form view, JupyterLab's collapsed input), so that running the
  notebook still runs them;
- an admonition as a quotation with a bold title;
- a citation as the authors and year, linked to the book's bibliography page;
- a reference to an exercise as its number, a label target dropped;
- outputs removed, and the link to Colab replaced by a link to the chapter in the book.

Anything else written as a MyST directive or role stops the conversion with an error, so
that new syntax in a chapter is noticed here. ``tests/test_colab_edition.py`` checks that
the committed ``colab/`` is what this script writes. Run ``make colab`` after editing a chapter.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"

# A fenced directive: its fence (3 or more backticks or colons), its name and argument, its
# body, up to the same fence. Nested fences are longer or shorter, so the backreference holds.
DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z-]+)\}[ \t]*(?P<arg>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$\n?",
    re.M | re.S,
)
OPTION = re.compile(r"^:(?P<key>[a-z-]+):[ \t]*(?P<value>.*)$")
ROLE = re.compile(r"\{(?P<name>[a-z:-]+)\}`(?P<text>[^`]*)`")
TARGET = re.compile(r"^\((?P<label>[\w-]+)\)=[ \t]*\n", re.M)
ADMONITIONS = {"admonition", "note", "tip", "important", "warning", "caution", "seealso", "hint"}
COLAB_LINK = re.compile(r"\[Open this chapter in Colab\]\([^)]*\)")


def repository_url() -> str:
    """The repository's URL, from ``_config.yml`` (the one place that names it)."""
    import yaml

    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")


def site_url() -> str:
    """Where the book is published: the repository's GitHub Pages address."""
    owner, name = repository_url().removeprefix("https://github.com/").split("/")
    return f"https://{owner}.github.io/{name}"


def release_tag() -> str:
    """The released version the Colab edition belongs to, ``v<version>``: its chapters install
    the library of that tag, and open from it, so that the notebook and the library agree."""
    sys.path.insert(0, str(ROOT / "src"))
    from alexnet_lib.version import __version__

    return f"v{__version__}"


def colab_url(notebook: str) -> str:
    """The address that opens the Colab edition of ``notebook`` (a file name) in Colab, from the
    released version's tag (the same version its first cell installs)."""
    slug = repository_url().removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{slug}/blob/{release_tag()}/colab/{notebook}"


# --- citations ---------------------------------------------------------------------------

_ACCENTS = {"'": "\u0301", '"': "\u0308", "`": "\u0300", "^": "\u0302", "~": "\u0303", "c": "\u0327"}


def _latex_to_text(text: str) -> str:
    """BibTeX's accents and braces as plain Unicode: ``Bottou, L{\\'e}on`` -> ``Bottou, Léon``."""
    text = re.sub(r"\{\\i\}|\\i\b", "\u0131", text)
    text = re.sub(r"\{?\\(['\"`^~c])\{?(\w)\}?\}?", lambda m: m.group(2) + _ACCENTS[m.group(1)], text)
    return unicodedata.normalize("NFC", text.replace("{", "").replace("}", ""))


def bibliography(path: Path = BIB) -> dict[str, str]:
    """Each entry's key -> ``Authors, year`` as the book's author-year citations show it."""
    entries: dict[str, str] = {}
    for match in re.finditer(r"^@\w+\{(?P<key>[^,\s]+),(?P<body>.*?)^\}", path.read_text(), re.M | re.S):
        fields = dict(re.findall(r"^\s*(\w+)\s*=\s*(.*?),?\s*$", match.group("body"), re.M))
        if "author" not in fields or "year" not in fields:
            raise ValueError(f"{path.name}: {match.group('key')} needs an author and a year for the Colab edition")
        names = [_latex_to_text(a).strip() for a in _latex_to_text(fields["author"][1:-1]).split(" and ")]
        last = [n.split(",")[0].strip() for n in names]
        if len(last) >= 3 or "others" in last:
            who = f"{last[0]} et al."
        elif len(last) == 2:
            who = f"{last[0]} and {last[1]}"
        else:
            who = last[0]
        entries[match.group("key")] = f"{who}, {_latex_to_text(fields['year'])}"
    return entries


# --- converting one notebook -------------------------------------------------------------


class Converter:
    """Turns one chapter's cells into the Colab edition's cells."""

    def __init__(self, chapter: int, name: str, bib: dict[str, str]) -> None:
        self.chapter, self.name, self.bib = chapter, name, bib
        self.labels: dict[str, str] = {}  # exercise or section label -> how a reference reads
        self.cells: list[nbformat.NotebookNode] = []

    # The labels come first: a reference may point forward (Chapter 6 cites its exercises).
    def collect_labels(self, nb: nbformat.NotebookNode) -> None:
        count = 0
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            for block in DIRECTIVE.finditer(cell.source):
                if block.group("name") == "exercise":
                    count += 1
                    options, _ = _split_options(block.group("body"))
                    if "label" in options:
                        self.labels[options["label"]] = f"Exercise {self.chapter}.{count}"
            for target in re.finditer(r"^\((?P<label>[\w-]+)\)=[ \t]*\n#+ (?P<title>.*)$", cell.source, re.M):
                self.labels[target.group("label")] = f"“{target.group('title').strip()}”"

    def convert(self, nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
        self.collect_labels(nb)
        self.exercises = 0
        inside: str | None = None  # the exercise whose gated solution is being folded
        for cell in nb.cells:
            if cell.cell_type == "code":
                self.add_code(cell, inside)
                continue
            if cell.cell_type != "markdown":
                self.cells.append(cell)
                continue
            text = cell.source
            while text:
                start = re.search(r"^(`{3,})\{solution-(start|end)\}[^\n]*\n.*?^\1[ \t]*$\n?", text, re.M | re.S)
                if start is None:
                    self.prose(text, inside)
                    break
                self.prose(text[: start.start()], inside)
                if start.group(2) == "start":
                    if inside is not None:
                        raise ValueError(f"{self.name}: a solution starts inside the solution of {inside}")
                    label = start.group(0).split("}", 1)[1].split()[0]
                    inside = self.labels.get(label)
                    if inside is None:
                        raise ValueError(f"{self.name}: solution {label} has no exercise")
                    self.start_solution(label)
                else:
                    if inside is None:
                        raise ValueError(f"{self.name}: {{solution-end}} without a start")
                    self.end_solution()
                    inside = None
                text = text[start.end():]
        if inside is not None:
            raise ValueError(f"{self.name}: the solution of {inside} has no {{solution-end}}")
        return self.cells

    def start_solution(self, label: str) -> None:
        """A gated solution (prose and code cells) begins; ``label`` is its exercise's."""
        self.folded_parts = 0

    def end_solution(self) -> None:
        """The gated solution ends."""

    def add_code(self, cell: nbformat.NotebookNode, inside: str | None) -> None:
        out = self.code(cell, inside)
        if not any(c.cell_type == "code" for c in self.cells):
            out.source = _offer_drive(out.source)
        self.cells.append(out)

    def code(self, cell: nbformat.NotebookNode, inside: str | None) -> nbformat.NotebookNode:
        out = nbformat.v4.new_code_cell(cell.source)
        out.metadata = {k: v for k, v in cell.metadata.items() if k in ("tags",)}
        if inside is not None:  # a solution's code: hidden until opened, still run
            out.source = f'# @title Solution to {inside} (code) {{display-mode: "form"}}\n' + cell.source
            out.metadata["cellView"] = "form"
            out.metadata["jupyter"] = {"source_hidden": True}
        return out

    def prose(self, text: str, inside: str | None) -> None:
        text = self.markdown(text).strip()
        if not text:
            return
        if inside is not None:
            title = f"Solution to {inside}" + (", continued" if self.folded_parts else "")
            self.folded_parts += 1
            text = _details(title, text)
        self.cells.append(nbformat.v4.new_markdown_cell(text))

    def markdown(self, text: str) -> str:
        """MyST -> CommonMark for one piece of prose (no solution markers in it)."""
        text = TARGET.sub("", text)
        text = DIRECTIVE.sub(self.directive, text)
        text = ROLE.sub(self.role, text)
        text = COLAB_LINK.sub(
            f"[Read this chapter in the book]({site_url()}/notebooks/{self.name}.html) (this is its Colab "
            "edition: the same code, with the exercises' solutions folded)",
            text,
        )
        leftover = re.search(r"^[`:]{3,}\{[a-z-]+\}|\{[a-z:-]+\}`", text, re.M)
        if leftover:
            raise ValueError(f"{self.name}: MyST the Colab edition cannot convert: {leftover.group()!r}")
        return text

    def directive(self, block: re.Match[str]) -> str:
        name, arg = block.group("name"), block.group("arg").strip()
        options, body = _split_options(block.group("body"))
        body = self.markdown(body).strip()
        if name == "exercise":
            self.exercises += 1
            title = f"Exercise {self.chapter}.{self.exercises}" + (f": {arg}" if arg else "")
            return f"### {title}\n\n{body}\n"
        if name == "solution":
            label = arg.split()[0] if arg else ""
            return _details(f"Solution to {self.labels.get(label, 'the exercise')}", body) + "\n"
        if name in ADMONITIONS:
            title = arg or name.capitalize()
            quoted = "\n".join(f"> {line}" if line else ">" for line in body.splitlines())
            return f"> **{title}**\n>\n{quoted}\n"
        raise ValueError(f"{self.name}: the Colab edition does not know the directive {{{name}}}")

    def role(self, match: re.Match[str]) -> str:
        name, text = match.group("name"), match.group("text")
        if name in ("cite", "cite:p", "cite:t"):
            link = f"{site_url()}/book/bibliography.html"
            keys = [k.strip() for k in text.split(",")]
            missing = [k for k in keys if k not in self.bib]
            if missing:
                raise ValueError(f"{self.name}: citation {missing} is not in {BIB.name}")
            if name == "cite:t":
                return "; ".join(
                    f"[{self.bib[k].rsplit(', ', 1)[0]} ({self.bib[k].rsplit(', ', 1)[1]})]({link})" for k in keys
                )
            return "(" + "; ".join(f"[{self.bib[k]}]({link})" for k in keys) + ")"
        if name == "ref":
            explicit = re.fullmatch(r"(?P<title>.*?)\s*<(?P<label>[\w-]+)>", text)
            if explicit:
                return explicit.group("title")
            if text not in self.labels:
                raise ValueError(f"{self.name}: {{ref}}`{text}` points outside the chapter")
            return self.labels[text]
        if name == "doc":  # a page of the book: a link to it on the published site
            explicit = re.fullmatch(r"(?P<title>.*?)\s*<(?P<target>[^>]+)>", text)
            target = (explicit.group("target") if explicit else text).removeprefix("../")
            title = explicit.group("title") if explicit else DOC_TITLES.get(target, target)
            return f"[{title}]({site_url()}/{target}.html)"
        raise ValueError(f"{self.name}: the Colab edition does not know the role {{{name}}}")


# The titles of the pages that chapters link to with {doc} without giving a title.
DOC_TITLES = {"book/try_it": "Try it: AlexNet on your photograph"}


def _split_options(body: str) -> tuple[dict[str, str], str]:
    """A directive's ``:key: value`` lines and the rest of its body."""
    options: dict[str, str] = {}
    lines = body.splitlines()
    while lines and (option := OPTION.match(lines[0])):
        options[option.group("key")] = option.group("value").strip()
        lines.pop(0)
    return options, "\n".join(lines)


SETUP_CALL = "P = alexnet_lib.setup()"
DRIVE_OFFER = """# Keep downloads and trained networks between Colab sessions: set DRIVE = True
# and the book's cache lives in your Google Drive (Colab asks your permission first).
DRIVE = False
P = alexnet_lib.setup(drive=DRIVE)"""


def _offer_drive(setup_cell: str) -> str:
    """The first code cell with Google Drive offered as the cache (off until the reader says so)."""
    if SETUP_CALL not in setup_cell:
        raise ValueError(f"the first code cell must call `{SETUP_CALL}` (the Colab edition offers Drive there)")
    return setup_cell.replace(SETUP_CALL, DRIVE_OFFER)


def _details(title: str, body: str) -> str:
    """A folded block: closed in Colab, JupyterLab and GitHub until its title is clicked."""
    return f"<details>\n<summary><b>{title}</b> (click to open)</summary>\n\n{body}\n\n</details>"


def colab_edition(path: Path, bib: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The Colab edition of the chapter at ``path``."""
    nb = nbformat.read(path, as_version=4)
    chapter = int(path.name.split("_", 1)[0])
    converter = Converter(chapter, path.stem, bib if bib is not None else bibliography())
    out = nbformat.v4.new_notebook()
    out.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "colab": {"provenance": [], "toc_visible": True},
    }
    out.cells = converter.convert(nb)
    for i, cell in enumerate(out.cells):  # stable ids: regenerating gives the same file
        cell.id = f"c{i:03d}"
    return out


def render(nb: nbformat.NotebookNode) -> str:
    """The notebook as the file the edition commits (stable, so a diff shows real changes)."""
    return json.dumps(nbformat.from_dict(nb), indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "colab")
    parser.add_argument("--check", action="store_true", help="fail if the written edition is out of date")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    bib = bibliography()
    stale = []
    args.out.mkdir(parents=True, exist_ok=True)
    for path in notebooks:
        text = render(colab_edition(path, bib))
        target = args.out / path.name
        if args.check:
            if not target.exists() or target.read_text() != text:
                stale.append(target)
            continue
        target.write_text(text)
        print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    if stale:
        print("out of date (run `make colab`): " + ", ".join(str(p) for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
