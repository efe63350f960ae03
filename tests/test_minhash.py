"""The MinHash engine and LSH index (petitiondesk/routing/minhash.py): pure, no database."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petitiondesk.routing.minhash import (
    EMPTY,
    LSHIndex,
    MinHasher,
    jaccard,
    normalise,
    normalised_points,
    shingle_jaccard,
)

ROAD = (
    "A3区联丰路米兰春天G2栋楼下的烧烤店每天营业到凌晨三点，油烟和噪音严重影响居民休息，"
    "多次向社区反映没有结果，请城管和环保部门尽快查处，还居民一个安静的夜晚。"
)
SCHOOL = (
    "A7县星沙二中食堂饭菜价格上涨，学生每餐要多花五元，家长不知情，收费是否合规？"
    "请教育局核实食堂承包合同并公布收费标准，保障学生的合法权益。"
)
ENGLISH = (
    "The streetlights on Maple Avenue between 5th and 9th Street have been out for three weeks; "
    "residents walking home at night feel unsafe. Please repair them as soon as possible."
)
ENGLISH_OTHER = (
    "My landlord refuses to return the security deposit of $1,200 although I left the apartment "
    "clean and on time. I ask the housing office to mediate."
)

HASHER = MinHasher()


def sig(text: str) -> np.ndarray:
    return HASHER.signature(text)


def edited(text: str, edits: int, seed: int = 0) -> str:
    """`text` with `edits` characters replaced by others of the same text."""
    rng = random.Random(seed)
    chars = list(text)
    for _ in range(edits):
        chars[rng.randrange(len(chars))] = rng.choice(text)
    return "".join(chars)


def test_normalise_drops_whitespace_punctuation_and_case() -> None:
    assert normalise("  Ｈｅｌｌｏ， World！\n\t 你好。") == "helloworld你好"


def test_normalise_folds_compatibility_forms() -> None:
    assert normalise("ｶﾞ面积１２０㎡") == "ガ面积120m2"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=8))
def test_batch_normalisation_equals_normalise(texts: list[str]) -> None:
    points, lengths = normalised_points(texts)
    pieces = np.split(points, np.cumsum(lengths)[:-1]) if texts else []
    assert [p.tolist() for p in pieces] == [[ord(c) for c in normalise(t)] for t in texts]


def test_identical_texts_score_one() -> None:
    assert jaccard(sig(ROAD), sig(ROAD)) == 1.0
    assert jaccard(sig(ROAD), sig("  " + ROAD.replace("，", ", ") + "\n")) == 1.0


def test_signatures_equal_one_by_one_signatures() -> None:
    texts = [ROAD, SCHOOL, ENGLISH, "", "ab", "x", edited(ROAD, 5)]
    batch = HASHER.signatures(texts)
    assert batch.dtype == np.uint32 and batch.shape == (len(texts), 128)
    for row, text in zip(batch, texts, strict=True):
        assert (row == sig(text)).all()


def test_estimate_is_close_to_exact_jaccard() -> None:
    copy = edited(ROAD, 6, seed=3)
    exact = shingle_jaccard(ROAD, copy)
    assert 0.5 < exact < 0.95
    assert abs(jaccard(sig(ROAD), sig(copy)) - exact) < 0.15


def test_unrelated_texts_score_near_zero() -> None:
    assert jaccard(sig(ROAD), sig(SCHOOL)) < 0.1
    assert jaccard(sig(ENGLISH), sig(ENGLISH_OTHER)) < 0.1
    assert shingle_jaccard(ROAD, SCHOOL) < 0.05


def test_a_different_seed_gives_different_signatures() -> None:
    assert not (MinHasher(seed=2).signature(ROAD) == sig(ROAD)).all()


def test_empty_texts_have_the_empty_signature_and_score_zero() -> None:
    assert (sig("") == EMPTY).all()
    assert (sig(" ，。\n") == EMPTY).all()
    assert jaccard(sig(""), sig("")) == 0.0
    assert shingle_jaccard("", "") == 0.0


def test_short_texts_match_only_themselves() -> None:
    assert jaccard(sig("路灯"), sig("路灯！")) == 1.0
    assert jaccard(sig("路灯"), sig("路口")) < 0.2
    assert jaccard(sig("x"), sig("X")) == 1.0


def build(texts: dict[int, str], **kwargs: int) -> LSHIndex:
    index = LSHIndex(**kwargs)
    for key, text in texts.items():
        index.add(key, sig(text))
    return index


CORPUS = {1: ROAD, 2: SCHOOL, 3: ENGLISH, 4: ENGLISH_OTHER}


def test_a_lightly_edited_copy_is_found() -> None:
    index = build(CORPUS)
    answer = index.query(sig(edited(ROAD, 4, seed=1)))
    assert answer[0][0] == 1 and answer[0][1] > 0.6
    assert [key for key, _ in answer] == [1]


def test_a_lightly_edited_english_copy_is_found() -> None:
    index = build(CORPUS)
    copy = ENGLISH.replace("three weeks", "four weeks").replace("Please", "please")
    assert index.query(sig(copy))[0][0] == 3


def test_an_unrelated_text_is_not_found() -> None:
    index = build(CORPUS)
    novel = "B1区某小区电梯经常故障，物业不维修，老人上下楼很困难，请住建局督促物业整改。"
    assert index.query(sig(novel)) == []


def test_query_scores_best_first_and_respects_limit_min_score_and_exclude() -> None:
    texts = {10: ROAD, 11: edited(ROAD, 3, 1), 12: edited(ROAD, 12, 2), 13: SCHOOL}
    index = build(texts)
    answer = index.query(sig(ROAD))
    assert [key for key, _ in answer][:2] == [10, 11]
    assert answer[0][1] == 1.0
    assert [s for _, s in answer] == sorted((s for _, s in answer), reverse=True)
    assert len(index.query(sig(ROAD), limit=1)) == 1
    assert all(s >= 0.9 for _, s in index.query(sig(ROAD), min_score=0.9))
    assert 10 not in dict(index.query(sig(ROAD), exclude=10))


def test_signature_of_returns_the_stored_signature() -> None:
    index = build(CORPUS)
    stored = index.signature_of(2)
    assert stored is not None and (stored == sig(SCHOOL)).all()
    assert index.signature_of(99) is None


def test_remove_forgets_a_key() -> None:
    index = build(CORPUS)
    index.remove(1)
    index.remove(99)  # absent: no error
    assert 1 not in index and len(index) == 3
    assert index.query(sig(ROAD)) == []


def test_adding_a_present_key_replaces_its_signature() -> None:
    index = build(CORPUS)
    index.add(1, sig(SCHOOL))
    assert len(index) == 4
    assert dict(index.query(sig(SCHOOL))) == {1: 1.0, 2: 1.0}
    assert index.query(sig(ROAD)) == []


def test_removed_and_replaced_keys_survive_merges_and_compaction() -> None:
    texts = {k: f"{ROAD}第{k}号" for k in range(50)}
    index = build(texts, merge_every=7)
    for k in range(0, 50, 3):
        index.remove(k)
    index.add(4, sig(SCHOOL))
    index.compact()
    assert len(index) == 50 - 17
    keys = {key for key, _ in index.query(sig(ROAD), limit=100)}
    assert keys == {k for k in range(50) if k % 3 and k != 4}
    assert index.query(sig(SCHOOL)) == [(4, 1.0)]


def test_add_many_equals_repeated_add() -> None:
    rng = random.Random(7)
    texts = [edited(rng.choice([ROAD, SCHOOL, ENGLISH]), rng.randrange(30), i) for i in range(300)]
    keys = np.array(rng.sample(range(10_000), len(texts)), dtype=np.int64)
    sigs = HASHER.signatures(texts)
    one_by_one = LSHIndex(merge_every=64)
    for key, row in zip(keys.tolist(), sigs, strict=True):
        one_by_one.add(key, row)
    at_once = LSHIndex(merge_every=64)
    at_once.add_many(keys, sigs)
    for row in sigs[:40]:
        assert one_by_one.query(row, limit=500) == at_once.query(row, limit=500)


def test_add_many_keeps_the_last_of_repeated_keys() -> None:
    index = LSHIndex()
    index.add_many(np.array([5, 5]), HASHER.signatures([ROAD, SCHOOL]))
    assert len(index) == 1
    assert index.query(sig(SCHOOL)) == [(5, 1.0)]


def test_empty_signatures_are_stored_but_never_found() -> None:
    index = build({1: "", 2: ROAD})
    assert 1 in index and len(index) == 2
    assert index.query(sig("")) == []
    assert index.query(sig(ROAD)) == [(2, 1.0)]


def test_bands_beyond_num_perm_are_refused() -> None:
    with pytest.raises(ValueError, match="bands"):
        LSHIndex(num_perm=128, bands=129)


@pytest.mark.parametrize("bands", [32, 25, 128])
def test_other_band_counts_work(bands: int) -> None:
    index = LSHIndex(num_perm=128, bands=bands)
    index.add_many(np.array([1, 2]), HASHER.signatures([ROAD, SCHOOL]))
    assert index.query(sig(edited(ROAD, 3, seed=5)))[0][0] == 1


def test_a_signature_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        LSHIndex().add(1, MinHasher(num_perm=64).signature(ROAD))


def test_save_and_load_give_identical_answers(tmp_path: Path) -> None:
    rng = random.Random(11)
    texts = [edited(rng.choice([ROAD, SCHOOL, ENGLISH]), rng.randrange(40), i) for i in range(200)]
    index = LSHIndex(merge_every=50)
    index.add_many(np.arange(200), HASHER.signatures(texts))
    index.remove(7)
    index.save(tmp_path / "index", meta={"high_water": 199})
    index.add(500, sig(ROAD))
    index.save(tmp_path / "index", meta={"high_water": 499})
    index.save(tmp_path / "index", meta={"high_water": 500})
    loaded, meta = LSHIndex.load(tmp_path / "index")
    assert meta == {"high_water": 500}
    assert len(loaded) == len(index) == 200
    assert 7 not in loaded and 500 in loaded
    assert loaded.contains_many([7, 8, 500]) == [False, True, True]
    assert len(list((tmp_path / "index").glob("gen-*"))) == 2  # the newest two generations
    for text in [*texts[:30], ROAD, SCHOOL]:
        assert loaded.query(sig(text), limit=300) == index.query(sig(text), limit=300)
    loaded.add(501, sig(SCHOOL))
    assert 501 in dict(loaded.query(sig(SCHOOL)))


def test_loading_from_an_empty_directory_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        LSHIndex.load(tmp_path)


def test_memory_bytes_grows_with_the_index() -> None:
    index = LSHIndex()
    empty = index.memory_bytes()
    index.add_many(np.arange(1000), np.tile(sig(ROAD), (1000, 1)))
    assert 1000 * 128 * 4 < index.memory_bytes() - empty < 1000 * 1500


def test_an_empty_index_answers_nothing_and_saves(tmp_path: Path) -> None:
    index = LSHIndex()
    assert index.query(sig(ROAD)) == [] and len(index) == 0 and 1 not in index
    index.save(tmp_path, meta={})
    loaded, meta = LSHIndex.load(tmp_path)
    assert meta == {} and len(loaded) == 0
    loaded.add(1, sig(ROAD))
    assert loaded.query(sig(ROAD)) == [(1, 1.0)]


def test_an_index_of_many_rows_finds_copies_across_runs() -> None:
    """Rows spread over several sorted runs and the buffer are all searched."""
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 2**32 - 1, size=(5000, 128), dtype=np.uint32)
    index = LSHIndex(merge_every=256)
    for start in range(0, 5000, 100):
        index.add_many(np.arange(start, start + 100), noise[start : start + 100])
    assert len(index._runs) > 1
    for key in (0, 2500, 4950, 4999):
        assert index.query(noise[key], limit=1) == [(key, 1.0)]
