#!/usr/bin/env python3
"""Measure how often Tributary's feed connector reads a feed the way feedparser does.

Runs Python's feedparser (the de-facto reference reader, pinned in requirements.txt) and
`tributary source test FILE --json` over every file of the shared feed corpus, compares what
each reads, and prints the agreement, every disagreement with a class, and the documented
quirks (QUIRKS.md: cases where feedparser is wrong by the spec), which are excluded.

Which files count
    A file is compared when feedparser recognises a feed format in it (`version` is set, or it
    found entries) and does not set `bozo`. Files where feedparser sets bozo are counted as
    "bozo skipped"; files where it recognises no feed at all (OPML, expectation JSON beside
    the fixtures, plain XML, and JSON Feed, which feedparser 6 does not read) are counted as
    "not a feed". Tributary's answer on those files is not judged here.

What feedparser is given
    The file's bytes, with `Content-Location` set to the file's absolute `file://` URL (the
    base `tributary source test` uses for a local file: `Url::from_file_path` of the
    canonicalized path, see `source_test` in src/cli.rs) and `Content-Type: application/xml`
    (so feedparser takes the charset from the document, as Tributary does when no HTTP
    charset is known, and does not flag the missing header as bozo).

How entries are paired
    Both readers keep document order, so entries are paired in order. Before pairing,
    feedparser's list gets the two drops Tributary documents (connectors/src/protocol/feed.rs):
    an entry with no id, link, title, content, summary or enclosure ("nothing to show"), and
    an exact repeat (same id, link, title and text as an earlier entry); entries beyond the
    first 1000 are left out too. Entries that merely share an id are kept by Tributary (with
    a suffixed id), so they are kept here. If the counts then differ, the file is a `count`
    disagreement and its fields are not compared (pairing by position would only report noise).

What is compared, per entry
    title      plain text, whitespace collapsed. feedparser's title is stripped of markup when
               its title_detail type is text/html or application/xhtml+xml (and entities are
               decoded). Tributary caps titles at 300 characters ending in "…"; a capped title
               agrees when it is a prefix of feedparser's.
    link       feedparser's `link` against Tributary's `url`, both put through the same steps:
               only an absolute http(s) URL with a host counts (Tributary drops every other
               link, including relative links resolved against the file:// base; see
               src/normalize/urls.rs `absolutize`/`is_web_url`), then the canonicalization of
               src/normalize/urls.rs `canonical_url` (lower-case host, no default port, no
               fragment, no tracking parameters such as utm_* or fbclid, no empty query pairs)
               plus the WHATWG URL serialization Tributary's `url` crate applies (dot segments
               removed, an empty path becomes "/", characters outside URLs percent-encoded).
    published  UTC, to the second. Tributary's `published` is the entry's published date, else
               its updated date, else the fetch time (src/normalize/mod.rs); so the expected
               value is feedparser's published_parsed, else updated_parsed, else "the time of
               the run". A date more than 10 minutes in the future is replaced by the fetch
               time on Tributary's side (MAX_FUTURE_SKEW), and expected that way.
    updated    UTC, to the second: feedparser's updated_parsed against Tributary's `updated`.

A file agrees when every compared field of every entry agrees. A disagreement is a quirk when
a row of QUIRKS.md covers it (its class, its file pattern, and, for rows naming a rule, the
rule's condition on that entry); a file whose only disagreements are quirks is left out of
the figure and listed under quirks.

Output: files compared, files agreeing, the agreement, each disagreement as
`CLASS path: detail`, the quirks, and a last line such as
`agreement: 99.3% (1234 of 1243 files; 12 quirks; 80 bozo skipped; 900 not a feed)`.
Exits 1 when the agreement is below --min-agreement.

Usage: python3 tests/conformance/feedparser_agreement.py --tributary target/debug/tributary
"""

from __future__ import annotations

import argparse
import calendar
import concurrent.futures
import datetime as dt
import fnmatch
import html
import html.parser
import json
import os
import posixpath
import re
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import feedparser

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "feeds"
DEFAULT_QUIRKS = Path(__file__).resolve().parent / "QUIRKS.md"

CLASSES = ("tributary-error", "count", "title", "link", "published", "updated")

