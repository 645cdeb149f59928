"""Check that a release tag and the repository agree, before a release is built and published.

    python tools/check_release.py TAG [--wheel WHEEL] [--root DIR]

TAG (``v0.3.0``; in the release workflow, the tag that was pushed) must be

- ``v`` followed by the package's version, ``__version__`` in ``src/alexnet_lib/version.py``,
  which ``pyproject.toml`` reads (``[tool.setuptools.dynamic]``; or its own ``version``, equal);
- the version of every install line, ``alexnet-lib @ git+<repository>@<TAG>`` in the chapters
  (``notebooks/``), their Colab edition (``colab/``), ``README.md`` and ``book/*.md``, each
  from ``_config.yml``'s repository; every chapter and every Colab notebook has one;
- the ref of every Colab link there (``colab.research.google.com/github/<repository>/blob/<TAG>/``).

With ``--wheel``, the built wheel must also carry that version (its name and its METADATA) and
every file of the package's data (``[tool.setuptools.package-data]``: the shipped network
``weights/*.npz``, the recorded results ``results/*``...), byte for byte. Only the standard
library is used. Exit status 0 when all agree, 1 otherwise, with one line per disagreement.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "alexnet_lib"
VERSION_FILE = Path("src", PACKAGE, "version.py")
TAG = re.compile(r"v\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?")
INSTALL = re.compile(r"git\+(?P<url>https://github\.com/[\w.-]+/[\w.-]+?)(?:\.git)?@(?P<ref>[\w.+-]*\w)")
COLAB = re.compile(r"https://colab\.research\.google\.com/github/(?P<slug>[\w.-]+/[\w.-]+)/blob/(?P<ref>[^/\s]+)/")
PAGES = ("README.md", "book/*.md", "notebooks/*.ipynb", "colab/*.ipynb")


def package_version(root: Path) -> str | None:
    found = re.search(r"^__version__\s*=\s*[\"']([^\"']+)[\"']", (root / VERSION_FILE).read_text(), re.MULTILINE)
    return found.group(1) if found else None


def _pyproject(root: Path) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return {}
    return tomllib.loads((root / "pyproject.toml").read_text())


def pyproject_problems(root: Path, version: str) -> list[str]:
    """Where pyproject.toml's version does not come from version.py (or differs from it)."""
    text = (root / "pyproject.toml").read_text()
    project = _pyproject(root).get("project")
    if project is None:  # no tomllib: the two lines that matter, read as text
        static = re.search(r"^version\s*=\s*[\"']([^\"']+)[\"']", text, re.MULTILINE)
        if static:
            return [] if static.group(1) == version else [f"pyproject.toml: version {static.group(1)}, not {version}"]
        attr = re.search(r"^version\s*=\s*\{\s*attr\s*=\s*[\"']([\w.]+)[\"']", text, re.MULTILINE)
        dynamic = ["version"] if attr else []
        attr = attr.group(1) if attr else None
    else:
        if "version" in project:
            static = project["version"]
            return [] if static == version else [f"pyproject.toml: version {static}, not {version}"]
        dynamic = project.get("dynamic", [])
        attr = _pyproject(root).get("tool", {}).get("setuptools", {}).get("dynamic", {}).get("version", {}).get("attr")
    if "version" not in dynamic or attr != f"{PACKAGE}.version.__version__":
        return [(f"pyproject.toml: the version is not read from {VERSION_FILE.as_posix()} "
                 f"(expected dynamic version, attr = {PACKAGE}.version.__version__; found {attr})")]
    return []


