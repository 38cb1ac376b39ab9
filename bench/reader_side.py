"""The peer's side of E1/E2/E3: lemon24/reader polling the same corpus server.

Usage: reader_side.py DB URLS_FILE BUMP_URL
Prints one JSON object with the times of the three passes.
"""

import json
import resource
import sys
import time
import urllib.request

from reader import make_reader


def timed_pass(reader):
    wall, cpu = time.perf_counter(), time.process_time()
    errors = 0
    for result in reader.update_feeds_iter(scheduled=False):
        if isinstance(result.value, Exception):
            errors += 1
    return time.perf_counter() - wall, time.process_time() - cpu, errors


def main():
    db, urls_file, bump_url = sys.argv[1:4]
    urls = [line.strip() for line in open(urls_file) if line.strip()]
    reader = make_reader(db)
    for url in urls:
        reader.add_feed(url)
    e1, e1_cpu, err1 = timed_pass(reader)
    items = reader.get_entry_counts().total
    e2, e2_cpu, err2 = timed_pass(reader)
    urllib.request.urlopen(urllib.request.Request(bump_url, method="POST")).read()
    e3, e3_cpu, err3 = timed_pass(reader)
    print(json.dumps({
        "feeds": len(urls), "items": items,
        "e1_s": e1, "e2_s": e2, "e3_s": e3,
        "e1_cpu_s": e1_cpu, "e2_cpu_s": e2_cpu, "e3_cpu_s": e3_cpu,
        "errors": err1 + err2 + err3,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))


if __name__ == "__main__":
    main()