# Mirrors of Tributary constants (src/normalize/mod.rs, connectors/src/protocol/feed.rs).
MAX_TITLE_CHARS = 300
MAX_ITEMS_PER_DOCUMENT = 1000
MAX_FUTURE_SKEW = dt.timedelta(minutes=10)

# src/normalize/urls.rs TRACKING_PARAMETERS; any name starting with utm_ is tracking too.
TRACKING_PARAMETERS = {
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid",
    "igshid", "ref_src", "ref_url", "_hsenc", "_hsmi", "__hssc", "__hstc", "__hsfp",
    "hsctatracking", "yclid", "oly_enc_id", "oly_anon_id", "vero_id", "vero_conv", "wickedid",
    "__s", "_openstat", "mkt_tok", "twclid", "ttclid", "li_fat_id", "s_cid", "srsltid",
}
DEFAULT_PORTS = {"http": 80, "https": 443}
FETCH_TIME = "fetch time"  # expected date when Tributary must fall back to the fetch time


# --- Text -----------------------------------------------------------------------------------

BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p",
    "pre", "section", "table", "td", "th", "tr", "ul",
}


class _TextOf(html.parser.HTMLParser):
    """Collects the text of an HTML fragment; block elements separate words."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    # An HTML parser drops a tag left open at the end ("<a"); Python's keeps it as text.
    fragment = re.sub(r"<[A-Za-z/][^>]*$", "", fragment)
    parser = _TextOf()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts)


def squash(text: str) -> str:
    return " ".join(text.split())


def feedparser_title(entry) -> str:
    value = entry.get("title", "") or ""
    kind = (entry.get("title_detail") or {}).get("type", "text/plain")
    if kind in ("text/html", "application/xhtml+xml"):
        value = html_to_text(value)
    return squash(value)


def titles_agree(expected: str, got: str) -> bool:
    got = squash(got)
    if expected == got:
        return True
    # Tributary's cap: 299 characters and an ellipsis.
    if len(got) == MAX_TITLE_CHARS and got.endswith("…"):
        return expected.startswith(got[:-1].rstrip())
    return False


# --- Links ----------------------------------------------------------------------------------

_PATH_SAFE = "/%:@!$&'()*+,;=~-._"
_QUERY_SAFE = _PATH_SAFE + "?"


def _remove_dot_segments(path: str) -> str:
    if not path:
        return "/"
    trailing = path.endswith(("/", "/.", "/.."))
    out = posixpath.normpath(path)
    out = re.sub("^/+", "/", out)  # normpath keeps a leading "//"
    if trailing and not out.endswith("/"):
        out += "/"
    return out


def canonical_link(raw: str | None) -> str | None:
    """The URL both sides are compared as, or None when Tributary would keep no link."""
    if raw is None:
        return None
    raw = re.sub(r"[\t\n\r]", "", raw).strip(" \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c"
                                             "\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18"
                                             "\x19\x1a\x1b\x1c\x1d\x1e\x1f")
    try:
        parts = urllib.parse.urlsplit(raw)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".") if scheme else ""
    if scheme not in ("http", "https") or not host:
        return None
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        host = host.lower()
    netloc = host
    if parts.username is not None:
        userinfo = parts.username + (":" + parts.password if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    path = urllib.parse.quote(_remove_dot_segments(parts.path.replace("\\", "/")), safe=_PATH_SAFE)
    pairs = [p for p in parts.query.split("&") if p and not _is_tracking(p)]
    query = urllib.parse.quote("&".join(pairs), safe=_QUERY_SAFE)
    return urllib.parse.urlunsplit((scheme, netloc, path, query, ""))


def _is_tracking(pair: str) -> bool:
    name = urllib.parse.unquote_plus(pair.split("=", 1)[0]).lower()
    return name.startswith("utm_") or name in TRACKING_PARAMETERS


# --- Dates ----------------------------------------------------------------------------------


def from_struct(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(value), dt.timezone.utc)
    except (OverflowError, ValueError, OSError):
        return None


def from_rfc3339(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


def fmt(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def date_agrees(expected, got: dt.datetime | None, window: tuple[float, float]) -> bool:
    if expected == FETCH_TIME:
        return got is not None and window[0] - 1 <= got.timestamp() <= window[1] + 1
    if expected is None or got is None:
        return expected is None and got is None
    return int(expected.timestamp()) == int(got.timestamp())


def expect_date(value: dt.datetime | None, started: float):
    if value is not None and value.timestamp() > started + MAX_FUTURE_SKEW.total_seconds():
        return FETCH_TIME
    return value


# --- Quirks ---------------------------------------------------------------------------------


def _atom_id_as_link(ctx) -> bool:
    """feedparser made the entry's atom:id its link (guidislink) in an Atom feed."""
    entry = ctx["fp_entry"]
    return (
        ctx["version"].startswith("atom")
        and bool(entry.get("guidislink"))
        and entry.get("link") == entry.get("id")
    )


