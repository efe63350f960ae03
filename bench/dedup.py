"""Near-duplicate index benchmark: petitiondesk/routing/minhash.py at a million petitions.

Run by hand (`make bench-dedup`, or `.venv/bin/python bench/dedup.py --help`); never part of the
test suite. Results: docs/benchmarks.md ("Near-duplicate index") and docs/intelligence.md.

The corpus is generated from the real TipDM messages (/work/shared/data/tipdm2020c/,
messages-hotspots.xlsx and messages-with-replies.xlsx: title + body, whitespace collapsed,
7,100-odd distinct messages). Each generated petition is, with equal odds:
- a *variant* of one message: characters substituted, inserted or deleted at a rate drawn from
  0-15 %; with probability 0.3 its sentences shuffled, 0.5 every number changed (dates, amounts,
  house numbers: each digit run replaced by random digits of the same length), 0.3 the anonymised
  place codes changed (`A3区` -> `A7区`), 0.3 a greeting prefix and/or closing suffix added;
- a *new* petition: sentences drawn from 2-4 random messages, shuffled, numbers changed.
About half the corpus is thus near-duplicates of some 7,100 messages (~70 each): more duplicates
than a real desk sees, which makes candidate lists longer and lookups slower than in practice.

What it measures (one process, texts generated in batches outside the timers):
1. bulk insert: `MinHasher.signatures` + `LSHIndex.add_many` per batch, petitions/s; resident
   memory growth (VmRSS) and `memory_bytes()` per petition;
2. single insert: `signature` + `add` one at a time on the full index (merges included);
3. lookup: `signature` + `query(limit=20)` for fresh variants and new petitions (none indexed),
   p50/p95/p99/max, and that 1,000 indexed petitions find themselves with score 1.0;
4. save and load (np.save files, fsynced) and the answers after loading;
5. recall against datasketch 2.0.0 (MinHash + MinHashLSH, its defaults) on a smaller sample:
   both engines index the same petitions; labelled pairs are (indexed petition, a further
   mutation of it) whose exact Jaccard similarity of 3-character shingles is computed; recall is
   the share of pairs with Jaccard >= threshold whose indexed side the copy finds as a candidate.
   datasketch's insert rate and memory growth are measured on the same sample.

`--review N` instead indexes the real messages themselves and prints N proposed near-duplicate
pairs (score >= --threshold, normalised texts not identical) for a person to judge.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petitiondesk.routing.minhash import (  # noqa: E402
    LSHIndex,
    MinHasher,
    normalise,
    shingle_jaccard,
)

DATA = ROOT.parent / "shared" / "data" / "tipdm2020c"
SOURCES = ("messages-hotspots.xlsx", "messages-with-replies.xlsx")
PREFIXES = ("您好，", "尊敬的领导：", "紧急求助！", "再次反映：", "领导您好！", "我是本地居民，")
SUFFIXES = ("谢谢！", "望尽快答复。", "盼回复。", "恳请领导重视。", "此致敬礼")
SENTENCE_END = re.compile(r"(?<=[。！？!?；;])")
DIGITS = re.compile(r"\d+")
PLACE_CODE = re.compile(r"[A-L]\d{1,2}(?=[区县市镇])")


def real_messages() -> list[tuple[str, str, str]]:
    """(id, title, body) of the distinct messages of SOURCES, whitespace collapsed."""
    import openpyxl

    out: dict[str, tuple[str, str, str]] = {}
    for name in SOURCES:
        path = DATA / name
        if not path.exists():
            sys.exit(f"bench/dedup.py: error: the shared data set is not at {path}")
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = [str(h) for h in next(rows)]
        for values in rows:
            rec = dict(zip(header, values, strict=False))
            if rec.get("留言编号") is None:
                continue
            title = " ".join(str(rec["留言主题"] or "").split())
            body = " ".join(str(rec["留言详情"] or "").split())
            out.setdefault(str(rec["留言编号"]), (str(rec["留言编号"]), title, body))
        wb.close()
    return list(out.values())


class Mutator:
    """The documented mutations (module docstring), from one seeded random generator."""

    def __init__(self, bases: list[str], seed: int) -> None:
        self.bases = bases
        self.sentences = [[s for s in SENTENCE_END.split(b) if s] for b in bases]
        self.rng = random.Random(seed)
        pool = "".join(self.rng.sample(bases, min(200, len(bases))))
        self.chars = [c for c in pool if not c.isspace()]

    def edit_chars(self, text: str, rate: float) -> str:
        rng, chars = self.rng, list(text)
        for _ in range(round(rate * len(chars))):
            at = rng.randrange(len(chars) + 1)
            op = rng.random()
            if op < 0.4 and at < len(chars):
                chars[at] = rng.choice(self.chars)
            elif op < 0.7:
                chars.insert(at, rng.choice(self.chars))
            elif at < len(chars):
                del chars[at]
        return "".join(chars)

    def shuffle(self, text: str) -> str:
        parts = [s for s in SENTENCE_END.split(text) if s]
        self.rng.shuffle(parts)
        return "".join(parts)

    def numbers(self, text: str) -> str:
        rng = self.rng
        return DIGITS.sub(lambda m: "".join(rng.choice("0123456789") for _ in m.group()), text)

    def places(self, text: str) -> str:
        rng = self.rng
        return PLACE_CODE.sub(lambda m: f"{m.group()[0]}{rng.randint(1, 12)}", text)

    def variant(self, text: str, max_rate: float = 0.15) -> str:
        rng = self.rng
        text = self.edit_chars(text, rng.uniform(0, max_rate))
        if rng.random() < 0.3:
            text = self.shuffle(text)
        if rng.random() < 0.5:
            text = self.numbers(text)
        if rng.random() < 0.3:
            text = self.places(text)
        if rng.random() < 0.3:
            text = rng.choice(PREFIXES) + text
        if rng.random() < 0.3:
            text += rng.choice(SUFFIXES)
        return text

    def new(self) -> str:
        rng, parts = self.rng, []
        for i in rng.sample(range(len(self.bases)), rng.randint(2, 4)):
            sentences = self.sentences[i] or [self.bases[i]]
            parts += rng.sample(sentences, rng.randint(1, min(3, len(sentences))))
        rng.shuffle(parts)
        return self.numbers("".join(parts))

    def petition(self) -> str:
        if self.rng.random() < 0.5:
            return self.variant(self.rng.choice(self.bases))
        return self.new()

    def batches(self, total: int, size: int) -> Iterator[list[str]]:
        for start in range(0, total, size):
            yield [self.petition() for _ in range(min(size, total - start))]


def rss_bytes() -> int:
    """Resident memory after handing freed heap pages back (glibc keeps freed blocks of the
    numpy temporaries in its heap otherwise, which is not memory the index holds)."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def percentiles(seconds: list[float], cpu: list[float]) -> dict[str, float]:
    """Wall-clock percentiles, and the CPU time of the calling thread (what the wall clock
    shows on a machine with a free core; other processes' load adds only to the wall time)."""
    ms, cpu_ms = np.array(seconds) * 1000, np.array(cpu) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    c50, c99 = np.percentile(cpu_ms, [50, 99])
    return {
        "p50_ms": p50,
        "p95_ms": p95,
        "p99_ms": p99,
        "max_ms": float(ms.max()),
        "cpu_p50_ms": c50,
        "cpu_p99_ms": c99,
    }


