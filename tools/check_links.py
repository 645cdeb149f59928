"""Check every link of the built book: a dead one fails, named with the page that holds it.

    python tools/check_links.py [SITE] [--offline] [--repo DIR] [--skip REGEX] [-v]

SITE is the built website (default ``_build/html``, what ``make book`` writes). What is checked:

- **internal links and anchors**: every ``href``/``src`` of every page that points into the
  site names a file that is there, and a ``#fragment`` an ``id`` (or ``name``) of that page;
  links to the published site itself (``https://<owner>.github.io/<name>/...``, the address
  ``_config.yml``'s repository gives) are checked the same way, against the local build;
- **Colab links** (``colab.research.google.com/github/<owner>/<repo>/blob/<ref>/<path>``):
  where ``<ref>`` is the checked-out branch or a tag of this clone, the file must be in the
  repository at that ref; online, its GitHub address must also answer;
- **the install line's release** (``pip install "alexnet-lib @ git+https://github.com/...@vX.Y.Z"``
  in the pages, ``notebooks/``, ``colab/``, ``README.md`` and ``book/*.md``): the tag must be in
  this clone (``git tag``; a clone without it cannot tell, and says so) and, online, on GitHub;
- **every other external link** and the **bibliography's addresses** (``book/references.bib``:
  ``url``, ``doi`` and ``\\url{...}``), online only.

``--offline`` checks what this machine can check alone: internal links and anchors, Colab files
at a local ref, tags of this clone. It says what it left unchecked. Online (the default) also asks
every external address (HEAD, then GET where HEAD is refused): 404, 410, another 4xx but 401,
403 and 429, or a host that does not exist, is dead; 401, 403, 429, a 5xx, a timeout or a refused
connection is reported as not verified (servers that turn robots away, or are down for a
moment) and fails only with ``--strict``. Where no address answers at all, the machine is
taken to be offline: nothing is called dead for it, and the check fails saying so. A
``#fragment`` of an external address is not checked. Exit status: 0 when nothing is dead, 1
otherwise (2: no built site). Only the standard library is used.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

OK, DEAD, UNCHECKED, UNVERIFIED = "ok", "dead", "not checked", "not verified"

# the attributes that hold addresses, per tag
LINK_ATTRS = {"a": "href", "area": "href", "link": "href", "img": "src", "script": "src", "iframe": "src",
              "source": "src", "video": "src", "audio": "src", "embed": "src"}
COLAB = re.compile(r"^https?://colab\.research\.google\.com/github/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+)"
                   r"/blob/(?P<ref>[^/]+)/(?P<path>[^?#]+\.ipynb)(?:[?#].*)?$")
# pip's form "git+https://github.com/<owner>/<repo>[.git]@<ref>" (in code), and the same address as a link
PIN = re.compile(r"git\+(?P<url>https://github\.com/[\w.-]+/[\w.-]+?)(?:\.git)?@(?P<tag>[\w.+-]*\w)")
PIN_HREF = re.compile(r"^(?P<url>https://github\.com/[\w.-]+/[\w.-]+?)(?:\.git)?@(?P<tag>[\w.+-]*\w)$")
BIB_ENTRY = re.compile(r"@(?P<type>\w+)\s*\{\s*(?P<key>[^,\s]+)\s*,(?P<body>.*?)(?=^\s*@|\Z)", re.DOTALL | re.MULTILINE)
BIB_DOI = re.compile(r"\bdoi\s*=\s*[{\"]\s*(?P<doi>[^}\"\s]+)\s*[}\"]", re.IGNORECASE)
BIB_URL = re.compile(r"https?://[^\s{}\"\\]+")
USER_AGENT = "Mozilla/5.0 (compatible; alexnet-book-link-check; +https://github.com/)"
# files of the repository whose install lines are checked besides the pages
PIN_FILES = ("README.md", "book/*.md", "notebooks/*.ipynb", "colab/*.ipynb")


# --- the pages --------------------------------------------------------------------------------

class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.text: list[str] = []
        self._skip = 0  # inside <script> or <style>: no text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("id", "name") if tag == "a" else ("id",):
            if values.get(name):
                self.ids.add(values[name])  # type: ignore[arg-type]
        attr = LINK_ATTRS.get(tag)
        if attr and values.get(attr):
            self.links.append(values[attr].strip())  # type: ignore[union-attr]
        if tag in ("script", "style"):
            self._skip += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


@dataclass
class Page:
    ids: set[str]
    links: list[str]
    text: str


_pages: dict[Path, Page] = {}
_pages_lock = threading.Lock()


def read_page(path: Path) -> Page:
    """A page's ids, links and text (parsed once)."""
    with _pages_lock:
        if path in _pages:
            return _pages[path]
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    page = Page(parser.ids, parser.links, "".join(parser.text))
    with _pages_lock:
        _pages[path] = page
    return page


