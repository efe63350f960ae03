"""MinHash signatures and a banded LSH index for near-duplicate petitions (pure: no Django).

Texts are compared as sets of character k-grams (shingles) of their normalised form: NFKC,
casefolded, whitespace, punctuation and symbols dropped. Chinese needs no word segmentation: a
3-gram of characters is a good unit, and the same code handles English.

Signatures use one-permutation hashing with optimal densification (Li, Owen and Zhang 2012;
Shrivastava 2017): each shingle is hashed once to 64 bits, the high bits choose one of `num_perm`
bins and the low 32 bits are the value; a signature keeps the minimum value per bin, and an empty
bin copies the value of a non-empty bin chosen by a fixed hash sequence. Two signatures agree in a
bin with probability equal to the Jaccard similarity of the shingle sets, like classic MinHash with
`num_perm` permutations, at the cost of one hash per shingle instead of `num_perm`: for petitions of
~400 characters that is what makes 10,000+ signatures a second possible in numpy.

The index splits a signature into `bands` bands of `num_perm // bands` rows; each band is hashed
to a 32-bit key. Band keys live in a few sorted uint64 arrays (binary search; a log-structured
merge keeps inserts cheap) plus a small append buffer, signatures in one uint32 matrix: under
900 bytes per petition, so ten million fit on one machine. Candidates sharing a band are scored by
the share of equal signature values (the estimated Jaccard similarity).

Measurements and the choices behind the defaults: docs/intelligence.md, "Near-duplicate index".
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "EMPTY",
    "LSHIndex",
    "MinHasher",
    "jaccard",
    "normalise",
    "shingle_jaccard",
]

# The value of a bin no shingle fell into; an all-EMPTY signature is an empty text.
EMPTY = np.uint32(0xFFFFFFFF)
_MASK32 = np.uint64(0xFFFFFFFF)
_U64 = np.uint64

_NOT_WORD = re.compile(r"[\W_]+")

Signature = npt.NDArray[np.uint32]


def normalise(text: str) -> str:
    """NFKC, casefold, and drop whitespace, punctuation and symbols (`[\\W_]`)."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


