"""Reply-assistance benchmark: the completeness check and the similar-replies model on real data.

Run by hand (`make bench-replies`, or `.venv/bin/python bench/replies.py --help`); never part of
the test suite. Results: docs/intelligence.md ("Reply assistance") and docs/benchmarks.md.

Test bed: /work/shared/data/tipdm2020c/messages-with-replies.xlsx, 2,816 real citizen messages to
a city government, each with its official reply.

1. Completeness check (`check_opinion`) on every reply: the share with each Art. 32 element and
   with all four; `--sample N` writes N replies (seeded) with what was found, for reading by hand.
2. Retrieval quality: 20% of the messages held out (seeded); the model is fitted on the other 80%
   (title + content, as the desk indexes answered cases); each held-out message asks for its top 5.
   The replies name who answered: the *kind of responding department* (education bureau, police,
   housing, street office or township, …) is read from each reply by `DEPARTMENT_KINDS`, the first
   named. A hit is a retrieved reply from the same kind of department as the held-out message's own
   reply; also "same department" = same kind and same place code (A3区, K7县, …) of the message.
   Baseline: the share of the most common kind (what always guessing it would score).
3. Latency of one query (`ReplyIndex.top`, k=5, no permission filter) at 2,816 cases and at a
   synthetic 100,000 (sentences of the real messages shuffled into new ones), with the fit time,
   the file size and the time to add 1,000 cases incrementally.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault(
    "PETITIONDESK_DATA_DIR", str(Path(tempfile.gettempdir()) / "pd-bench-replies")
)

import django  # noqa: E402

django.setup()

from petitiondesk.routing import replies  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "tipdm2020c" / "messages-with-replies.xlsx"

# The kind of department a reply names, earliest mention first (its own office usually comes
# first: "经马望堆街道调查核实…").
DEPARTMENT_KINDS = {
    "education": r"教育局|教育部门|教体局|学校|中学|小学|幼儿园",
    "police": r"公安|派出所|交警|警察|交通警察",
    "housing": r"住建|住房和城乡建设|住房城乡建设|房产局|房管|住房保障",
    "labour": r"人社局|人力资源和社会保障|人力资源社会保障|社保|劳动保障|就业",
    "health": r"卫健|卫生健康|卫计|卫生局|医院|医保|疾控",
    "urban_management": r"城管|城市管理|执法大队|执法中队|环卫",
    "environment": r"环保局|环境保护局|生态环境|环保部门",
    "transport": r"交通运输|交通局|运管|公交|公路局",
    "land_planning": r"国土|自然资源|规划局|规划部门|不动产",
    "market": r"市场监督|市场监管|工商|食药|质监",
    "local_government": r"街道|乡政府|镇政府|镇人民政府|乡人民政府|我镇|我乡|社区居委会|村委会",
    "water_power": r"水务|供水|自来水|电力|供电|燃气",
    "civil_affairs": r"民政",
    "agriculture": r"农业农村|农业局|林业|畜牧|水利",
}
_KIND = re.compile("|".join(f"(?P<{k}>{v})" for k, v in DEPARTMENT_KINDS.items()))
_PLACE = re.compile(r"[A-Z]\d{1,2}(?:区|县|市)|[A-Z]市")


def department_kind(reply: str) -> str | None:
    match = _KIND.search(reply)
    return match.lastgroup if match else None


def place(text: str) -> str | None:
    match = _PLACE.search(text)
    return match.group(0) if match else None


def load() -> list[dict[str, str]]:
    import openpyxl

    book = openpyxl.load_workbook(DATA, read_only=True)
    rows = list(book.active.iter_rows(values_only=True))[1:]
    out = []
    for r in rows:
        title, content, reply = (
            re.sub(r"\s+", " ", str(v or "")).strip() for v in (r[2], r[4], r[5])
        )
        out.append({"id": str(r[0]), "title": title, "content": content, "reply": reply})
    return out


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def bench_check(rows: list[dict[str, str]], sample: int, sample_file: Path) -> None:
    counts: Counter[str] = Counter()
    complete = 0
    started = time.perf_counter()
    checks = [replies.check_opinion(r["reply"]) for r in rows]
    elapsed = time.perf_counter() - started
    for c in checks:
        counts.update(e.element for e in c.elements if e.present)
        complete += c.complete
    n = len(rows)
    print(f"\n## Completeness check on {n} real replies ({1000 * elapsed / n:.2f} ms a reply)")
    for element in replies.ELEMENTS:
        print(f"  {element:12} {pct(counts[element], n)}")
    print(f"  {'all four':12} {pct(complete, n)}")
    if sample:
        rng = random.Random(7)
        picked = rng.sample(range(n), sample)
        with sample_file.open("w", encoding="utf-8") as out:
            for i in picked:
                out.write(f"### {rows[i]['id']} {rows[i]['title']}\n{rows[i]['reply']}\n")
                for e in checks[i].elements:
                    out.write(f"  {e.element}: {'YES ' + e.evidence if e.present else 'no'}\n")
                out.write("\n")
        print(f"  {sample} replies for reading by hand: {sample_file}")


def bench_quality(
    rows: list[dict[str, str]], ngrams: tuple[int, int], query_terms: int, doc_terms: int
) -> None:
    replies.NGRAMS, replies.QUERY_TERMS, replies.DOC_TERMS = ngrams, query_terms, doc_terms
    rng = random.Random(42)
    order = list(range(len(rows)))
    rng.shuffle(order)
    cut = int(0.8 * len(rows))
    train, test = order[:cut], order[cut:]
    kinds = [department_kind(r["reply"]) for r in rows]
    places = [place(r["title"] + r["content"]) for r in rows]
    texts = [replies.case_text(r["title"], r["content"]) for r in rows]
    index = replies.ReplyIndex.fit([texts[i] for i in train], train, train)
    judged = [i for i in test if kinds[i]]
    top1 = top5 = dept1 = dept5 = dept_judged = 0
    for i in judged:
        hits = [c for c, _s in index.top(texts[i], 5)]
        same = [kinds[c] == kinds[i] for c in hits]
        top1 += bool(same[:1] and same[0])
        top5 += any(same)
        if places[i]:
            dept_judged += 1
            same_dept = [s and places[c] == places[i] for s, c in zip(same, hits, strict=True)]
            dept1 += bool(same_dept[:1] and same_dept[0])
            dept5 += any(same_dept)
    majority = Counter(kinds[i] for i in train if kinds[i]).most_common(1)[0]
    base = sum(kinds[i] == majority[0] for i in judged)
    print(
        f"\n## Retrieval, char {ngrams[0]}-{ngrams[1]}-grams, {query_terms} query terms, "
        f"{doc_terms} case terms: "
        f"{len(train)} indexed, {len(test)} "
        f"held out, {len(judged)} of them with a department kind in their reply "
        f"({pct(sum(1 for k in kinds if k), len(rows))} of all replies)"
    )
    print(
        f"  same kind of department: top-1 {pct(top1, len(judged))}, top-5 any {pct(top5, len(judged))}"
    )
    print(f"  baseline (always '{majority[0]}'): {pct(base, len(judged))}")
    print(
        f"  same department (kind + place, {dept_judged} with a place): top-1 {pct(dept1, dept_judged)}, "
        f"top-5 any {pct(dept5, dept_judged)}"
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def synthetic(rows: list[dict[str, str]], n: int) -> list[str]:
    """n new messages, each a shuffle of 3–8 sentences of the real ones (realistic length, mixed
    topics, the real vocabulary)."""
    sentences = [s for r in rows for s in re.split(r"(?<=[。！？])", r["content"]) if len(s) > 4]
    titles = [r["title"] for r in rows]
    rng = random.Random(1)
    return [
        replies.case_text(rng.choice(titles), "".join(rng.sample(sentences, rng.randint(3, 8))))
        for _ in range(n)
    ]


def bench_latency(rows: list[dict[str, str]], sizes: list[int], queries: int) -> None:
    texts_real = [replies.case_text(r["title"], r["content"]) for r in rows]
    probe = random.Random(3).sample(texts_real, min(queries, len(texts_real)))
    for size in sizes:
        texts = texts_real if size == len(rows) else synthetic(rows, size)
        started = time.perf_counter()
        index = replies.ReplyIndex.fit(texts, list(range(size)), list(range(size)))
        fit = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "index.npz"
            index.save(path)
            size_mb = path.stat().st_size / 1e6
            started = time.perf_counter()
            index = replies.ReplyIndex.load(path)
            load = time.perf_counter() - started
        index.top(probe[0], 5)  # the column-major copy is made by the first query
        times = []
        for text in probe:
            started = time.perf_counter()
            index.top(text, 5)
            times.append(1000 * (time.perf_counter() - started))
        extra = synthetic(rows, 1000)
        started = time.perf_counter()
        index.add(extra, list(range(size, size + 1000)), list(range(size, size + 1000)))
        add = time.perf_counter() - started
        print(
            f"\n## Latency at {size:,} cases ({len(index.terms):,} terms, {index.matrix.nnz:,} non-zeros)\n"
            f"  query p50 {statistics.median(times):.1f} ms, p99 {percentile(times, 0.99):.1f} ms "
            f"({len(times)} queries, k=5)\n"
            f"  fit {fit:.1f} s, file {size_mb:.1f} MB, load {load:.2f} s, add 1,000 cases {add:.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=30, help="replies written out for reading")
    parser.add_argument("--sample-file", type=Path, default=Path("var/bench-replies-sample.txt"))
    parser.add_argument("--sizes", default="2816,100000", help="index sizes for the latency")
    parser.add_argument("--queries", type=int, default=500, help="queries per size")
    parser.add_argument("--compare", action="store_true", help="also try other n-gram ranges")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"bench/replies.py: error: {DATA} not found")
    rows = load()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; python {platform.python_version()}"
    )
    args.sample_file.parent.mkdir(parents=True, exist_ok=True)
    bench_check(rows, args.sample, args.sample_file)
    chosen = (replies.NGRAMS, replies.QUERY_TERMS, replies.DOC_TERMS)
    ngrams, query_terms, doc_terms = chosen
    unlimited = 10**9
    others = [
        (ngrams, unlimited, unlimited),
        (ngrams, query_terms, unlimited),
        ((2, 2), query_terms, doc_terms),
        ((2, 3), query_terms, doc_terms),
        ((1, 3), query_terms, doc_terms),
    ]
    for setting in [chosen] + (others if args.compare else []):
        bench_quality(rows, *setting)
    replies.NGRAMS, replies.QUERY_TERMS, replies.DOC_TERMS = chosen
    sizes = [len(rows) if s == "2816" else int(s) for s in args.sizes.split(",")]
    bench_latency(rows, sizes, args.queries)


if __name__ == "__main__":
    main()