def machine() -> str:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} vCPU {model}, Python {platform.python_version()}, numpy {np.__version__}"
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the million ------------------------------------------------------------------------------


def scale(args: argparse.Namespace, bases: list[str]) -> dict[str, Any]:
    hasher, mutator = MinHasher(), Mutator(bases, args.seed)
    hasher.signature("预热")  # builds the normalisation table outside the timers
    gc.collect()
    rss_before = rss_bytes()
    index = LSHIndex()
    signing = adding = generating = cpu = 0.0
    kept: list[tuple[int, str]] = []
    key = 0
    started = time.perf_counter()
    for texts in mutator.batches(args.docs, args.batch):
        c0, t0 = time.process_time(), time.perf_counter()
        sigs = hasher.signatures(texts)
        t1 = time.perf_counter()
        index.add_many(np.arange(key, key + len(texts)), sigs)
        t2 = time.perf_counter()
        signing, adding = signing + t1 - t0, adding + t2 - t1
        cpu += time.process_time() - c0
        kept += [(key + i, texts[i]) for i in range(0, len(texts), max(1, args.docs // 1000))]
        key += len(texts)
        if key % (args.batch * 10) == 0:
            log(f"  {key:,} indexed, {key / (signing + adding):,.0f}/s")
    generating = time.perf_counter() - started - signing - adding
    del texts, sigs
    rss_after = rss_bytes()
    out: dict[str, Any] = {
        "docs": args.docs,
        "bands": index.bands,
        "bulk_per_s": args.docs / (signing + adding),
        "bulk_per_cpu_s": args.docs / cpu,
        "signatures_per_s": args.docs / signing,
        "add_many_per_s": args.docs / adding,
        "generation_s": generating,
        "rss_growth_per_doc": (rss_after - rss_before) / args.docs,
        "memory_bytes_per_doc": index.memory_bytes() / args.docs,
        "runs": [len(r) // index.bands for r in index._runs],
    }
    log(f"bulk: {out['bulk_per_s']:,.0f}/s, {out['rss_growth_per_doc']:.0f} B/petition resident")

    # Exact copies find themselves (recall sanity at full size).
    misses = 0
    for k, text in kept:
        answer = index.query(hasher.signature(text), limit=5)
        misses += not any(key_ == k and score == 1.0 for key_, score in answer)
    out["self_lookups"] = len(kept)
    out["self_misses"] = misses

    queries = [mutator.petition() for _ in range(args.queries)]
    lookups, lookups_cpu, found = [], [], []
    for text in queries:
        c0, t0 = time.thread_time(), time.perf_counter()
        answer = index.query(hasher.signature(text), limit=20)
        lookups.append(time.perf_counter() - t0)
        lookups_cpu.append(time.thread_time() - c0)
        found.append(len(answer))
    out["lookup"] = percentiles(lookups, lookups_cpu) | {"mean_answers": float(np.mean(found))}
    log(f"lookup: {out['lookup']}")

    singles, singles_cpu = [], []
    for text in (mutator.petition() for _ in range(args.adds)):
        c0, t0 = time.thread_time(), time.perf_counter()
        index.add(key, hasher.signature(text))
        singles.append(time.perf_counter() - t0)
        singles_cpu.append(time.thread_time() - c0)
        key += 1
    out["single_add"] = percentiles(singles, singles_cpu) | {
        "per_s": len(singles) / sum(singles),
        "per_cpu_s": len(singles) / sum(singles_cpu),
    }
    log(f"single add: {out['single_add']}")

    directory = Path(tempfile.mkdtemp(prefix="petitiondesk-bench-dedup-"))
    try:
        t0 = time.perf_counter()
        index.save(directory, meta={"high_water": key - 1})
        out["save_s"] = time.perf_counter() - t0
        out["disk_bytes"] = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
        del index
        gc.collect()
        t0 = time.perf_counter()
        loaded, meta = LSHIndex.load(directory)
        out["load_s"] = time.perf_counter() - t0
        assert meta == {"high_water": key - 1}
        out["after_load_self_misses"] = sum(
            not any(k2 == k and s == 1.0 for k2, s in loaded.query(hasher.signature(t), limit=5))
            for k, t in kept[:200]
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    log(f"save {out['save_s']:.1f} s, load {out['load_s']:.1f} s")
    return out


# --- recall against datasketch ----------------------------------------------------------------


def labelled_pairs(mutator: Mutator, sample: list[str], count: int) -> list[tuple[int, str, float]]:
    """(indexed key, copy, exact Jaccard): copies spread over similarities from ~0.2 to 1."""
    pairs = []
    rng = mutator.rng
    for _ in range(count):
        key = rng.randrange(len(sample))
        # Edit rates skewed towards light edits: similarities spread from ~0.1 to 1.
        copy = mutator.variant(sample[key], max_rate=0.45 * rng.random() ** 1.5)
        pairs.append((key, copy, shingle_jaccard(sample[key], copy)))
    return pairs


def shingle_bytes(text: str) -> list[bytes]:
    """The 3-character shingles of the normalised text, as datasketch wants them (the same sets
    `shingle_jaccard` compares)."""
    norm = normalise(text)
    if 0 < len(norm) < 3:
        return [norm.encode()]
    return list({norm[i : i + 3].encode() for i in range(len(norm) - 2)})


def recall(args: argparse.Namespace, bases: list[str]) -> dict[str, Any]:
    from datasketch import MinHash, MinHashLSH

    mutator = Mutator(bases, args.seed + 1)
    sample = [mutator.petition() for _ in range(args.sample)]
    pairs = labelled_pairs(mutator, sample, args.pairs)
    keys = np.arange(len(sample))
    hasher = MinHasher()
    hasher.signature("预热")
    out: dict[str, Any] = {"sample": len(sample), "pairs": len(pairs)}
    jaccards = np.array([j for _, _, j in pairs])
    out["pairs_by_jaccard"] = dict(
        zip(
            ("<0.3", "0.3-0.5", "0.5-0.7", "0.7-0.9", ">=0.9"),
            np.histogram(jaccards, bins=[0, 0.3, 0.5, 0.7, 0.9, 1.01])[0].tolist(),
            strict=True,
        )
    )

    ours: dict[str, LSHIndex] = {}
    for bands in args.bands:
        rss0 = rss_bytes()
        c0, t0 = time.process_time(), time.perf_counter()
        index = LSHIndex(bands=bands)
        index.add_many(keys, hasher.signatures(sample))
        out[f"ours_{bands}_per_s"] = len(sample) / (time.perf_counter() - t0)
        out[f"ours_{bands}_per_cpu_s"] = len(sample) / (time.process_time() - c0)
        out[f"ours_{bands}_rss_per_doc"] = (rss_bytes() - rss0) / len(sample)
        ours[str(bands)] = index
    copy_sigs = hasher.signatures([c for _, c, _ in pairs])

    for threshold in args.thresholds:
        rss0 = rss_bytes()
        c0, t0 = time.process_time(), time.perf_counter()
        lsh = MinHashLSH(threshold=threshold, num_perm=128)
        for key, text in enumerate(sample):
            m = MinHash(num_perm=128)
            m.update_batch(shingle_bytes(text))
            lsh.insert(key, m)
        elapsed = time.perf_counter() - t0
        row: dict[str, Any] = {
            "datasketch_bands_rows": [lsh.b, lsh.r],
            "datasketch_per_s": len(sample) / elapsed,
            "datasketch_per_cpu_s": len(sample) / (time.process_time() - c0),
            "datasketch_rss_per_doc": (rss_bytes() - rss0) / len(sample),
        }
        ds_found, ds_sizes = [], []
        for key, copy, _ in pairs:
            m = MinHash(num_perm=128)
            m.update_batch(shingle_bytes(copy))
            answer = lsh.query(m)
            ds_found.append(key in answer)
            ds_sizes.append(len(answer))
        row |= _recall_row("datasketch", jaccards, threshold, ds_found, ds_sizes)
        for bands, index in ours.items():
            found, scored, sizes = [], [], []
            for (key, _, _), sig in zip(pairs, copy_sigs, strict=True):
                answer = dict(index.query(sig, limit=len(sample)))
                found.append(key in answer)
                scored.append(answer.get(key, 0.0) >= threshold)
                sizes.append(len(answer))
            row |= _recall_row(f"ours_{bands}", jaccards, threshold, found, sizes)
            row[f"ours_{bands}_recall_scored"] = _share(jaccards >= threshold, scored)
        out[f"threshold_{threshold}"] = row
        del lsh
        log(f"threshold {threshold}: {json.dumps(row, default=float)}")
    return out


def _share(mask: np.ndarray, hits: list[bool]) -> float:
    chosen = np.array(hits)[mask]
    return float(chosen.mean()) if len(chosen) else float("nan")


def _recall_row(
    name: str, jaccards: np.ndarray, threshold: float, found: list[bool], sizes: list[int]
) -> dict[str, Any]:
    return {
        f"{name}_recall": _share(jaccards >= threshold, found),
        f"{name}_recall_by_bucket": [
            _share((jaccards >= lo) & (jaccards < hi), found)
            for lo, hi in ((0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01))
        ],
        f"{name}_found_below_0.2": _share(jaccards < 0.2, found),
        f"{name}_candidates_mean": float(np.mean(sizes)),
    }


# --- review of proposed pairs on the real messages --------------------------------------------


def review(args: argparse.Namespace) -> None:
    messages = real_messages()
    texts = [f"{title}\n{body}" for _, title, body in messages]
    hasher = MinHasher()
    index = LSHIndex()
    index.add_many(np.arange(len(texts)), hasher.signatures(texts))
    norms = [normalise(t) for t in texts]
    pairs = set()
    for i, text in enumerate(texts):
        for j, _ in index.query(hasher.signature(text), limit=50, min_score=args.threshold):
            if j != i and norms[i] != norms[j]:
                pairs.add((min(i, j), max(i, j)))
    chosen = random.Random(args.seed).sample(sorted(pairs), min(args.review, len(pairs)))
    print(f"{len(pairs)} proposed pairs with score >= {args.threshold} and different texts")
    sigs = hasher.signatures(texts)
    for n, (i, j) in enumerate(sorted(chosen), 1):
        score = float(np.mean(sigs[i] == sigs[j]))
        print(f"\n## {n}. score {score:.2f}, exact {shingle_jaccard(texts[i], texts[j]):.2f}")
        for k in (i, j):
            _, title, body = messages[k]
            print(f"[{messages[k][0]}] {title} | {body[: args.review_chars]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=20_000, help="petitions per add_many")
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--adds", type=int, default=10_000, help="single adds after the bulk")
    parser.add_argument("--sample", type=int, default=20_000, help="datasketch comparison size")
    parser.add_argument("--pairs", type=int, default=4_000, help="labelled pairs")
    parser.add_argument(
        "--thresholds", type=lambda s: [float(x) for x in s.split(",")], default=[0.5, 0.3]
    )
    parser.add_argument(
        "--bands",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[32, 42],
        help="our band counts compared",
    )
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-recall", action="store_true")
    parser.add_argument("--review", type=int, default=0, help="print N proposed pairs, then exit")
    parser.add_argument("--review-chars", type=int, default=160)
    parser.add_argument("--threshold", type=float, default=0.5, help="score for --review")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    if args.review:
        review(args)
        return
    messages = real_messages()
    bases = [f"{title}\n{body}" for _, title, body in messages]
    results: dict[str, Any] = {"machine": machine(), "bases": len(bases)}
    log(f"{results['machine']}; {len(bases):,} real messages")
    if not args.skip_recall:
        results["recall"] = recall(args, bases)
    if not args.skip_scale:
        results["scale"] = scale(args, bases)
    text = json.dumps(results, indent=1, default=float, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