def _dc_date_as_updated(ctx) -> bool:
    """feedparser's updated came from dc:date, which Tributary reads as the published date."""
    entry, item = ctx["fp_entry"], ctx["item"]
    want = from_struct(entry.get("updated_parsed"))
    got = from_rfc3339(item.get("published"))
    return (
        ctx["has_dc_date"]
        and not item.get("updated")
        and want is not None
        and got is not None
        and int(want.timestamp()) == int(got.timestamp())
    )


QUIRK_RULES = {"atom-id-as-link": _atom_id_as_link, "dc-date-as-updated": _dc_date_as_updated}


@dataclass
class Quirk:
    name: str
    klass: str
    patterns: list[str]
    spec: str


def read_quirks(path: Path) -> list[Quirk]:
    """Rows of the first markdown table in QUIRKS.md: | quirk | class | files | spec | ... |."""
    quirks: list[Quirk] = []
    header: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line.startswith("|"):
            if header is not None and quirks:
                break
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        row = dict(zip(header, cells))
        klass = row["class"].strip("`")
        if klass not in CLASSES:
            raise SystemExit(f"{path}: quirk {row['quirk']!r} has unknown class {klass!r}")
        name = row["quirk"].strip("`")
        patterns = [p.strip().strip("`") for p in row["files"].split(",") if p.strip()]
        quirks.append(Quirk(name, klass, patterns, row["spec"]))
    return quirks


def quirk_for(quirks: list[Quirk], klass: str, rel: str, ctx) -> Quirk | None:
    for quirk in quirks:
        if quirk.klass != klass:
            continue
        if not any(fnmatch.fnmatchcase(rel, p) for p in quirk.patterns):
            continue
        rule = QUIRK_RULES.get(quirk.name)
        # Rules look at one entry; a whole-document class (count, tributary-error) has none.
        if rule is None or (ctx is not None and rule(ctx)):
            return quirk
    return None


# --- Reading --------------------------------------------------------------------------------


def run_tributary(binary: str, path: Path, cwd: str):
    started = time.time()
    proc = subprocess.run(
        [binary, "source", "test", str(path), "--json"],
        capture_output=True,
        cwd=cwd,
        timeout=60,
    )
    ended = time.time()
    return proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace"), (started, ended)


def has_something(entry, unsanitized) -> bool:
    """Tributary's "nothing to show" test on a feedparser entry. Tributary looks at content
    and summary before sanitizing; feedparser's are sanitized (a lone <script> becomes ""),
    so an empty value is looked up in `unsanitized`, the same entry parsed without sanitizing.
    Out-of-line content (`<content src>`) counts as something to show; a link counts only
    when it is http(s), as in Tributary."""
    def texts(e):
        yield from (c.get("value") or "" for c in e.get("content", []))
        yield e.get("summary") or ""
    has_text = any(t.strip() for t in texts(entry))
    if not has_text and unsanitized is not None and ("content" in entry or "summary" in entry):
        has_text = any(t.strip() for t in texts(unsanitized()))
    # Tributary keeps only http(s) links, and any of an entry's links that is not about
    # the feed machinery (self, edit, enclosure, replies…) can be its permalink.
    machinery = {"self", "edit", "edit-media", "enclosure", "replies", "license", "hub", "via", "related"}
    has_link = canonical_link(entry.get("link")) is not None or any(
        canonical_link(link.get("href")) is not None
        for link in entry.get("links", [])
        if (link.get("rel") or "alternate").lower() not in machinery
    )
    return bool(
        (entry.get("id") or "").strip()
        or has_link
        or (entry.get("title") or "").strip()
        or has_text
        or any(c.get("src") for c in entry.get("content", []))
        or entry.get("enclosures")
        or entry.get("media_content")
    )


