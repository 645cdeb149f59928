"""tools/check_links.py on a tiny site built here: its offline verdicts (internal links and
anchors, Colab files at a local ref, the install line's tag), and its online logic with a fake
opener in place of the network (no request leaves this machine)."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import check_links  # noqa: E402
from check_links import DEAD, OK, UNCHECKED, UNVERIFIED, Network, check_site  # noqa: E402

REPO = "https://github.com/example/book"
COLAB = "https://colab.research.google.com/github/example/book/blob"
PIN = f'pip install "alexnet-lib @ git+{REPO}@v1.0.0"'

INDEX = f"""<!DOCTYPE html><html><head><link rel="stylesheet" href="_static/style.css"></head>
<body><h1 id="top">The book</h1>
<a href="a.html">a page</a> <a href="a.html#sec">its section</a> <a href="#top">top</a>
<a href="sub/">a folder</a> <a href="a.html#missing">a lost anchor</a> <a href="missing.html">a lost page</a>
<a href="mailto:someone@example.org">mail</a> <a href="#">nowhere</a> <img src="_images/fig.png">
<a href="{COLAB}/main/colab/01_a.ipynb">Colab on main</a>
<a href="{COLAB}/main/colab/02_gone.ipynb">Colab, file not committed</a>
<a href="{COLAB}/v1.0.0/colab/01_a.ipynb">Colab at the tag</a>
<a href="{COLAB}/v2.0.0/colab/01_a.ipynb">Colab at a tag not here</a>
<a href="https://colab.research.google.com/github/other/repo/blob/main/x.ipynb">someone else's</a>
<a href="https://example.org/page#part">outside</a>
<a href="https://example.github.io/book/a.html#sec">the published page</a>
<a href="https://example.github.io/book/nope.html">a published page that is not there</a>
<pre><span class="o">%</span><span class="n">pip</span> install
<span class="s2">&quot;alexnet-lib @ git+{REPO}@v1.0.0&quot;</span></pre>
<script>var s = "git+{REPO}@v7.7.7";</script>
</body></html>
"""
PAGE_A = """<html><body><section id="sec"><h2>Section</h2></section>
<a href="index.html#top">back</a> <a href="../outside.html">out of the site</a></body></html>"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false",
                           "-c", "tag.gpgsign=false", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A clone on branch main: colab/01_a.ipynb committed and tagged v1.0.0; 02_gone only in the
    working tree; a notebook pinning v9.9.9, a tag that exists nowhere."""
    root = tmp_path / "repo"
    (root / "colab").mkdir(parents=True)
    (root / "book").mkdir()
    (root / "notebooks").mkdir()
    (root / "_config.yml").write_text(f"title: x\nrepository:\n  url: {REPO}\n  branch: main\n")
    (root / "colab" / "01_a.ipynb").write_text("{}")
    (root / "book" / "references.bib").write_text(
        "@misc{tool2020,\n  title = {A tool},\n  howpublished = {\\url{https://tool.example.org/docs}},\n}\n"
        "@article{paper2019,\n  title = {A paper},\n  doi = {10.1000/xyz123},\n  year = {2019}\n}\n")
    cells = [{"cell_type": "code", "source": [PIN.replace("v1.0.0", "v9.9.9")]}]
    (root / "notebooks" / "01_a.ipynb").write_text(json.dumps({"cells": cells}))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    git(root, "tag", "v1.0.0")
    (root / "colab" / "02_gone.ipynb").write_text("{}")  # not committed
    return root


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "html"
    (site / "sub").mkdir(parents=True)
    (site / "_static").mkdir()
    (site / "_images").mkdir()
    (site / "index.html").write_text(INDEX)
    (site / "a.html").write_text(PAGE_A)
    (site / "sub" / "index.html").write_text("<html><body>sub</body></html>")
    (site / "_static" / "style.css").write_text("body {}")
    (site / "_static" / "vendored.html").write_text('<a href="nothing-here.html">not a page of the book</a>')
    (site / "_images" / "fig.png").write_bytes(b"\x89PNG")
    return site


def verdicts(report: check_links.Report) -> dict[tuple[str, str], str]:
    return {(r.kind, r.target): r.verdict for r in report.results}


def test_offline_verdicts(site: Path, repo: Path) -> None:
    report = check_site(site, root=repo, offline=True)
    got = verdicts(report)
    assert report.pages == 3  # index, a, sub/index; _static/ is not walked
    # internal links and anchors
    for link in ("a.html", "a.html#sec", "#top", "sub/", "_static/style.css", "_images/fig.png", "index.html#top"):
        assert got[("internal", link)] == OK, link
    for link in ("a.html#missing", "missing.html", "../outside.html"):
        assert got[("internal", link)] == DEAD, link
    assert not any(target.startswith(("mailto:", "#")) and target != "#top" for _, target in got)
    # the published site's own addresses, against the local build
    assert got[("site", "https://example.github.io/book/a.html#sec")] == OK
    assert got[("site", "https://example.github.io/book/nope.html")] == DEAD
    # Colab: the file at the checked-out branch (HEAD) and at a tag of this clone
    assert got[("colab", f"{COLAB}/main/colab/01_a.ipynb")] == OK
    assert got[("colab", f"{COLAB}/main/colab/02_gone.ipynb")] == DEAD
    assert got[("colab", f"{COLAB}/v1.0.0/colab/01_a.ipynb")] == OK
    assert got[("colab", f"{COLAB}/v2.0.0/colab/01_a.ipynb")] == UNCHECKED
    assert got[("colab", "https://colab.research.google.com/github/other/repo/blob/main/x.ipynb")] == UNCHECKED
    # the install line's tag: here it is; v9.9.9 (a notebook) cannot be told offline
    assert got[("release", f"git+{REPO}@v1.0.0")] == OK
    assert got[("release", f"git+{REPO}@v9.9.9")] == UNCHECKED
    assert ("release", f"git+{REPO}@v7.7.7") not in got  # a script's text is not the page's
    # the network's share is left unchecked
    assert got[("external", "https://example.org/page")] == UNCHECKED
    assert got[("bibliography", "https://tool.example.org/docs")] == UNCHECKED
    assert got[("bibliography", "https://doi.org/10.1000/xyz123")] == UNCHECKED
    # where each came from
    sources = {(r.kind, r.target): r.sources for r in report.results}
    assert sources[("release", f"git+{REPO}@v1.0.0")] == {"index.html"}
    assert sources[("release", f"git+{REPO}@v9.9.9")] == {"notebooks/01_a.ipynb"}
    assert sources[("bibliography", "https://doi.org/10.1000/xyz123")] == {"book/references.bib (paper2019)"}
    reason = {r.target: r.reason for r in report.results}
    assert "commit it" in reason[f"{COLAB}/main/colab/02_gone.ipynb"]
    assert "no anchor #missing in a.html" in reason["a.html#missing"]


def test_offline_command_names_the_page_and_the_link(site: Path, repo: Path, capsys) -> None:
    assert check_links.main([str(site), "--offline", "--repo", str(repo)]) == 1
    out = capsys.readouterr().out
    assert "DEAD  index.html: internal link a.html#missing (no anchor #missing in a.html)" in out
    assert "DEAD  index.html: internal link missing.html (no file missing.html)" in out
    assert "DEAD  a.html: internal link ../outside.html (it points outside the site)" in out
    assert f"DEAD  index.html: colab link {COLAB}/main/colab/02_gone.ipynb" in out
    assert "check_links (offline): 3 pages" in out
    assert "nothing-here" not in out


def test_a_sound_site_passes_offline(site: Path, repo: Path, capsys) -> None:
    for name in ("index.html", "a.html"):
        (site / name).write_text(f'<html><body id="top"><a href="a.html#sec">x</a> <a href="#top">t</a>'
                                 f'<a href="{COLAB}/v1.0.0/colab/01_a.ipynb">c</a><p>{PIN}</p>'
                                 f'<a href="https://example.org/">out</a><div id="sec"></div></body></html>')
    assert check_links.main([str(site), "--offline", "--repo", str(repo)]) == 0
    assert "0 dead" in capsys.readouterr().out


def test_no_site(tmp_path: Path, capsys) -> None:
    assert check_links.main([str(tmp_path), "--offline"]) == 2
    assert "no built site" in capsys.readouterr().err


class FakeResponse(io.BytesIO):
    def __init__(self, status: int) -> None:
        super().__init__(b"")
        self.status = status

    def getcode(self) -> int:
        return self.status


class FakeOpener:
    """Answers from a table: an int is the status for any method, a dict one per method, an
    exception is raised; addresses not in the table answer 200. Every request is recorded."""

    def __init__(self, table: dict[str, object]) -> None:
        self.table = table
        self.asked: list[tuple[str, str]] = []

    def open(self, request, timeout=None):
        url, method = request.full_url, request.get_method()
        self.asked.append((method, url))
        answer = self.table.get(url, 200)
        if isinstance(answer, dict):
            answer = answer.get(method, 200)
        if isinstance(answer, BaseException):
            raise answer
        if answer >= 400:
            raise urllib.error.HTTPError(url, answer, "refused", {}, None)
        return FakeResponse(answer)


def test_online_logic_with_a_fake_network(site: Path, repo: Path) -> None:
    opener = FakeOpener({
        "https://example.org/page": 404,
        "https://tool.example.org/docs": {"HEAD": 405, "GET": 200},  # refuses HEAD only
        "https://doi.org/10.1000/xyz123": 403,  # turns robots away: not verified, not dead
        f"{REPO}/tree/v9.9.9": 404,  # the tag is not on GitHub
        f"{REPO}/blob/v2.0.0/colab/01_a.ipynb": 404,
        "https://github.com/other/repo/blob/main/x.ipynb": urllib.error.URLError(socket.gaierror(-2, "Name unknown")),
    })
    report = check_site(site, root=repo, offline=False, network=Network(opener, retry_wait=0))
    got = verdicts(report)
    assert got[("external", "https://example.org/page")] == DEAD
    assert got[("bibliography", "https://tool.example.org/docs")] == OK
    assert got[("bibliography", "https://doi.org/10.1000/xyz123")] == UNVERIFIED
    assert got[("release", f"git+{REPO}@v1.0.0")] == OK
    assert got[("release", f"git+{REPO}@v9.9.9")] == DEAD
    assert got[("colab", f"{COLAB}/main/colab/01_a.ipynb")] == OK
    assert got[("colab", f"{COLAB}/v2.0.0/colab/01_a.ipynb")] == DEAD
    assert got[("colab", "https://colab.research.google.com/github/other/repo/blob/main/x.ipynb")] == DEAD
    # what fails offline fails online, with no request
    assert got[("colab", f"{COLAB}/main/colab/02_gone.ipynb")] == DEAD
    assert got[("internal", "a.html#missing")] == DEAD
    asked = {url for _, url in opener.asked}
    assert f"{REPO}/blob/main/colab/02_gone.ipynb" not in asked
    assert not any("colab.research.google.com" in url or "example.github.io" in url for url in asked)
    assert ("HEAD", "https://example.org/page") in opener.asked and ("GET", "https://example.org/page") in opener.asked
    # the fragment is not sent, and each address is asked once per method
    assert "https://example.org/page#part" not in asked
    assert opener.asked.count(("HEAD", f"{REPO}/tree/v1.0.0")) == 1
    lines = report.lines()
    assert "DEAD  index.html: external link https://example.org/page (GET answered 404)" in lines
    assert any(line.startswith("DEAD  notebooks/01_a.ipynb: release link") and "v9.9.9 is not on GitHub" in line
               for line in lines)
    assert any(line.startswith("not verified: bibliography link https://doi.org/10.1000/xyz123") for line in lines)
    assert len(report.failed()) < len(report.failed(strict=True))


def test_online_unanswered_addresses_are_asked_again_then_not_verified(site: Path, repo: Path) -> None:
    opener = FakeOpener({"https://example.org/page": TimeoutError("timed out"),
                         "https://tool.example.org/docs": 503})
    report = check_site(site, root=repo, network=Network(opener, retry_wait=0))
    got = verdicts(report)
    assert got[("external", "https://example.org/page")] == UNVERIFIED
    assert got[("bibliography", "https://tool.example.org/docs")] == UNVERIFIED
    assert opener.asked.count(("GET", "https://example.org/page")) == 2  # two attempts, HEAD and GET each
    assert not [r for r in report.failed() if r.kind in ("external", "bibliography")]


def test_ask_verdicts() -> None:
    def verdict(answer) -> str:
        return check_links.ask("https://x.example/", FakeOpener({"https://x.example/": answer}), 5)[0]

    assert verdict(200) == OK
    assert verdict(301) == OK
    assert verdict(404) == DEAD
    assert verdict(410) == DEAD
    assert verdict(400) == DEAD
    assert verdict(401) == UNVERIFIED
    assert verdict(429) == UNVERIFIED
    assert verdict(500) == UNVERIFIED
    assert verdict({"HEAD": 404, "GET": 200}) == OK
    assert verdict(urllib.error.URLError(ConnectionRefusedError(111, "refused"))) == UNVERIFIED
    assert verdict(urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))) == DEAD


def test_online_with_no_network_is_not_a_list_of_dead_links(site: Path, repo: Path, capsys) -> None:
    class NoNetwork(FakeOpener):
        def open(self, request, timeout=None):
            self.asked.append((request.get_method(), request.full_url))
            raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    report = check_site(site, root=repo, network=Network(NoNetwork({}), retry_wait=0))
    assert report.network_down
    assert not [r for r in report.failed() if r.kind in ("external", "bibliography", "release")]
    assert all(r.verdict == UNVERIFIED for r in report.results if r.kind in ("external", "bibliography"))
    # what the clone says stays said
    assert verdicts(report)[("colab", f"{COLAB}/main/colab/02_gone.ipynb")] == DEAD
