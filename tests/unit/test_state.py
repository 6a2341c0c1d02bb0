"""Unit tests for the bounded account store and dedupe memory."""

from stream.state import AccountStore, RecentIds


def test_recent_ids_detects_duplicates_and_forgets_oldest():
    ids = RecentIds(capacity=3)
    assert ids.add("a") and ids.add("b") and ids.add("c")
    assert not ids.add("b")
    assert ids.add("d")  # evicts "a"
    assert len(ids) == 3
    assert ids.add("a")  # forgotten, so new again


def test_store_caps_accounts_lru():
    store: AccountStore[list[int]] = AccountStore(list, max_accounts=3, idle_ttl_s=1e9)
    for i, acct in enumerate(["a", "b", "c"]):
        store.get(acct, float(i))
    store.get("a", 3.0)  # a is now most recent
    store.get("d", 4.0)  # evicts b, the least recently active
    assert "b" not in store and "a" in store and len(store) == 3
    assert store.evictions == 1


def test_store_evicts_idle_accounts_in_event_time():
    store: AccountStore[list[int]] = AccountStore(list, max_accounts=100, idle_ttl_s=100.0)
    store.get("old", 0.0)
    store.get("mid", 50.0)
    store.get("new", 200.0)
    assert store.evict_idle(now=160.0) == 2  # cutoff 60: old and mid idle
    assert [a for a, _ in store.items()] == ["new"]


def test_store_memory_is_bounded_under_many_accounts():
    store: AccountStore[list[int]] = AccountStore(list, max_accounts=50, idle_ttl_s=10.0)
    for i in range(10_000):
        store.get(f"acct{i}", float(i))
        assert len(store) <= 50
    store.evict_idle(now=10_000.0)
    assert len(store) <= 11


def test_store_keeps_state_object_per_account():
    store: AccountStore[list[int]] = AccountStore(list, max_accounts=10, idle_ttl_s=1e9)
    store.get("a", 0.0).append(1)
    store.get("a", 1.0).append(2)
    assert store.get("a", 2.0) == [1, 2]