def site_pages(site: Path) -> list[Path]:
    """Every HTML page of the site, less those of its static folders (vendored packages' files)."""
    skip = {"_static", "_sources", "_images", "_downloads"}
    return sorted(p for p in site.rglob("*.html") if not skip & set(p.relative_to(site).parts[:-1]))


# --- the repository ---------------------------------------------------------------------------

def repository_url(root: Path) -> str | None:
    """``_config.yml``'s repository URL (read without YAML: the key ``url`` under ``repository``)."""
    config = root / "_config.yml"
    if not config.is_file():
        return None
    found = re.search(r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*[\"']?(\S+?)[\"']?\s*$",
                      config.read_text(), re.MULTILINE)
    return found.group(1).rstrip("/") if found else None


def published_url(repo_url: str | None) -> str | None:
    """Where GitHub Pages publishes the repository: ``https://<owner>.github.io/<name>``."""
    found = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+)", repo_url or "")
    return f"https://{found.group(1).lower()}.github.io/{found.group(2)}" if found else None


class Git:
    """The few questions asked of the repository's clone; every answer is None without git."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.available = self._run("rev-parse", "--git-dir") is not None

    def _run(self, *args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, text=True,
                                  timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    def current_branch(self) -> str | None:
        branch = self._run("symbolic-ref", "--quiet", "--short", "HEAD") if self.available else None
        return branch or None

    def has_tag(self, tag: str) -> bool:
        found = self._run("rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}")
        return self.available and found is not None

    def has_file(self, ref: str, path: str) -> bool:
        return self.available and self._run("cat-file", "-e", f"{ref}:{path}") is not None


# --- results ----------------------------------------------------------------------------------

@dataclass
class Result:
    kind: str  # internal, site, colab, release, external, bibliography
    target: str
    verdict: str
    reason: str = ""
    sources: set[str] = field(default_factory=set)


@dataclass
class Report:
    results: list[Result]
    pages: int
    offline: bool
    network_down: bool = False  # online, but no address answered at all

    def of(self, verdict: str) -> list[Result]:
        return [r for r in self.results if r.verdict == verdict]

    def failed(self, strict: bool = False) -> list[Result]:
        return [r for r in self.results if r.verdict == DEAD or (strict and r.verdict == UNVERIFIED)]

    def lines(self, *, verbose: bool = False, strict: bool = False) -> list[str]:
        out = []
        for r in sorted(self.failed(strict), key=lambda r: (sorted(r.sources), r.target)):
            for source in sorted(r.sources):
                out.append(f"DEAD  {source}: {r.kind} link {r.target} ({r.reason})")
        shown = ([] if strict else [UNVERIFIED]) + ([UNCHECKED] if verbose else [])
        for verdict in shown:
            for r in sorted(self.of(verdict), key=lambda r: r.target):
                first = min(r.sources) if r.sources else "?"
                more = f" and {len(r.sources) - 1} more" if len(r.sources) > 1 else ""
                out.append(f"{verdict}: {r.kind} link {r.target} ({r.reason}; in {first}{more})")
        counts = defaultdict(int)
        for r in self.results:
            counts[r.verdict] += 1
        unchecked = defaultdict(int)
        for r in self.of(UNCHECKED):
            unchecked[r.kind] += 1
        mode = "offline" if self.offline else "online"
        summary = (f"check_links ({mode}): {self.pages} pages, {len(self.results)} distinct links: "
                   f"{counts[OK]} ok, {counts[DEAD]} dead, {counts[UNVERIFIED]} not verified, "
                   f"{counts[UNCHECKED]} not checked")
        if unchecked:
            summary += " (" + ", ".join(f"{n} {kind}" for kind, n in sorted(unchecked.items())) + ")"
        return [*out, summary]


# --- the network ------------------------------------------------------------------------------

Opener = Any  # anything with urllib's ``open(request, timeout=...)``


def ask(url: str, opener: Opener, timeout: float) -> tuple[str, str]:
    """The verdict on one external address: HEAD first, then GET where HEAD was not answered with
    success (some servers refuse HEAD, or answer it differently)."""
    verdict, reason = UNVERIFIED, "no answer"
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
        try:
            response = opener.open(request, timeout=timeout)
            try:
                code = getattr(response, "status", None) or response.getcode()
            finally:
                response.close()
        except urllib.error.HTTPError as err:
            code = err.code
        except urllib.error.URLError as err:
            cause = err.reason
            if isinstance(cause, socket.gaierror):
                verdict, reason = DEAD, f"no such host ({cause.strerror or cause})"
                break  # GET would not find it either
            if isinstance(cause, ssl.SSLCertVerificationError):
                verdict, reason = DEAD, f"its certificate is not valid ({cause.verify_message or cause})"
                break
            verdict, reason = UNVERIFIED, f"no answer ({cause})"
            continue
        except (TimeoutError, OSError) as err:
            verdict, reason = UNVERIFIED, f"no answer ({type(err).__name__}: {err})"
            continue
        if code < 400:
            return OK, f"{method} {code}"
        if code in (401, 403, 429) or code >= 500:
            verdict, reason = UNVERIFIED, f"{method} answered {code}"
        else:
            verdict, reason = DEAD, f"{method} answered {code}"
    return verdict, reason


class Network:
    """Asks each address once (a few at a time, at most two per host), and again once after a
    pause when the answer was not a verdict (a timeout, 429, a 5xx)."""

    def __init__(self, opener: Opener | None = None, *, timeout: float = 20, workers: int = 8,
                 retry_wait: float = 5.0) -> None:
        self.opener = opener or urllib.request.build_opener()
        self.timeout = timeout
        self.workers = workers
        self.retry_wait = retry_wait
        self._hosts: dict[str, threading.Semaphore] = defaultdict(lambda: threading.Semaphore(2))
        self._lock = threading.Lock()

    def _one(self, url: str) -> tuple[str, str]:
        host = urllib.parse.urlsplit(url).netloc.lower()
        with self._lock:
            gate = self._hosts[host]
        for attempt in range(2):
            with gate:
                verdict, reason = ask(url, self.opener, self.timeout)
            if verdict != UNVERIFIED or attempt:
                return verdict, reason
            time.sleep(self.retry_wait)
        return verdict, reason

    def check(self, urls: Iterable[str]) -> dict[str, tuple[str, str]]:
        urls = sorted(set(urls))
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            return dict(zip(urls, pool.map(self._one, urls)))


# --- the checks -------------------------------------------------------------------------------

def _internal(site: Path, page: Path, link: str) -> tuple[str, str] | None:
    """The verdict on a link into the site (None for addresses that are not files: mailto:...)."""
    parts = urllib.parse.urlsplit(link)
    path, fragment = urllib.parse.unquote(parts.path), urllib.parse.unquote(parts.fragment)
    if not path:
        target = page
    elif path.startswith("/"):
        return DEAD, "an absolute path: it breaks where the site is not at the server's root"
    else:
        target = Path(page.parent, path)
    target = Path(*_normalise(target.parts))
    try:
        target.relative_to(site)
    except ValueError:
        return DEAD, "it points outside the site"
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return DEAD, f"no file {target.relative_to(site).as_posix()}"
    if fragment and target.suffix == ".html" and fragment not in read_page(target).ids:
        return DEAD, f"no anchor #{fragment} in {target.relative_to(site).as_posix()}"
    return OK, ""


def _normalise(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            if len(out) > 1:
                out.pop()
        elif part != ".":
            out.append(part)
    return out


def bibliography_urls(bib: Path) -> dict[str, set[str]]:
    """The addresses of ``references.bib``: ``{url: {"book/references.bib (key)"}}``."""
    found: dict[str, set[str]] = defaultdict(set)
    if not bib.is_file():
        return found
    name = bib.name if bib.parent.name != "book" else f"book/{bib.name}"
    for entry in BIB_ENTRY.finditer(bib.read_text(encoding="utf-8")):
        body = entry.group("body")
        for url in BIB_URL.findall(body):
            found[url.rstrip(".,;")].add(f"{name} ({entry.group('key')})")
        for doi in BIB_DOI.findall(body):
            doi = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", doi, flags=re.IGNORECASE)
            found[f"https://doi.org/{doi}"].add(f"{name} ({entry.group('key')})")
    return found


def check_site(site: Path, *, root: Path = ROOT, offline: bool = False, network: Network | None = None,
               bib: Path | None = None, skip: Iterable[str] = (), progress: Callable[[str], None] | None = None
               ) -> Report:
    """Every link of ``site`` checked (see the module's docstring); ``root`` is the repository."""
    site = Path(site).resolve()
    root = Path(root).resolve()
    skips = [re.compile(s) for s in skip]
    repo_url = repository_url(root)
    ours = (repo_url or "").removeprefix("https://github.com/").lower()
    published = published_url(repo_url)
    git = Git(root)
    branch = git.current_branch()

    results: dict[tuple[str, str], Result] = {}

    def add(kind: str, target: str, source: str, verdict: str = UNCHECKED, reason: str = "") -> Result:
        result = results.get((kind, target))
        if result is None:
            result = results[(kind, target)] = Result(kind, target, verdict, reason)
        result.sources.add(source)
        return result

    pins: dict[tuple[str, str], set[str]] = defaultdict(set)
    external: dict[str, set[str]] = defaultdict(set)
    colab: dict[str, set[str]] = defaultdict(set)

    pages = site_pages(site)
    for page in pages:
        name = page.relative_to(site).as_posix()
        parsed = read_page(page)
        for found in PIN.finditer(html.unescape(parsed.text)):
            pins[(found.group("url"), found.group("tag"))].add(name)
        for link in parsed.links:
            scheme = urllib.parse.urlsplit(link).scheme.lower()
            if link.startswith("//"):
                link, scheme = "https:" + link, "https"
            if any(s.search(link) for s in skips):
                continue
            if scheme in ("http", "https"):
                pin = PIN_HREF.match(link)
                if pin:
                    pins[(pin.group("url"), pin.group("tag"))].add(name)
                elif COLAB.match(link):
                    colab[link].add(name)
                elif published and (link == published or link.startswith(published + "/")):
                    local = link[len(published):].lstrip("/") or "index.html"
                    verdict, reason = _internal(site, site / "index.html", local) or (OK, "")
                    add("site", link, name, verdict, reason)
                else:
                    external[urllib.parse.urldefrag(link).url].add(name)
            elif scheme == "file":
                add("internal", link, name, DEAD, "a file: address works only on the machine that built the site")
            elif not scheme:
                if link == "#" or link.startswith("#!"):
                    continue
                verdict, reason = _internal(site, page, link) or (OK, "")
                add("internal", f"{link}", name, verdict, reason)
            # mailto:, tel:, javascript:, data: ... are not addresses to check

    for pattern in PIN_FILES:
        for path in sorted(root.glob(pattern)):
            text = path.read_text(encoding="utf-8", errors="replace")
            if path.suffix == ".ipynb":  # the JSON's escaped quotes and backslashes
                text = text.replace('\\"', '"')
            for found in PIN.finditer(text):
                pins[(found.group("url"), found.group("tag"))].add(path.relative_to(root).as_posix())

    bib_urls = bibliography_urls(bib if bib is not None else root / "book" / "references.bib")
    for url, sources in bib_urls.items():
        if not any(s.search(url) for s in skips):
            for source in sources:
                add("bibliography", url, source, reason="the network's to check")
    for url, sources in external.items():
        for source in sources:
            add("external", url, source, reason="the network's to check")

    # Colab links: the file at its ref, in this clone where the ref is here
    remote: dict[str, list[Result]] = defaultdict(list)
    for link, sources in colab.items():
        m = COLAB.match(link)
        assert m is not None
        owner, repo, ref, path = m.group("owner", "repo", "ref", "path")
        path = urllib.parse.unquote(path)
        verdict, reason = UNCHECKED, ""
        if f"{owner}/{repo}".lower() != ours:
            reason = f"another repository than {repo_url}"
        elif not git.available:
            reason = f"{root} is not a git clone"
        elif ref == branch or git.has_tag(ref):
            where = "HEAD" if ref == branch else f"refs/tags/{ref}"
            if git.has_file(where, path):
                verdict, reason = OK, f"{path} is in {ref}"
            else:
                extra = " (it is in the working tree: commit it)" if (root / path).is_file() and ref == branch else ""
                verdict, reason = DEAD, f"{path} is not in {ref}{extra}"
        else:
            reason = f"{ref} is neither the checked-out branch ({branch or 'none'}) nor a tag of this clone"
        for source in sources:
            result = add("colab", link, source, verdict, reason)
        if not offline and verdict != DEAD:
            remote[f"https://github.com/{owner}/{repo}/blob/{ref}/{urllib.parse.quote(path)}"].append(result)

    # the install line's release: the tag, in this clone and on GitHub
    for (url, tag), sources in pins.items():
        target = f"git+{url}@{tag}"
        if url.removeprefix("https://github.com/").lower() != ours:
            verdict, reason = UNCHECKED, f"another repository than {repo_url}"
        elif not git.available:
            verdict, reason = UNCHECKED, f"{root} is not a git clone"
        elif git.has_tag(tag):
            verdict, reason = OK, f"tag {tag} is in this clone"
        else:
            verdict, reason = UNCHECKED, f"tag {tag} is not in this clone (a clone without tags cannot tell)"
        for source in sources:
            result = add("release", target, source, verdict, reason)
        if not offline:
            remote[f"{url}/tree/{urllib.parse.quote(tag)}"].append(result)

    for kind in ("external", "bibliography"):
        for (k, target), result in results.items():
            if k == kind and not offline:
                remote[target].append(result)

    if remote:
        network = network or Network()
        if progress:
            progress(f"check_links: asking {len(remote)} addresses")
        answers = network.check(remote)
        # a server's answer (any status) says the network works; none at all, that it does not
        online = any(reason.startswith(("HEAD ", "GET ")) for _, reason in answers.values())
        for address, (verdict, reason) in answers.items():
            if not online:
                verdict, reason = UNVERIFIED, f"{reason}; no address answered at all: is this machine online?"
            for result in remote[address]:
                if result.kind == "release" and verdict == DEAD:
                    tag = result.target.rsplit("@", 1)[1]
                    result.verdict, result.reason = DEAD, f"tag {tag} is not on GitHub ({address}: {reason})"
                elif result.kind in ("colab", "release"):
                    if verdict == OK:
                        result.verdict, result.reason = OK, f"{address} answers"
                    else:
                        result.verdict, result.reason = verdict, f"{address}: {reason}"
                else:
                    result.verdict, result.reason = verdict, reason
        if not online:
            return Report(list(results.values()), len(pages), offline, network_down=True)
    return Report(list(results.values()), len(pages), offline)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", default=str(ROOT / "_build" / "html"), help="the built site (_build/html)")
    parser.add_argument("--offline", action="store_true",
                        help="check only what needs no network: internal links and anchors, "
                             "Colab files and tags in this clone")
    parser.add_argument("--repo", default=str(ROOT), help="the repository's clone (default: this one)")
    parser.add_argument("--bib", help="the bibliography (default: book/references.bib)")
    parser.add_argument("--skip", action="append", default=[], metavar="REGEX", help="leave out addresses that match")
    parser.add_argument("--strict", action="store_true", help="fail on addresses that could not be verified too")
    parser.add_argument("--timeout", type=float, default=20, help="seconds to wait for one answer")
    parser.add_argument("--workers", type=int, default=8, help="requests at a time")
    parser.add_argument("--json", metavar="FILE", help="write every result to FILE as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="also list what was not checked")
    args = parser.parse_args(argv)

    site = Path(args.site)
    if not (site / "index.html").is_file():
        print(f"check_links: {site} holds no built site (no index.html); build it first (make book)", file=sys.stderr)
        return 2
    report = check_site(site, root=Path(args.repo), offline=args.offline,
                        network=None if args.offline else Network(timeout=args.timeout, workers=args.workers),
                        bib=Path(args.bib) if args.bib else None, skip=args.skip,
                        progress=lambda line: print(line, flush=True))
    for line in report.lines(verbose=args.verbose, strict=args.strict):
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps([{**r.__dict__, "sources": sorted(r.sources)} for r in report.results],
                                              indent=1) + "\n")
    if report.network_down:
        print("check_links: no address answered at all: this machine seems to be offline (use --offline)")
        return 1
    return 1 if report.failed(args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
