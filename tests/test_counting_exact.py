"""ExactCounter: equals a reference collections.Counter on random key streams (property tests),
including after growth, with forced hash collisions, after save/restore and after merge."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardshaping.counting import CounterMemoryError, ExactCounter, hash_keys, key_bytes

# A stream: batches of rows of 3 small ints (few distinct keys, so many repeats), each with an
# active mask.
rows = st.lists(st.integers(0, 5), min_size=3, max_size=3)
batch = st.lists(st.tuples(rows, st.booleans()), min_size=1, max_size=20)
stream = st.lists(batch, min_size=1, max_size=12)
PROPS = settings(max_examples=60, deadline=None)


def _arrays(b):
    keys = np.array([r for r, _ in b], np.uint8)
    active = np.array([a for _, a in b], bool)
    return keys, active


def _feed(counter: ExactCounter, ref: Counter, s) -> None:
    for b in s:
        keys, active = _arrays(b)
        out = counter.update(keys, active)
        want = []
        for k, a in zip(keys, active, strict=True):
            if a:
                ref[k.tobytes()] += 1
                want.append(ref[k.tobytes()])
            else:
                want.append(0)  # inactive rows are neither counted nor reported
        assert out.tolist() == want


@PROPS
@given(stream, st.sampled_from([64, 2]), st.booleans())
def test_equals_counter_with_growth_and_collisions(s, hash_bits, small):
    # capacity 1 forces growth from the first batches; hash_bits=2 makes almost every pair of
    # keys collide, which store_keys=True must resolve by comparing the keys.
    counter = ExactCounter(capacity=1 if small else 64, hash_bits=hash_bits)
    ref: Counter = Counter()
    _feed(counter, ref, s)
    assert counter.as_dict() == dict(ref)
    assert len(counter) == len(ref) and counter.total == sum(ref.values())
    probe = np.array([[0, 0, 0], [5, 5, 5], [1, 2, 3]], np.uint8)
    assert counter.lookup(probe).tolist() == [ref[p.tobytes()] for p in probe]


@PROPS
@given(stream)
def test_hash_only_mode_equals_counter_without_collisions(s):
    counter = ExactCounter(capacity=2, store_keys=False)
    ref: Counter = Counter()
    _feed(counter, ref, s)
    assert sorted(counter.as_dict().values()) == sorted(ref.values())


def test_hash_only_mode_merges_colliding_keys_as_documented():
    counter = ExactCounter(store_keys=False, hash_bits=1)  # 2 possible hashes
    counter.update(np.arange(10).reshape(-1, 1))
    assert len(counter) <= 2 and counter.total == 10


@PROPS
@given(stream, stream, st.sampled_from([64, 3]))
def test_save_restore_then_continue(s1, s2, hash_bits):
    counter = ExactCounter(capacity=2, hash_bits=hash_bits)
    ref: Counter = Counter()
    _feed(counter, ref, s1)
    resumed = ExactCounter(capacity=2, hash_bits=hash_bits)
    resumed.load_state_dict(counter.state_dict())
    assert resumed.as_dict() == dict(ref)
    _feed(resumed, ref, s2)
    assert resumed.as_dict() == dict(ref)


@PROPS
@given(stream, stream, st.booleans())
def test_merge_is_the_sum_of_counts(s1, s2, store_keys):
    a, b = ExactCounter(capacity=1, store_keys=store_keys), ExactCounter(store_keys=store_keys)
    ra: Counter = Counter()
    rb: Counter = Counter()
    _feed(a, ra, s1)
    _feed(b, rb, s2)
    a.merge(b)
    total = ra + rb
    if store_keys:
        assert a.as_dict() == dict(total)
    assert a.total == sum(total.values()) and len(a) == len(total)
    keys = np.array([np.frombuffer(k, np.uint8) for k in total], np.uint8).reshape(-1, 3)
    assert a.lookup(keys).tolist() == list(total.values())


def test_merge_refuses_incompatible_tables():
    a, b = ExactCounter(), ExactCounter(seed=1)
    with pytest.raises(ValueError, match="same kind"):
        a.merge(b)
    a.update(np.zeros((1, 2), np.uint8))
    c = ExactCounter()
    c.update(np.zeros((1, 3), np.uint8))
    with pytest.raises(ValueError, match="key sizes differ"):
        a.merge(c)


def test_memory_cap_raises_before_counting_anything():
    # 8 index slots of 24 B + 5 arena rows of one 8-byte word: at most 4 keys at load 0.5
    counter = ExactCounter(capacity=8, max_bytes=8 * 24 + 5 * 8)
    counter.update(np.array([[0], [1], [2]]))
    before = counter.as_dict()
    with pytest.raises(CounterMemoryError, match="max_bytes") as err:
        counter.update(np.array([[0], [3], [4], [5]]))  # 3 new keys: 6 > 4
    assert "Nothing was counted" in str(err.value)
    assert counter.as_dict() == before  # no partial batch
    # Repeats and one new key still fit: the exact new-key check allows them.
    assert counter.update(np.array([[0], [1], [3], [3]])).tolist() == [2, 2, 1, 2]


def test_initial_allocation_over_cap_is_a_clear_error():
    with pytest.raises(CounterMemoryError, match="CountMinSketch"):
        ExactCounter(max_bytes=100).update(np.zeros((1, 147), np.uint8))


def test_bad_keys_raise_clear_errors():
    c = ExactCounter()
    with pytest.raises(TypeError, match="object"):
        c.update(np.array([(1, 2), "a"], dtype=object))
    with pytest.raises(ValueError, match="NaN"):
        c.update(np.array([[0.5], [np.nan]]))
    with pytest.raises(ValueError, match="leading batch axis"):
        c.update(np.float64(1.0))
    c.update(np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError, match="one kind of key"):
        c.update(np.zeros((2, 4), np.uint8))
    with pytest.raises(ValueError, match="active"):
        c.update(np.zeros((2, 3), np.uint8), active=np.array([1, 0]))
    if np.dtype(np.longdouble).itemsize > 8:  # x86: 10 bytes of value, 6 of stale padding
        with pytest.raises(TypeError, match="float64"):
            c.update(np.ones((2, 1), np.longdouble))


def test_a_refused_first_batch_does_not_fix_the_key_width():
    c = ExactCounter(max_bytes=10_000)
    with pytest.raises(CounterMemoryError):
        c.update(np.arange(1000).reshape(-1, 1))  # int64 keys: 1000 of them do not fit
    with pytest.raises(ValueError, match="active"):
        c.update(np.zeros((2, 4), np.uint8), active=np.array([1, 0]))
    assert c.width is None and c.lookup(np.zeros((1, 2), np.uint8)).tolist() == [0]
    assert c.update(np.zeros((1, 2), np.uint8)).tolist() == [1]  # 2-byte keys, as a new table


def test_a_refused_load_leaves_the_counts():
    c = ExactCounter(max_bytes=10_000)
    c.update(np.array([[7], [7], [8]]))
    big = ExactCounter()
    big.update(np.arange(2000).reshape(-1, 1))  # more keys than c's cap holds
    with pytest.raises(CounterMemoryError):
        c.load_state_dict(big.state_dict())
    assert c.lookup(np.array([[7], [8]])).tolist() == [2, 1]
    # A state is sized by its entries, not by the saved table's capacity (which never shrinks).
    roomy = ExactCounter(capacity=65536)
    roomy.update(np.array([[1], [2], [3]]))
    c.load_state_dict(roomy.state_dict())
    assert c.lookup(np.array([[1], [7]])).tolist() == [1, 0]


def test_negative_zero_is_the_same_float_key():
    c = ExactCounter()
    assert c.update(np.array([[0.0, 1.5], [-0.0, 1.5]])).tolist() == [1, 2]


def test_bytes_and_hashes():
    assert key_bytes(np.zeros((2, 7, 7, 3), np.uint8)).shape == (2, 147)
    h = hash_keys(np.array([[1, 2], [1, 2], [2, 1]], np.int64))
    assert h[0] == h[1] != h[2]
    assert hash_keys(np.array([[1, 2]]), seed=1)[0] != h[0]


@pytest.mark.parametrize(
    "arr",
    [
        np.arange(24, dtype=np.uint8).reshape(4, 2, 3),  # view, no copy (the fast path)
        np.arange(8, dtype=np.int16).reshape(4, 2),
        np.arange(8, dtype=">i4").reshape(4, 2),  # big-endian: converted first
        np.arange(16, dtype=np.int64).reshape(4, 4)[:, ::2],  # not contiguous
        np.array([True, False, True]),  # 1-d: one key per element
        np.zeros((0, 3), np.int32),  # an empty batch
    ],
)
def test_key_bytes_are_the_little_endian_bytes_of_each_row(arr):
    n = arr.shape[0]
    want = [bytes(np.ascontiguousarray(r).astype(r.dtype.newbyteorder("<")).tobytes())
            for r in arr.reshape(n, int(np.prod(arr.shape[1:])))]  # fmt: skip
    raw = key_bytes(arr)
    assert raw.dtype == np.uint8 and raw.flags.c_contiguous and raw.shape[0] == n
    assert [bytes(r) for r in raw] == want
    if arr.dtype == np.uint8:
        assert np.shares_memory(raw, arr)


def test_load_state_dict_checks_settings():
    a = ExactCounter()
    a.update(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="store_keys"):
        ExactCounter(store_keys=False).load_state_dict(a.state_dict())


def test_large_stream_with_many_growths():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 3000, size=(20_000, 2)).astype(np.int32)
    c = ExactCounter(capacity=16)
    for chunk in np.split(keys, 10):
        c.update(chunk)
    ref = Counter(k.tobytes() for k in keys)
    assert c.as_dict() == dict(ref)
    assert c.capacity >= 2 * len(ref)


@pytest.mark.parametrize("store_keys", [True, False])
def test_growth_leaves_room_for_the_next_batch_unless_the_cap_forbids_it(store_keys):
    # A table that grows for a batch of n rows is sized for n more new keys, so that the next
    # batch of the same size does not grow it again; near max_bytes it takes the least that fits.
    first, second = np.arange(1000)[:, None], np.arange(1000, 2000)[:, None]
    c = ExactCounter(capacity=8, store_keys=store_keys)
    c.update(first)
    assert c.capacity == 4096  # room for 2000 keys at load 0.5 (1000 alone would fit 2048)
    c.update(second)
    assert c.capacity == 4096 and len(c) == 2000

    tight = ExactCounter(capacity=8, store_keys=store_keys, max_bytes=c._bytes_for(2048) + 1)
    tight.update(first)
    assert tight.capacity == 2048  # 4096 slots are over the cap; 2048 hold the 1000 keys
    with pytest.raises(CounterMemoryError):
        tight.update(second)  # needs 4096 slots: refused whole
    assert len(tight) == 1000 and tight.total == 1000
