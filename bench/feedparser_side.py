"""The peer's side of P1: Python feedparser with its defaults (sanitizing on) over the
same files, read into memory first, one thread.

Usage: feedparser_side.py CORPUS_DIR N_FEEDS REPS
"""

import json
import os
import sys
import time

import feedparser


def main():
    corpus, n, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    names = []
    for line in open(os.path.join(corpus, "manifest.tsv")):
        name = line.split("\t")[0]
        if name.endswith((".xml", ".atom")):
            names.append(name)
    files = [open(os.path.join(corpus, name), "rb").read() for name in names[:n]]
    rates = []
    items = 0
    for _ in range(reps):
        items = 0
        started = time.perf_counter()
        for data in files:
            parsed = feedparser.parse(data)
            for entry in parsed.entries:
                items += 1
                # Map to a row, as an aggregator would.
                _ = (entry.get("id"), entry.get("title"), entry.get("link"),
                     entry.get("published"), entry.get("summary"), entry.get("content"))
        rates.append(items / (time.perf_counter() - started))
    print(json.dumps({"items": items, "items_per_s": rates}))


if __name__ == "__main__":
    main()