def feedparser_entries(parsed, reparse) -> list:
    kept, seen = [], set()
    cache: list = []

    def unsanitized_entries():
        if not cache:
            cache.append(reparse().entries)
        return cache[0]

    for idx, entry in enumerate(parsed.entries):
        def unsanitized(idx=idx):
            entries = unsanitized_entries()
            return entries[idx] if idx < len(entries) else {}

        if not has_something(entry, unsanitized):
            continue
        text = (entry.get("content") or [{}])[0].get("value") or entry.get("summary") or ""
        key = (entry.get("id") or "", entry.get("link") or "", entry.get("title") or "", text)
        if key[0] and key in seen:
            continue
        seen.add(key)
        kept.append(entry)
    return kept[:MAX_ITEMS_PER_DOCUMENT]


@dataclass
class Result:
    rel: str
    status: str = "compared"  # compared | bozo | not-a-feed
    problems: list[tuple[str, str]] = field(default_factory=list)  # (class, detail)
    quirks: list[tuple[str, str, Quirk]] = field(default_factory=list)


def read_feedparser(data: bytes, path: Path, sanitize: bool = True):
    return feedparser.parse(
        data,
        response_headers={"content-type": "application/xml", "content-location": path.as_uri()},
        sanitize_html=sanitize,
    )