def _mix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser, in place: a fast bijection with good avalanche on uint64."""
    x ^= x >> _U64(30)
    x *= _U64(0xBF58476D1CE4E5B9)
    x ^= x >> _U64(27)
    x *= _U64(0x94D049BB133111EB)
    x ^= x >> _U64(31)
    return x


def _shingle_codes(text: str, shingle: int) -> npt.NDArray[np.uint64]:
    """The k-gram codes of one normalised text (see `_batch_codes`)."""
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    lengths, ids = np.array([len(points)], dtype=np.int64), np.zeros(1, dtype=np.intp)
    codes, _ = _batch_codes(points, lengths, ids, shingle)
    return codes


# Per-code-point normalisation of the Basic Multilingual Plane, for many texts in one numpy pass.
# _KEEP: the char normalises to itself or one other char (the table holds it); _DROP: to nothing;
# _SLOW: anything else (several chars, combining marks and the chars they compose with, Hangul
# jamo, astral planes): a text containing one goes through `normalise` itself.
_DROP = np.uint32(0x110000)
_SLOW = np.uint32(0x110001)


_IDEOGRAPHS = ((0x3400, 0x4DC0), (0x4E00, 0xA000))


@functools.cache
def _point_table() -> npt.NDArray[np.uint32]:
    table = np.full(0x110000, _SLOW, dtype=np.uint32)
    # CJK ideographs (extension A and the unified block) normalise to themselves; skipping
    # them halves the time to build the table.
    for start, end in _IDEOGRAPHS:
        table[start:end] = np.arange(start, end, dtype=np.uint32)
    for point in (*range(0x3400), *range(0x4DC0, 0x4E00), *range(0xA000, 0x10000)):
        char = chr(point)
        if any(_composing(c) for c in char + unicodedata.normalize("NFKC", char)):
            continue
        mapped = normalise(char)
        if mapped == "":
            table[point] = _DROP
        elif len(mapped) == 1:
            table[point] = ord(mapped)
    return table


def _composing(char: str) -> bool:
    """Chars NFKC may compose with a neighbour: combining marks, Hangul jamo and syllables."""
    point = ord(char)
    return (
        unicodedata.combining(char) > 0
        or unicodedata.category(char) in ("Mn", "Mc", "Me", "Cs")
        or 0x1100 <= point < 0x1200
        or 0x3130 <= point < 0x3190
        or 0xA960 <= point < 0xA980
        or 0xAC00 <= point < 0xD7FC
    )


def normalised_points(
    texts: Sequence[str],
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """The code points of `normalise(t)` for every text, concatenated, and their lengths."""
    points, lengths, ids = _normalised_segments(texts)
    if len(ids) == len(texts):
        return points, lengths
    pieces = np.split(points, np.cumsum(lengths)[:-1])
    final = {int(i): piece for i, piece in zip(ids, pieces, strict=True)}  # the last one wins
    ordered = [final[i] for i in range(len(texts))]
    return np.concatenate(ordered), np.array([len(x) for x in ordered], dtype=np.int64)


def _normalised_segments(
    texts: Sequence[str],
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """The code points of the normalised texts as segments: (points, lengths, text of each).

    One numpy pass maps each character through the table. A text with a character the table
    cannot map (a few per thousand) gets an empty first segment and, appended at the end, a
    segment normalised by `normalise` itself: the texts' segments are equal to encoding
    `normalise(t)` one by one.
    """
    table = _point_table()
    n = len(texts)
    raw_lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    raw = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    mapped = table[raw]
    owner = np.repeat(np.arange(n), raw_lengths)
    slow_points = mapped == _SLOW
    keep = mapped < _DROP
    ids = np.arange(n, dtype=np.intp)
    if slow_points.any():
        slow = np.zeros(n, dtype=bool)
        slow[owner[slow_points]] = True
        keep &= ~slow[owner]
        slow_ids = np.flatnonzero(slow)
        extra = [
            np.frombuffer(normalise(texts[i]).encode("utf-32-le", "surrogatepass"), np.uint32)
            for i in slow_ids.tolist()
        ]
        points = np.concatenate([mapped[keep], *extra])
        lengths = np.concatenate(
            [np.bincount(owner[keep], minlength=n), [len(x) for x in extra]]
        ).astype(np.int64)
        return points, lengths, np.concatenate([ids, slow_ids])
    return mapped[keep], np.bincount(owner[keep], minlength=n).astype(np.int64), ids


def _batch_codes(
    points: npt.NDArray[np.uint32],
    lengths: npt.NDArray[np.int64],
    ids: npt.NDArray[np.intp],
    shingle: int,
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp]]:
    """Codes of every k-gram of the segments (`points` concatenated, `lengths` each), and the
    text (`ids` of the segment) each code belongs to.

    A segment shorter than k (but not empty) is padded with NUL, which normalisation never leaves
    in a text, so it has exactly one k-gram, distinct from any k-gram of a longer text. For
    k <= 3 the code is exact (three 21-bit code points); beyond, a polynomial modulo 2**64.
    """
    counts = np.maximum(lengths - (shingle - 1), 0)
    width = len(points) - shingle + 1
    if width > 0:
        codes = _kgram_codes(points, shingle)
        # Drop the k-grams that straddle two segments: keep position p of segment i when
        # p - start_i < count_i.
        owner = np.repeat(np.arange(len(lengths)), lengths)[:width]
        local = np.arange(width) - (np.cumsum(lengths) - lengths)[owner]
        codes = codes[local < counts[owner]]
    else:
        codes = np.empty(0, dtype=np.uint64)
    text_of_code = np.repeat(ids, counts)
    short = np.flatnonzero((lengths > 0) & (lengths < shingle))
    if len(short):
        starts = np.cumsum(lengths) - lengths
        padded = [
            np.concatenate(
                [points[starts[i] : starts[i] + lengths[i]], np.zeros(shingle, np.uint32)]
            )
            for i in short.tolist()
        ]
        extra = np.array([_kgram_codes(x, shingle)[0] for x in padded], dtype=np.uint64)
        codes = np.concatenate([codes, extra])
        text_of_code = np.concatenate([text_of_code, ids[short]])
    return codes, text_of_code


def _kgram_codes(points: npt.NDArray[np.uint32], shingle: int) -> npt.NDArray[np.uint64]:
    """The code of the k-gram starting at each position (len(points) - k + 1 of them)."""
    wide = points.astype(np.uint64)
    width = len(points) - shingle + 1
    codes = wide[:width].copy()
    if shingle <= 3:
        for j in range(1, shingle):
            codes <<= _U64(21)
            codes |= wide[j : j + width]
    else:
        base = _U64(0x100000001B3)  # odd: multiplication modulo 2**64 is then a bijection
        for j in range(1, shingle):
            codes *= base
            codes += wide[j : j + width]
    return codes


class MinHasher:
    """Signatures of `num_perm` uint32 values; equal parameters give comparable signatures."""

    def __init__(self, num_perm: int = 128, shingle: int = 3, seed: int = 1) -> None:
        if num_perm < 1 or shingle < 1:
            raise ValueError("num_perm and shingle must be positive")
        self.num_perm = num_perm
        self.shingle = shingle
        self.seed = seed
        rng = np.random.default_rng(seed)
        self._salt = _U64(int(rng.integers(0, 2**63)))
        # Optimal densification: an empty bin j takes the value of bin _probe[j, t] for the first
        # t whose bin is filled; the sequence is the same for every text, which keeps the
        # collision probability of a bin equal to the Jaccard similarity.
        self._probe = rng.integers(0, num_perm, size=(num_perm, 16), dtype=np.intp)

    def signature(self, text: str) -> Signature:
        return self.signatures([text])[0]

    def signatures(self, texts: Sequence[str], *, batch: int = 2048) -> npt.NDArray[np.uint32]:
        """Signatures of many texts, `batch` texts per numpy pass (bounds the temporaries)."""
        out = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        for start in range(0, len(texts), batch):
            chunk = texts[start : start + batch]
            out[start : start + len(chunk)] = self._signatures_of_segments(
                *_normalised_segments(chunk), len(chunk)
            )
        return out

    def _signatures_of_segments(
        self,
        points: npt.NDArray[np.uint32],
        lengths: npt.NDArray[np.int64],
        ids: npt.NDArray[np.intp],
        n: int,
    ) -> npt.NDArray[np.uint32]:
        perm = self.num_perm
        codes, owner = _batch_codes(points, lengths, ids, self.shingle)
        hashes = _mix64(codes ^ self._salt)
        # Bin from the high 32 bits (multiply-shift range reduction), value from the low 32 bits.
        bins = (((hashes >> _U64(32)) * _U64(perm)) >> _U64(32)).astype(np.intp)
        values = (hashes & _MASK32).astype(np.uint32)
        np.minimum(values, EMPTY - np.uint32(1), out=values)  # keep EMPTY for "no shingle"
        flat = np.full(n * perm, EMPTY, dtype=np.uint32)
        np.minimum.at(flat, owner * perm + bins, values)
        sigs = flat.reshape(n, perm)
        self._densify(sigs)
        return sigs

    def _densify(self, sigs: npt.NDArray[np.uint32]) -> None:
        filled = sigs != EMPTY
        nonempty = filled.any(axis=1)
        docs, bins = np.nonzero(~filled & nonempty[:, None])
        if len(docs) == 0:
            return
        # Filled bins are only read, empty ones only written: no copy needed.
        # The first filled bin of each empty bin's probe sequence, all at once.
        probes = self._probe[bins]
        hits = filled[docs[:, None], probes]
        first = hits.argmax(axis=1)
        done = hits[np.arange(len(docs)), first]
        chosen = probes[np.arange(len(docs)), first]
        sigs[docs[done], bins[done]] = sigs[docs[done], chosen[done]]
        docs, bins = docs[~done], bins[~done]
        if len(docs) == 0:
            return
        # Short texts (few shingles) can outlast the probes: the next filled bin, circularly
        # (rotation densification, equally consistent between texts).
        perm = self.num_perm
        twice = np.concatenate([filled[docs], filled[docs]], axis=1)
        at = np.where(twice, np.arange(2 * perm), 2 * perm)
        following = np.minimum.accumulate(at[:, ::-1], axis=1)[:, ::-1]
        sigs[docs, bins] = sigs[docs, following[np.arange(len(docs)), bins] % perm]


def jaccard(sig_a: Signature, sig_b: Signature) -> float:
    """Estimated Jaccard similarity: the share of equal values; 0.0 when either text is empty."""
    if (sig_a == EMPTY).all() or (sig_b == EMPTY).all():
        return 0.0
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


def shingle_jaccard(text_a: str, text_b: str, shingle: int = 3) -> float:
    """Exact Jaccard similarity of the k-gram sets of the normalised texts; 0.0 if either is empty."""
    a = set(_shingle_codes(normalise(text_a), shingle).tolist())
    b = set(_shingle_codes(normalise(text_b), shingle).tolist())
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _band_keys(sigs: npt.NDArray[np.uint32], bands: int) -> npt.NDArray[np.uint32]:
    """One 32-bit key per band: a polynomial over the band's rows, mixed (shape n x bands).

    A band has num_perm // bands rows; when bands does not divide num_perm, the last
    num_perm % bands values are left out of the bands (they still count in the score).
    """
    n, perm = sigs.shape
    width = perm // bands
    values = sigs[:, : bands * width].reshape(n, bands, width).astype(np.uint64)
    acc = values[:, :, 0].copy()
    for j in range(1, width):
        acc *= _U64(0x9E3779B97F4A7C15)
        acc += values[:, :, j]
    acc += np.arange(bands, dtype=np.uint64)  # different bands, different keys for equal rows
    return (_mix64(acc) >> _U64(32)).astype(np.uint32)


def _ranges(starts: npt.NDArray[np.intp], ends: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """The concatenation of arange(start, end) for each pair, without a Python loop."""
    lengths = ends - starts
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return np.arange(int(lengths.sum())) + offsets


def _merge_sorted(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The sorted union of two sorted arrays, in O(len(a) + len(b)); b's ties go after a's."""
    if len(b) == 0:
        return a
    if len(a) == 0:
        return b
    at = np.searchsorted(a, b, side="right") + np.arange(len(b))
    out = np.empty(len(a) + len(b), dtype=a.dtype)
    from_a = np.ones(len(out), dtype=bool)
    from_a[at] = False
    out[at] = b
    out[from_a] = a
    return out