def repository_url(root: Path) -> str | None:
    found = re.search(r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*[\"']?(\S+?)[\"']?\s*$",
                      (root / "_config.yml").read_text(), re.MULTILINE)
    return found.group(1).rstrip("/") if found else None


def page_problems(root: Path, tag: str) -> tuple[list[str], int, int]:
    """Install lines and Colab links that do not name ``tag`` (or this repository); notebooks
    without an install line. Also the number of install lines and Colab links seen."""
    problems: list[str] = []
    url = repository_url(root)
    slug = (url or "").removeprefix("https://github.com/")
    installs = links = 0
    for pattern in PAGES:
        for path in sorted(root.glob(pattern)):
            name = path.relative_to(root).as_posix()
            text = path.read_text(encoding="utf-8")
            found = list(INSTALL.finditer(text))
            installs += len(found)
            if path.suffix == ".ipynb" and not found:
                problems.append(f"{name}: no install line (alexnet-lib @ git+{url}@{tag})")
            for m in found:
                if m.group("url") != url:
                    problems.append(f"{name}: installs from {m.group('url')}, not {url} (_config.yml)")
                if m.group("ref") != tag:
                    problems.append(f"{name}: installs {m.group('ref')}, not {tag}")
            for m in COLAB.finditer(text):
                links += 1
                if m.group("slug") != slug:
                    problems.append(f"{name}: a Colab link opens {m.group('slug')}, not {slug} (_config.yml)")
                if m.group("ref") != tag:
                    problems.append(f"{name}: a Colab link opens {m.group('ref')}, not {tag}")
    return problems, installs, links


def package_data(root: Path) -> list[Path]:
    """The package's data files, by pyproject.toml's patterns (those without tomllib: the shipped
    network and the recorded results)."""
    patterns = (_pyproject(root).get("tool", {}).get("setuptools", {}).get("package-data", {}).get(PACKAGE)
                or ["weights/*.npz", "results/*.json", "results/*.npz"])
    base = root / "src" / PACKAGE
    return sorted({path for pattern in patterns for path in base.glob(pattern) if path.is_file()})


def wheel_problems(root: Path, wheel: Path, version: str) -> list[str]:
    """Where the wheel's version or data differ from the repository's."""
    problems = []
    name = re.sub(r"[-_.]+", "_", "alexnet-lib")
    if not wheel.name.startswith(f"{name}-{version}-"):
        problems.append(f"{wheel.name}: not the wheel of {name} {version}")
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as err:
        return [*problems, f"{wheel}: cannot be read ({err})"]
    with archive:
        members = set(archive.namelist())
        metadata = [m for m in members if m.endswith(".dist-info/METADATA")]
        if len(metadata) != 1:
            problems.append(f"{wheel.name}: {len(metadata)} METADATA files")
        else:
            found = re.search(r"^Version:\s*(\S+)", archive.read(metadata[0]).decode(), re.MULTILINE)
            if not found or found.group(1) != version:
                said = found.group(1) if found else "none"
                problems.append(f"{wheel.name}: METADATA says version {said}, not {version}")
        data = package_data(root)
        if not any(p.suffix == ".npz" and p.parent.name == "weights" for p in data):
            problems.append(f"src/{PACKAGE}/weights/ holds no shipped network (*.npz) to check")
        for path in data:
            member = path.relative_to(root / "src").as_posix()
            if member not in members:
                problems.append(f"{wheel.name}: {member} is missing")
            elif hashlib.sha256(archive.read(member)).digest() != hashlib.sha256(path.read_bytes()).digest():
                problems.append(f"{wheel.name}: {member} differs from the repository's")
    return problems


def check(tag: str, root: Path = ROOT, wheels: list[Path] | None = None) -> tuple[list[str], str]:
    """The disagreements between ``tag`` and the repository at ``root``, and a summary line."""
    problems = []
    if not TAG.fullmatch(tag):
        problems.append(f"{tag!r} is not a version tag (v<version>, e.g. v1.2.0)")
    version = package_version(root)
    if version is None:
        return [*problems, f"{VERSION_FILE.as_posix()}: no __version__"], ""
    if tag != f"v{version}":
        problems.append(f"the tag {tag} is not v{version}, the package's version ({VERSION_FILE.as_posix()})")
    problems += pyproject_problems(root, version)
    found, installs, links = page_problems(root, tag)
    problems += found
    for wheel in wheels or []:
        problems += wheel_problems(root, wheel, version)
    summary = (f"check_release: {tag}: version {version}, {installs} install lines and {links} Colab links"
               + (f", {len(wheels)} wheel(s) with {len(package_data(root))} data files" if wheels else ""))
    return problems, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tag", help="the release tag, v<version> (GITHUB_REF_NAME in the release workflow)")
    parser.add_argument("--wheel", action="append", default=[], type=Path, help="a built wheel to check too")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    args = parser.parse_args(argv)
    problems, summary = check(args.tag.removeprefix("refs/tags/"), args.root.resolve(), args.wheel)
    for problem in dict.fromkeys(problems):  # each once, in order, with how often
        times = problems.count(problem)
        print(f"MISMATCH  {problem}" + (f" ({times} times)" if times > 1 else ""))
    print(f"{summary}: {'agree' if not problems else f'{len(problems)} disagreement(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