def compare(rel: str, path: Path, raw: bytes, parsed, trib, quirks: list[Quirk]) -> Result:
    result = Result(rel)
    code, stdout, stderr, window = trib
    if code != 0:
        # A document in which feedparser finds no entry either (an AtomPub service
        # document, an empty channel): both read nothing, and Tributary says why.
        if not feedparser_entries(parsed, lambda: read_feedparser(raw, path, sanitize=False)):
            return result
        last = (stderr.strip().splitlines() or ["(no message)"])[-1]
        detail = f"exit {code}: {last[:200]}"
        quirk = quirk_for(quirks, "tributary-error", rel, None)
        if quirk:
            result.quirks.append(("tributary-error", detail, quirk))
        else:
            result.problems.append(("tributary-error", detail))
        return result
    items = [json.loads(line) for line in stdout.decode("utf-8").splitlines() if line.strip()]
    expected = feedparser_entries(parsed, lambda: read_feedparser(raw, path, sanitize=False))
    if len(items) != len(expected):
        detail = f"feedparser {len(expected)} entries, tributary {len(items)}"
        warning = next((l for l in stderr.splitlines() if l.startswith("warning")), None)
        if warning and len(items) < len(expected):
            detail += f" ({warning[:160]})"
        quirk = quirk_for(quirks, "count", rel, None)
        if quirk:
            result.quirks.append(("count", detail, quirk))
        else:
            result.problems.append(("count", detail))
        return result

    found: dict[str, list[str]] = {}
    version = parsed.get("version", "") or ""
    has_dc_date = b"purl.org/dc/elements/1.1" in raw and re.search(rb"<[A-Za-z0-9_]+:date[\s>]", raw) is not None
    for idx, (entry, item) in enumerate(zip(expected, items), start=1):
        fp_pub = from_struct(entry.get("published_parsed")) or from_struct(entry.get("updated_parsed"))
        fp_upd = from_struct(entry.get("updated_parsed"))
        checks = [
            ("title", feedparser_title(entry), item.get("title") or "",
             titles_agree(feedparser_title(entry), item.get("title") or "")),
        ]
        want_link, got_link = canonical_link(entry.get("link")), canonical_link(item.get("url"))
        checks.append(("link", want_link, got_link, want_link == got_link))
        want_pub = expect_date(fp_pub, window[0]) if fp_pub else FETCH_TIME
        got_pub = from_rfc3339(item.get("published"))
        checks.append(("published", want_pub, got_pub, date_agrees(want_pub, got_pub, window)))
        want_upd = expect_date(fp_upd, window[0])
        got_upd = from_rfc3339(item.get("updated"))
        checks.append(("updated", want_upd, got_upd, date_agrees(want_upd, got_upd, window)))
        for klass, want, got, ok in checks:
            if ok:
                continue
            if klass in ("published", "updated"):
                want, got = fmt(want), fmt(got)
            detail = f"entry {idx}: feedparser {want!r}, tributary {got!r}"
            ctx = {"fp_entry": entry, "item": item, "version": version, "has_dc_date": has_dc_date}
            quirk = quirk_for(quirks, klass, rel, ctx)
            if quirk:
                result.quirks.append((klass, detail, quirk))
            else:
                found.setdefault(klass, []).append(detail)
    for klass in CLASSES:
        details = found.get(klass)
        if details:
            more = f" (+{len(details) - 1} more entries)" if len(details) > 1 else ""
            result.problems.append((klass, details[0] + more))
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tributary", required=True, help="the tributary binary")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--quirks", type=Path, default=DEFAULT_QUIRKS)
    ap.add_argument("--min-agreement", type=float, default=99.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write a JSON report here")
    args = ap.parse_args()

    binary = str(Path(args.tributary).resolve())
    corpus = args.corpus.resolve()
    quirks = read_quirks(args.quirks)
    files = sorted(p for p in corpus.rglob("*") if p.is_file())
    if not files:
        print(f"no files under {corpus}", file=sys.stderr)
        return 2

    began = time.time()
    workdir = os.environ.get("TMPDIR", "/tmp")
    results: list[Result] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {p: pool.submit(run_tributary, binary, p, workdir) for p in files}
        parsed_all = {}
        for path in files:  # feedparser runs here while the pool runs Tributary
            data = path.read_bytes()
            parsed_all[path] = read_feedparser(data, path)
        for path in files:
            rel = path.relative_to(corpus).as_posix()
            parsed = parsed_all[path]
            if not parsed.get("version") and not parsed.entries:
                results.append(Result(rel, status="not-a-feed"))
            elif parsed.bozo:
                results.append(Result(rel, status="bozo"))
            else:
                results.append(compare(rel, path, path.read_bytes(), parsed, futures[path].result(), quirks))
    elapsed = time.time() - began

    compared = [r for r in results if r.status == "compared"]
    quirk_only = [r for r in compared if r.quirks and not r.problems]
    counted = [r for r in compared if r not in quirk_only]
    agreeing = [r for r in counted if not r.problems]
    n_bozo = sum(r.status == "bozo" for r in results)
    n_not_feed = sum(r.status == "not-a-feed" for r in results)
    pct = 100.0 * len(agreeing) / len(counted) if counted else 100.0

    print(f"files in corpus: {len(results)} ({corpus})")
    print(f"files compared: {len(counted)} (quirk-only files excluded: {len(quirk_only)})")
    print(f"files agreeing: {len(agreeing)}")
    print(f"bozo skipped: {n_bozo}; not a feed: {n_not_feed}; took {elapsed:.1f}s")
    print()
    by_class: dict[str, int] = {}
    for r in counted:
        for klass, detail in r.problems:
            by_class[klass] = by_class.get(klass, 0) + 1
            print(f"{klass} {r.rel}: {detail}")
    print()
    n_quirk_fields = 0
    for r in compared:
        for klass, detail, quirk in r.quirks:
            n_quirk_fields += 1
            print(f"quirk {quirk.name} ({klass}) {r.rel}: {detail}")
    print()
    print("disagreements by class (files): " + (", ".join(
        f"{k} {by_class[k]}" for k in CLASSES if k in by_class) or "none"))
    print(f"agreement: {pct:.1f}% ({len(agreeing)} of {len(counted)} files; "
          f"{len(quirk_only)} quirks; {n_bozo} bozo skipped; {n_not_feed} not a feed)")

    if args.json:
        report = {
            "agreement_percent": round(pct, 2),
            "files": len(results),
            "compared": len(counted),
            "agreeing": len(agreeing),
            "quirk_only_files": len(quirk_only),
            "bozo_skipped": n_bozo,
            "not_a_feed": n_not_feed,
            "by_class": by_class,
            "disagreements": [
                {"path": r.rel, "class": k, "detail": d} for r in counted for k, d in r.problems
            ],
            "quirks": [
                {"path": r.rel, "class": k, "quirk": q.name, "detail": d}
                for r in compared for k, d, q in r.quirks
            ],
        }
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 1 if pct < args.min_agreement else 0


if __name__ == "__main__":
    sys.exit(main())
