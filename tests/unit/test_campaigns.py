"""Unit tests for campaign linkage: keys, specificity, anchors and pooled evidence."""

import math

import pytest

from detectors.campaigns import (
    AccountLinks,
    CampaignLinker,
    MemoryLinkageIndex,
    binomial_cdf,
    describe,
    linkage_keys,
    network_block,
)
from detectors.records import RequestEvent


def test_network_blocks():
    assert network_block("203.0.113.9") == "203.0.113"
    assert network_block("2001:db8:85a3::8a2e:370:7334") == "2001:db8:85a3"
    assert network_block("2001:0DB8::1") == "2001:db8:0"
    assert network_block("::1") == "0:0:0"
    assert network_block("garbage") is None


def test_linkage_keys_never_include_country_or_prompt():
    ev = RequestEvent(
        ts=1.0,
        account_id="a",
        prompt="secret prompt text",
        country="NL",
        client_ip="203.0.113.9",
        asn=64500,
        tls_fingerprint="t13d",
        payment_fingerprint="pm_1",
        user_agent="python-httpx/0.28",
    )
    keys = linkage_keys(ev)
    assert keys == ["pay:pm_1", "tls:t13d", "net:203.0.113", "ua:python-httpx/0.28", "asn:64500"]
    assert not any("NL" in k or "secret" in k for k in keys)


def test_account_links_reports_only_new_keys_and_recurring_templates():
    links = AccountLinks(max_keys=4, template_repeat=2)
    assert links.observe(["pay:1", "tls:1"], template=7) == ["pay:1", "tls:1"]
    assert links.observe(["pay:1", "tls:1"], template=7) == [f"tpl:{7:016x}"]  # 2nd use
    assert links.observe(["pay:1"], template=7) == []  # nothing new
    assert links.observe(["net:1", "net:2"], template=None) == ["net:1"]  # cap of 4 keys
    assert len(links.keys) == 4


def test_memory_index_counts_and_caps_members():
    idx = MemoryLinkageIndex(max_keys=10, max_members=2)
    for a in ("a", "b", "c"):
        idx.add("pay:1", a)
    idx.add("pay:1", "a")  # idempotent
    assert idx.count("pay:1") == 3
    assert list(idx.members("pay:1", 10)) == ["a", "b"]
    assert idx.population() == 3


def _linker_with_population(n=1000, **kw):
    idx = MemoryLinkageIndex()
    for i in range(n):
        idx.add(f"asn:{i % 3}", f"filler{i}")  # a broad key: gives the index a population
    return CampaignLinker(idx, min_population=10, **kw), idx


def test_key_weight_is_type_times_inverse_document_frequency():
    linker, idx = _linker_with_population(998)
    idx.add("pay:x", "a")
    idx.add("pay:x", "b")
    n = idx.population()  # 1000
    assert linker.key_weight("pay:x") == pytest.approx(math.log(n / 2) / math.log(n))
    assert linker.key_weight("asn:0") == 0.0  # a third of the population: generic
    assert linker.key_weight("pay:unknown") == 0.0  # carried by one account: links nobody


def test_links_need_an_anchor_and_enough_weight():
    linker, idx = _linker_with_population()
    for a in ("a", "b"):
        for k in ("tpl:1", "tpl:2", "tpl:3", "tpl:4", "ua:x"):
            idx.add(k, a)
    # many template and user-agent keys, no anchor: not linked
    assert linker.neighbours("a", ["tpl:1", "tpl:2", "tpl:3", "tpl:4", "ua:x"]) == {}
    idx.add("pay:p", "a")
    idx.add("pay:p", "b")
    linked = linker.neighbours("a", ["pay:p", "tpl:1"])
    assert set(linked) == {"b"}
    assert linked["b"] == pytest.approx(linker.key_weight("pay:p") + linker.key_weight("tpl:1"))


def test_a_lower_threshold_returns_looser_ties_but_still_needs_a_specific_anchor():
    linker, idx = _linker_with_population()
    for a in ("a", "b"):
        idx.add("net:10.0.0", a)  # one block: 0.5 x idf, under the link threshold
    for a in ("a", "c"):
        idx.add("ua:x", a)  # 0.3 x idf: heavier than min_key_weight, but no anchor
    net = linker.key_weight("net:10.0.0")
    assert linker.min_key_weight <= net < linker.link_threshold
    assert linker.neighbours("a", ["net:10.0.0", "ua:x"]) == {}
    loose = linker.neighbours("a", ["net:10.0.0", "ua:x"], linker.min_key_weight)
    assert loose == {"b": pytest.approx(net)}
    for i in range(400):
        idx.add("net:10.9.9", f"filler{i}")  # a block of 400 of 1000: generic
    idx.add("net:10.9.9", "a")
    assert linker.key_weight("net:10.9.9") < linker.min_key_weight
    assert "filler0" not in linker.neighbours("a", ["net:10.9.9"], 0.0)


def test_binomial_cdf_hand_computed():
    assert binomial_cdf(0, 3, 0.5) == pytest.approx(0.125)
    assert binomial_cdf(1, 3, 0.5) == pytest.approx(0.5)
    assert binomial_cdf(-1, 3, 0.5) == 0.0
    assert binomial_cdf(3, 3, 0.5) == 1.0


def test_evidence_pools_rare_members_and_lists_related():
    linker, idx = _linker_with_population(member_q=0.99, min_rare=2, min_members=3)
    members = [f"m{i}" for i in range(6)]
    for m in members:
        idx.add("pay:shared", m)
    scores = {"m1": 0.995, "m2": 0.999, "m3": 0.2, "m4": 0.5}  # m5: not scored yet
    ev = linker.evidence("m0", ["pay:shared"], own_score=0.3, scores=scores)
    assert ev is not None
    assert set(ev.members) == set(members) - {"m0"}
    assert ev.scored_members == 5 and ev.rare_members == 2
    # P(X < 2) for X ~ Binomial(5, 0.01)
    assert ev.score == pytest.approx(0.99**5 + 5 * 0.01 * 0.99**4)
    assert "2 of 5 scored members are individually rare" in describe(ev)


def test_evidence_needs_enough_rare_members():
    linker, idx = _linker_with_population(member_q=0.99, min_rare=2)
    for m in ("a", "b", "c", "d"):
        idx.add("pay:shared", m)
    ev = linker.evidence("a", ["pay:shared"], own_score=0.999, scores={"b": 0.5, "c": 0.5})
    assert ev is not None and ev.score == 0.0  # one rare member is no campaign
    assert linker.evidence("z", ["pay:none"], own_score=0.9, scores={}) is None