_FORMAT = 1
# A sorted run is merged into the next larger one once it holds at least 1/_LEVEL_RATIO of it:
# few runs to search (about log8(n / merge_every)), each entry rewritten a few times per level.
_LEVEL_RATIO = 8


class LSHIndex:
    """Banded LSH over MinHash signatures, keyed by integer ids (case ids).

    The default 42 bands of 3 values make two texts candidates with probability
    1 - (1 - J**3)**42: 0.68 at Jaccard 0.3, 0.996 at 0.5, 0.04 at 0.1 (32 bands of 4 would
    give 0.23 at 0.3; docs/intelligence.md has the measured recall of both).

    Storage (about 880 bytes a row with the defaults):
    - signatures: one uint32 matrix, row i for the i-th row added; row keys (int64) beside it;
    - band entries: one uint64 per (row, band), `band | band key | row` packed so that one sorted
      array answers every band with two vectorised binary searches. They live in a few sorted
      runs of decreasing size (a log-structured merge: a full run is merged into the next larger
      one, so an insert costs amortised O(log n) copying, never a rewrite of the whole index),
      plus an unsorted buffer of the last rows added, scanned linearly;
    - key -> row: a sorted key array (appending when keys arrive in increasing order, as case
      ids do), the buffer scanned.

    Rows are append-only; `remove` marks a row dead (a tombstone) and `compact` drops dead rows
    (it runs by itself when a quarter of the rows are dead; `save` writes only live rows).
    Adding a key that is present replaces its signature. One lock guards reads and writes, so
    threads of one process can share an index.
    """

    def __init__(self, num_perm: int = 128, bands: int = 42, *, merge_every: int = 8192) -> None:
        if not 1 <= bands <= num_perm:
            raise ValueError(f"bands ({bands}) must be between 1 and num_perm ({num_perm})")
        self.num_perm = num_perm
        self.bands = bands
        self.merge_every = merge_every
        # Band entry layout: band (band_bits) | band key (32 bits) | row (row_bits).
        band_bits = max(1, (bands - 1).bit_length())
        self._row_bits = 32 - band_bits
        self.max_rows = 1 << self._row_bits
        self._row_mask = _U64(self.max_rows - 1)
        self._band_prefix = np.arange(bands, dtype=np.uint64) << _U64(32 + self._row_bits)
        self._lock = threading.RLock()
        self._n = 0  # rows used (dead ones included)
        self._dead = 0
        self._sigs = np.empty((0, num_perm), dtype=np.uint32)
        self._row_keys = np.empty(0, dtype=np.int64)
        self._alive = np.empty(0, dtype=bool)
        self._runs: list[npt.NDArray[np.uint64]] = []  # sorted band entries, largest first
        # Rows [_flushed, _n) are in the buffer, their band keys in _buffer_keys[: _n - _flushed].
        self._flushed = 0
        self._buffer_keys = np.empty((merge_every, bands), dtype=np.uint32)
        # key -> newest row, over rows below _flushed: sorted keys, [: _key_count] used.
        self._key_count = 0
        self._sorted_keys = np.empty(0, dtype=np.int64)
        self._sorted_key_rows = np.empty(0, dtype=np.uint32)

    # --- size and lookup -------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n - self._dead

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int | np.integer):
            return False
        with self._lock:
            return bool(self._rows_of(np.array([key], dtype=np.int64))[0] >= 0)

    def contains_many(self, keys: Sequence[int]) -> list[bool]:
        """`key in index` for many keys under one lock."""
        with self._lock:
            return (self._rows_of(np.asarray(keys, dtype=np.int64)) >= 0).tolist()

    def signature_of(self, key: int) -> Signature | None:
        """The stored signature of `key` (a copy), or None."""
        with self._lock:
            row = int(self._rows_of(np.array([key], dtype=np.int64))[0])
            return None if row < 0 else self._sigs[row].copy()

    def _rows_of(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The live row of each key, -1 when absent (a key's newest row is its only live one)."""
        rows = np.full(len(keys), -1, dtype=np.int64)
        sorted_keys = self._sorted_keys[: self._key_count]
        if len(sorted_keys):
            at = np.searchsorted(sorted_keys, keys, side="right") - 1
            found = (at >= 0) & (sorted_keys[np.maximum(at, 0)] == keys)
            rows[found] = self._sorted_key_rows[at[found]]
        buffered = self._row_keys[self._flushed : self._n]
        if len(buffered) and len(keys) <= 16:
            for i, key in enumerate(keys.tolist()):
                hits = np.flatnonzero(buffered == key)
                if len(hits):
                    rows[i] = self._flushed + hits[-1]
        elif len(buffered):
            order = np.argsort(buffered, kind="stable")
            at = np.searchsorted(buffered[order], keys, side="right") - 1
            found = (at >= 0) & (buffered[order][np.maximum(at, 0)] == keys)
            rows[found] = self._flushed + order[at[found]]
        present = np.flatnonzero(rows >= 0)
        rows[present[~self._alive[rows[present]]]] = -1
        return rows

    # --- writes ----------------------------------------------------------------------------
    def add(self, key: int, signature: Signature) -> None:
        self.add_many(np.array([key], dtype=np.int64), np.asarray(signature)[None, :])

    def add_many(self, keys: npt.ArrayLike, signatures: npt.ArrayLike) -> None:
        """Add rows (keys int64[n], signatures uint32[n, num_perm]); a key present is replaced."""
        keys = np.asarray(keys, dtype=np.int64)
        sigs = np.asarray(signatures, dtype=np.uint32)
        if sigs.ndim != 2 or sigs.shape != (len(keys), self.num_perm):
            raise ValueError(f"signatures must have shape ({len(keys)}, {self.num_perm})")
        if len(keys) == 0:
            return
        if len(keys) > 1 and not (np.diff(keys) > 0).all():
            # Within one call the last occurrence of a key wins, as with repeated `add`.
            _, last = np.unique(keys[::-1], return_index=True)
            keep = np.sort(len(keys) - 1 - last)
            keys, sigs = keys[keep], sigs[keep]
        band_keys = _band_keys(sigs, self.bands)
        with self._lock:
            if self._n + len(keys) > self.max_rows:
                raise ValueError(f"the index holds at most {self.max_rows} rows")
            replaced = self._rows_of(keys)
            replaced = replaced[replaced >= 0]
            self._alive[replaced] = False
            self._dead += len(replaced)
            self._reserve(self._n + len(keys))
            start, end = self._n, self._n + len(keys)
            self._sigs[start:end] = sigs
            self._row_keys[start:end] = keys
            self._alive[start:end] = True
            buffered = start - self._flushed
            if buffered + len(keys) > len(self._buffer_keys):
                self._buffer_keys = _grown(self._buffer_keys, buffered + len(keys), buffered)
            self._buffer_keys[buffered : buffered + len(keys)] = band_keys
            self._n = end
            if self._n - self._flushed >= self.merge_every:
                self._flush()
            if self._dead > max(self.merge_every, self._n // 4):
                self.compact()

    def remove(self, key: int) -> None:
        """Forget `key` (no error when absent); the row stays as a tombstone until compacted."""
        with self._lock:
            row = int(self._rows_of(np.array([key], dtype=np.int64))[0])
            if row >= 0:
                self._alive[row] = False
                self._dead += 1
            if self._dead > max(self.merge_every, self._n // 4):
                self.compact()

    def _reserve(self, rows: int) -> None:
        capacity = len(self._row_keys)
        if rows <= capacity:
            return
        # Grow by half: amortised O(1) appends. The spare room is never written before it is
        # used, so the kernel does not back it with memory.
        capacity = max(rows, capacity + capacity // 2, 1024)
        self._sigs = _grown(self._sigs, capacity, self._n)
        self._row_keys = _grown(self._row_keys, capacity, self._n)
        self._alive = _grown(self._alive, capacity, self._n)

    def _flush(self) -> None:
        """Sort the buffer into a new run, merge runs that grew comparable, index its keys."""
        start, end = self._flushed, self._n
        if start == end:
            return
        rows = np.arange(start, end, dtype=np.uint64)
        band_keys = self._buffer_keys[: end - start]
        indexable = ~(self._sigs[start:end] == EMPTY).all(axis=1)
        if not indexable.all():
            band_keys, rows = band_keys[indexable], rows[indexable]
        entries = (band_keys.astype(np.uint64) << _U64(self._row_bits)) | self._band_prefix
        entries |= rows[:, None]
        self._runs.append(np.sort(entries.ravel()))
        while len(self._runs) >= 2 and len(self._runs[-1]) * _LEVEL_RATIO >= len(self._runs[-2]):
            smaller = self._runs.pop()
            self._runs[-1] = _merge_sorted(self._runs[-1], smaller)
        self._index_keys(self._row_keys[start:end], np.arange(start, end, dtype=np.uint32))
        self._flushed = end
        self._buffer_keys = np.empty((self.merge_every, self.bands), dtype=np.uint32)

    def _index_keys(self, keys: npt.NDArray[np.int64], rows: npt.NDArray[np.uint32]) -> None:
        order = np.argsort(keys, kind="stable")
        keys, rows = keys[order], rows[order]
        count = self._key_count
        if count == 0 or keys[0] >= self._sorted_keys[count - 1]:
            # Keys in increasing order (case ids): append in place.
            if count + len(keys) > len(self._sorted_keys):
                capacity = max(count + len(keys), count + count // 2, 1024)
                self._sorted_keys = _grown(self._sorted_keys, capacity, count)
                self._sorted_key_rows = _grown(self._sorted_key_rows, capacity, count)
            self._sorted_keys[count : count + len(keys)] = keys
            self._sorted_key_rows[count : count + len(keys)] = rows
        else:
            at = np.searchsorted(self._sorted_keys[:count], keys, side="right")
            self._sorted_keys = np.insert(self._sorted_keys[:count], at, keys)
            self._sorted_key_rows = np.insert(self._sorted_key_rows[:count], at, rows)
        self._key_count = count + len(keys)

    def compact(self) -> None:
        """Sort the buffer in and drop dead rows (renumbers rows; keys are unchanged)."""
        with self._lock:
            self._flush()
            if self._dead == 0:
                return
            alive = self._alive[: self._n]
            self._runs = self._live_runs(self._runs, alive)
            self._sigs = self._sigs[: self._n][alive]
            self._row_keys = self._row_keys[: self._n][alive]
            self._n = self._flushed = len(self._row_keys)
            self._alive = np.ones(self._n, dtype=bool)
            self._dead = 0
            self._key_count = 0
            self._index_keys(self._row_keys, np.arange(self._n, dtype=np.uint32))

    def _live_runs(
        self, runs: list[npt.NDArray[np.uint64]], alive: npt.NDArray[np.bool_]
    ) -> list[npt.NDArray[np.uint64]]:
        """Runs without dead rows' entries, rows renumbered: the order is kept, as renumbering
        keeps the order of rows and the key bits above them are unchanged."""
        renumber = (np.cumsum(alive) - 1).astype(np.uint64)
        live = []
        for run in runs:
            rows = run & self._row_mask
            keep = alive[rows]
            live.append((run[keep] & ~self._row_mask) | renumber[rows[keep]])
        return live

    # --- queries ---------------------------------------------------------------------------
    def query(
        self,
        signature: Signature,
        *,
        limit: int = 20,
        min_score: float = 0.0,
        exclude: int | None = None,
    ) -> list[tuple[int, float]]:
        """Keys sharing at least one band with `signature`, with their estimated Jaccard
        similarity, best first (ties by key), at most `limit`, scores >= `min_score`."""
        signature = np.asarray(signature, dtype=np.uint32)
        if signature.shape != (self.num_perm,):
            raise ValueError(f"signature must have shape ({self.num_perm},)")
        if (signature == EMPTY).all():
            return []
        qkeys = _band_keys(signature[None, :], self.bands)[0]
        low = self._band_prefix | (qkeys.astype(np.uint64) << _U64(self._row_bits))
        high = low + _U64(self.max_rows)
        with self._lock:
            parts = []
            for run in self._runs:
                # The start of each band's entries; the end only for bands that have some.
                starts = run.searchsorted(low)
                hit = np.flatnonzero(starts < len(run))
                hit = hit[(run[starts[hit]] & ~self._row_mask) == low[hit]]
                if len(hit) == 0:
                    continue
                ends = run.searchsorted(high[hit])
                parts.append(run[_ranges(starts[hit], ends)] & self._row_mask)
            buffered = self._n - self._flushed
            if buffered:
                # flatnonzero of the flat equality: 3x faster than .any(axis=1) on 42 columns.
                hits = np.flatnonzero(self._buffer_keys[:buffered] == qkeys) // self.bands
                parts.append(hits.astype(np.uint64) + _U64(self._flushed))
            if not parts:
                return []
            rows = np.unique(np.concatenate(parts)).astype(np.intp)
            rows = rows[self._alive[rows]]
            scores = np.count_nonzero(self._sigs[rows] == signature, axis=1) / self.num_perm
            keys_found = self._row_keys[rows]
        wanted = scores >= min_score
        if exclude is not None:
            wanted &= keys_found != exclude
        keys_found, scores = keys_found[wanted], scores[wanted]
        order = np.lexsort((keys_found, -scores))[:limit]
        return [(int(k), float(s)) for k, s in zip(keys_found[order], scores[order], strict=True)]

    def memory_bytes(self) -> int:
        """Bytes of the index's data: rows in use and sorted runs (arrays grow by half, but the
        spare room stays untouched, so it is not resident)."""
        with self._lock:
            per_row = self.num_perm * 4 + 8 + 1 + 8 + 4  # signature, key, alive, key lookup
            runs = sum(run.nbytes for run in self._runs)
            return self._n * per_row + runs + self._buffer_keys.nbytes

    # --- persistence -----------------------------------------------------------------------
    def save(self, directory: Path, *, meta: dict[str, Any]) -> None:
        """Write the index under `directory` atomically, without its dead rows.

        The arrays go to a new generation folder `directory/gen-<random>/` (np.save, fsynced);
        then `directory/meta.json`, which names the generation and holds `meta`, is replaced
        (os.replace). A reader sees the old index or the new one, never a mix. The previous
        generation is kept for a reader still loading it; older ones are deleted.

        The lock is held only to sort the buffer in and take references: rows below the row
        count and the runs are never changed in place, so the writing happens unlocked.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._flush()
            n = self._n
            sigs, row_keys, alive = self._sigs[:n], self._row_keys[:n], self._alive[:n].copy()
            runs = list(self._runs)
            header: dict[str, Any] = {
                "format": _FORMAT,
                "num_perm": self.num_perm,
                "bands": self.bands,
                "merge_every": self.merge_every,
            }
        if not alive.all():
            runs = self._live_runs(runs, alive)
            sigs, row_keys = sigs[alive], row_keys[alive]
        # A fresh name even under a frozen clock or two writers.
        target = Path(tempfile.mkdtemp(prefix="gen-", dir=directory))
        arrays = {"signatures": sigs, "row_keys": row_keys}
        arrays |= {f"run-{i}": run for i, run in enumerate(runs)}
        for name, array in arrays.items():
            _write_synced(target / f"{name}.npy", lambda f, a=array: np.save(f, a))
        _fsync_dir(target)
        previous = _saved_generation(directory)
        header |= {
            "generation": target.name,
            "rows": len(row_keys),
            "runs": len(runs),
            "meta": meta,
        }
        record = json.dumps(header, ensure_ascii=False, indent=1).encode()
        _write_synced(directory / "meta.json.tmp", lambda f: f.write(record))
        os.replace(directory / "meta.json.tmp", directory / "meta.json")
        _fsync_dir(directory)
        for old in directory.glob("gen-*"):
            if old.name not in (target.name, previous):
                shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> tuple[LSHIndex, dict[str, Any]]:
        """The index saved under `directory` and the `meta` it was saved with.

        Raises FileNotFoundError when nothing was saved there, ValueError for an unknown format.
        """
        directory = Path(directory)
        header = json.loads((directory / "meta.json").read_text())
        if header.get("format") != _FORMAT:
            raise ValueError(f"unknown index format {header.get('format')!r} in {directory}")
        source = directory / header["generation"]
        index = cls(header["num_perm"], header["bands"], merge_every=header["merge_every"])
        index._sigs = np.load(source / "signatures.npy")
        index._row_keys = np.load(source / "row_keys.npy")
        if len(index._row_keys) != header["rows"] or len(index._sigs) != header["rows"]:
            raise ValueError(f"{source} does not hold the {header['rows']} rows it should")
        index._runs = [np.load(source / f"run-{i}.npy") for i in range(header["runs"])]
        index._n = index._flushed = header["rows"]
        index._alive = np.ones(index._n, dtype=bool)
        index._index_keys(index._row_keys, np.arange(index._n, dtype=np.uint32))
        return index, header["meta"]


def _saved_generation(directory: Path) -> str | None:
    try:
        return str(json.loads((directory / "meta.json").read_text())["generation"])
    except (OSError, ValueError, KeyError):
        return None


def _grown(array: npt.NDArray[Any], capacity: int, used: int) -> npt.NDArray[Any]:
    grown = np.empty((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[:used] = array[:used]
    return grown


def _write_synced(path: Path, write: Any) -> None:
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
