"""The bounded hash tables: lookup, insertion, idle and LRU eviction keep memory fixed."""

from __future__ import annotations

import numpy as np

from hedgerow.anomaly.table import find_or_insert, new_table, set_add


def test_insert_find_and_bounded_growth() -> None:
    keys, state, count = new_table(64, 3)
    slots = {}
    for k in range(1, 20):
        slot, fresh = find_or_insert(keys, state, count, np.uint64(k * 7919), float(k), 1e9)
        assert fresh
        state[slot] = (k, -k, 0)  # column 0: the update time, kept by the caller
        slots[k] = slot
    for k in range(1, 20):
        slot, fresh = find_or_insert(keys, state, count, np.uint64(k * 7919), 30.0, 1e9)
        assert not fresh and state[slot, 1] == -k
    # 1,000 more keys into 64 slots: never more than half full, the most recent survive.
    for k in range(100, 1100):
        slot, _ = find_or_insert(keys, state, count, np.uint64(k), 100.0 + k, 1e9)
        state[slot, 0] = 100.0 + k
        assert count[0] <= 32
    assert np.count_nonzero(keys) == count[0]
    slot, fresh = find_or_insert(keys, state, count, np.uint64(1099), 2000.0, 1e9)
    assert not fresh


def test_idle_entries_are_evicted_first() -> None:
    keys, state, count = new_table(16, 1)
    for k in range(1, 9):  # 8 = half of 16 slots, all last updated at time 0
        find_or_insert(keys, state, count, np.uint64(k), 0.0, 10.0)
    assert count[0] == 8
    find_or_insert(keys, state, count, np.uint64(99), 100.0, 10.0)  # triggers eviction
    assert count[0] == 1 and np.uint64(99) in keys


def test_key_set_grows_only_when_asked() -> None:
    keys = np.zeros(8, dtype=np.uint64)
    count = np.zeros(1, dtype=np.int64)
    assert not set_add(keys, count, np.uint64(5), False)
    assert not set_add(keys, count, np.uint64(5), True)
    assert set_add(keys, count, np.uint64(5), False)
    for k in range(10, 20):
        set_add(keys, count, np.uint64(k), True)
    assert count[0] == 4  # half of 8 slots, then it stops growing


def test_lru_eviction_in_place_keeps_rows_with_their_keys() -> None:
    """Keys crowded into few home slots (long probe runs): after the in-place eviction the most
    recent quarter survives, every survivor is found with its own row, the others are gone."""
    from hedgerow.anomaly.table import _place

    keys, state, count = new_table(256, 2)
    cap = keys.shape[0]
    inserted = [np.uint64(k * cap + k % 4) for k in range(1, cap // 2 + 2)]  # 4 home slots only
    for t, key in enumerate(inserted[:-1]):
        slot, _ = find_or_insert(keys, state, count, key, float(t), 1e9)
        state[slot] = (float(t), float(key))
    assert count[0] == cap // 2
    find_or_insert(keys, state, count, inserted[-1], 1000.0, 1e9)  # one more: evicts
    assert count[0] == cap // 4 + 1 == np.count_nonzero(keys)
    for t, key in enumerate(inserted[:-1]):
        slot = _place(keys, key)
        if t >= cap // 2 - cap // 4:  # the most recent quarter survives, rows intact
            assert keys[slot] == key and tuple(state[slot]) == (float(t), float(key))
        else:
            assert keys[slot] == 0


def test_decay_plan_matches_exp() -> None:
    from hedgerow.anomaly.kernels import _decays, decay_plan

    lambdas = np.array([5.0, 3.0, 1.0, 0.1, 0.01, 0.7])
    plan = decay_plan(lambdas)
    out = np.empty(lambdas.shape[0])
    for dt in (0.0, -1.0, 1e-6, 0.37, 12.5, 3000.0, 1e6):
        _decays(dt, lambdas, *plan, out)
        want = np.exp2(-lambdas * max(dt, 0.0))
        np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-300)


def test_an_entry_idle_beyond_the_horizon_starts_afresh() -> None:
    """Whether an idle entry was evicted depends on how full the table is; its state must not:
    past the horizon it counts as new either way (no jitter of an hour's silence)."""
    keys, state, count = new_table(64, 3)
    slot, fresh = find_or_insert(keys, state, count, np.uint64(7), 0.0, 100.0)
    state[slot] = (0.0, 5.0, 6.0)
    assert find_or_insert(keys, state, count, np.uint64(7), 100.0, 100.0) == (slot, False)
    again, fresh = find_or_insert(keys, state, count, np.uint64(7), 100.5, 100.0)
    assert fresh and again == slot and count[0] == 1
    assert state[slot].tolist() == [0.0, 0.0, 0.0]
