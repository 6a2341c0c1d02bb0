"""Network, client and payment infrastructure: countries, ASNs, IPs, user agents, TLS.

Every account, benign or attack, draws its country from the same distribution and its
ASNs from the same per-country pools, so that neither correlates with being an
attacker. What differs between populations is *how* infrastructure is shared (one
corporate NAT for colleagues, one /24 for a whole campaign), never *where* it is.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import random
from dataclasses import dataclass

# country, weight, UTC offset (hours, rounded), residential ASNs, mobile ASNs
_COUNTRIES: tuple[tuple[str, float, float, tuple[int, ...], tuple[int, ...]], ...] = (
    ("US", 30.0, -6.0, (7922, 7018, 701, 20115, 22773, 209), (21928, 6167, 20057)),
    ("IN", 9.0, 5.5, (24560, 9829, 17488, 18209), (55836, 45609, 38266)),
    ("GB", 6.0, 0.0, (2856, 5089, 5607, 13285), (12576, 25135)),
    ("DE", 6.0, 1.0, (3320, 3209, 6805, 8881), (6805, 3209)),
    ("BR", 5.0, -3.0, (28573, 18881, 7738, 26599), (26615, 28573)),
    ("FR", 4.0, 1.0, (3215, 12322, 5410, 15557), (51207, 3215)),
    ("JP", 4.0, 9.0, (4713, 2516, 17676, 2527), (2516, 9605)),
    ("CA", 4.0, -5.0, (812, 577, 6327, 5769), (812, 22652)),
    ("KR", 3.0, 9.0, (4766, 9318, 3786), (17858, 4766)),
    ("AU", 3.0, 10.0, (1221, 4804, 7545, 4739), (1221, 4804)),
    ("NL", 2.0, 1.0, (1136, 33915, 50266), (1136, 31615)),
    ("ES", 2.0, 1.0, (3352, 12479, 12430), (12430, 3352)),
    ("IT", 2.0, 1.0, (3269, 1267, 30722), (30722, 1267)),
    ("MX", 2.0, -6.0, (8151, 28548, 13999), (28403, 8151)),
    ("SG", 1.5, 8.0, (9506, 55430, 4657), (9506, 10091)),
    ("PL", 1.5, 1.0, (5617, 12741, 6830), (12912, 5617)),
    ("ID", 1.5, 7.0, (7713, 23693, 17451), (23693, 4761)),
    ("SE", 1.0, 1.0, (3301, 2119, 8473), (3301, 1257)),
    ("CH", 1.0, 1.0, (3303, 6730, 15796), (3303, 15796)),
    ("IL", 1.0, 2.0, (8551, 1680, 9116), (1680, 12400)),
    ("TR", 1.0, 3.0, (9121, 34984, 47331), (16135, 15897)),
    ("VN", 1.0, 7.0, (7552, 45899, 18403), (7552, 45899)),
    ("PH", 1.0, 8.0, (9299, 132199, 4775), (132199, 9299)),
    ("AR", 1.0, -3.0, (7303, 10318, 22927), (22927, 7303)),
    ("ZA", 1.0, 2.0, (37457, 3741, 36937), (37168, 29975)),
    ("NG", 1.0, 1.0, (29465, 37148, 36873), (29465, 36873)),
    ("UA", 1.0, 2.0, (15895, 13188, 6849), (15895, 21497)),
    ("TW", 1.0, 8.0, (3462, 4780, 9924), (24158, 3462)),
    ("HK", 1.0, 8.0, (4760, 9269, 9304), (10118, 4760)),
    ("IE", 1.0, 0.0, (5466, 6830, 15502), (15502, 13280)),
    ("CO", 1.0, -5.0, (3816, 10620, 13489), (27831, 10620)),
    ("EG", 0.5, 2.0, (8452, 24863, 36992), (36935, 24863)),
    ("PK", 0.5, 5.0, (17557, 45595, 9541), (45669, 59257)),
    ("KE", 0.5, 3.0, (33771, 36866, 37061), (33771, 36866)),
    ("NZ", 0.5, 12.0, (9500, 4771, 4648), (9500, 4771)),
)
COUNTRY_CODES: tuple[str, ...] = tuple(c[0] for c in _COUNTRIES)
_COUNTRY_CUM: tuple[float, ...] = tuple(itertools.accumulate(c[1] for c in _COUNTRIES))
_BY_CODE = {c[0]: c for c in _COUNTRIES}

# Cloud and hosting ASNs; each has the region countries where it hosts machines.
_CLOUD_ASNS: tuple[tuple[int, float, tuple[str, ...]], ...] = (
    (16509, 30.0, ("US", "IE", "DE", "GB", "JP", "SG", "IN", "AU", "BR", "CA", "KR", "SE")),
    (14618, 6.0, ("US",)),
    (15169, 8.0, ("US", "NL", "DE", "GB", "JP", "SG", "IN", "AU", "BR", "TW", "CH")),
    (396982, 8.0, ("US", "NL", "DE", "BE", "JP", "SG", "IN", "AU", "FI")),
    (8075, 16.0, ("US", "IE", "NL", "GB", "JP", "SG", "IN", "AU", "BR", "CA", "KR")),
    (14061, 5.0, ("US", "NL", "DE", "GB", "SG", "IN", "CA", "AU")),
    (24940, 5.0, ("DE", "FI", "US", "SG")),
    (16276, 4.0, ("FR", "CA", "DE", "GB", "PL", "SG", "AU")),
    (63949, 3.0, ("US", "DE", "GB", "JP", "SG", "IN", "AU", "CA")),
    (20473, 3.0, ("US", "NL", "DE", "JP", "SG", "AU", "GB", "KR", "MX")),
    (31898, 3.0, ("US", "GB", "DE", "JP", "BR", "IN", "KR", "AU")),
    (45102, 2.0, ("SG", "JP", "DE", "US", "ID")),
    (13335, 2.0, ("US", "DE", "GB", "SG", "JP", "NL")),
)
_CLOUD_CUM: tuple[float, ...] = tuple(itertools.accumulate(a[1] for a in _CLOUD_ASNS))
# VPN / hosting providers people (and anyone) tunnel through.
_VPN_ASNS: tuple[int, ...] = (9009, 60068, 60781, 212238, 51167, 136787, 208172, 62240)
_VPN_COUNTRIES: tuple[str, ...] = ("US", "NL", "DE", "GB", "SE", "CH", "SG", "JP", "CA", "FR")

#: Network categories an address can come from.
CATEGORIES: tuple[str, ...] = ("residential", "mobile", "corporate", "cloud", "vpn")
#: How accounts that are run by a person from home/office pick their network category.
HUMAN_CATEGORY_WEIGHTS: tuple[float, ...] = (0.72, 0.10, 0.10, 0.02, 0.06)
#: How server-side workloads (apps, batch jobs, harnesses, CI) pick theirs.
SERVER_CATEGORY_WEIGHTS: tuple[float, ...] = (0.03, 0.0, 0.17, 0.78, 0.02)

_FIRST_OCTETS: tuple[int, ...] = tuple(
    o for o in range(2, 224) if o not in (10, 100, 127, 169, 172, 192, 198, 203) and o < 224
)


@dataclass(frozen=True, slots=True)
class Location:
    """Where a request comes from: address, autonomous system and country."""

    ip: str
    asn: int
    country: str


def draw_country(rng: random.Random) -> str:
    """Draw a country code from the one distribution shared by every population."""
    x = rng.random() * _COUNTRY_CUM[-1]
    return COUNTRY_CODES[bisect.bisect_right(_COUNTRY_CUM, x)]


def utc_offset(country: str) -> float:
    """Return the (rounded) UTC offset in hours of a country's main population."""
    return _BY_CODE[country][2]


def draw_asn(rng: random.Random, category: str, country: str) -> tuple[int, str]:
    """Draw an ASN of ``category`` for an account in ``country``; return (asn, country).

    The returned country is where the address geolocates: the account's own country for
    home, mobile and office lines, the nearest hosting region for cloud and VPN.
    """
    row = _BY_CODE[country]
    if category in ("residential", "corporate"):
        return rng.choice(row[3]), country
    if category == "mobile":
        return rng.choice(row[4]), country
    if category == "cloud":
        x = rng.random() * _CLOUD_CUM[-1]
        asn, _, regions = _CLOUD_ASNS[bisect.bisect_right(_CLOUD_CUM, x)]
        region = country if country in regions else rng.choice(regions[:3])
        return asn, region
    return rng.choice(_VPN_ASNS), rng.choice(_VPN_COUNTRIES)


@functools.lru_cache(maxsize=4096)
def _prefixes(asn: int) -> tuple[tuple[int, int], ...]:
    r = random.Random(f"asn-prefix:{asn}")
    return tuple((r.choice(_FIRST_OCTETS), r.randrange(256)) for _ in range(4))


@functools.lru_cache(maxsize=4096)
def _v6_prefix(asn: int) -> str:
    r = random.Random(f"asn-v6:{asn}")
    return f"2{r.choice('46a'):s}{r.randrange(16):x}{r.randrange(16):x}:{r.randrange(65536):x}"


def block24(rng: random.Random, asn: int) -> str:
    """Return a ``a.b.c`` /24 network prefix inside ``asn``'s address space."""
    a, b = rng.choice(_prefixes(asn))
    return f"{a}.{b}.{rng.randrange(256)}"


def ip_in_block(rng: random.Random, block: str) -> str:
    """Return a host address inside the /24 ``block``."""
    return f"{block}.{rng.randrange(1, 255)}"


def random_ip(rng: random.Random, asn: int, ipv6_share: float) -> str:
    """Return an address of ``asn``: IPv6 with probability ``ipv6_share``, else IPv4."""
    if rng.random() < ipv6_share:
        return (
            f"{_v6_prefix(asn)}:{rng.randrange(65536):x}:{rng.randrange(65536):x}"
            f"::{rng.randrange(1, 65536):x}"
        )
    return ip_in_block(rng, block24(rng, asn))


def draw_location(rng: random.Random, category: str, country: str, ipv6_share: float) -> Location:
    """Draw one address of ``category`` for an account based in ``country``."""
    asn, geo = draw_asn(rng, category, country)
    return Location(random_ip(rng, asn, ipv6_share), asn, geo)


def random_end_user(rng: random.Random, ipv6_share: float) -> Location:
    """Draw the location of some end user of a public app (home or mobile line)."""
    country = draw_country(rng)
    category = "mobile" if rng.random() < 0.35 else "residential"
    return draw_location(rng, category, country, ipv6_share)


# ---------------------------------------------------------------- clients

_SDK_AGENTS: tuple[tuple[str, float], ...] = (
    ("frontier-sdk-python/1.12.0", 20.0),
    ("frontier-sdk-python/1.11.3", 8.0),
    ("frontier-sdk-typescript/0.41.2", 9.0),
    ("OpenAI/Python 1.54.3", 9.0),
    ("AsyncOpenAI/Python 1.54.3", 3.0),
    ("python-httpx/0.27.2", 6.0),
    ("python-requests/2.32.3", 6.0),
    ("axios/1.7.7", 4.0),
    ("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", 2.0),
    ("undici", 2.0),
    ("Go-http-client/2.0", 3.0),
    ("Go-http-client/1.1", 1.0),
    ("langchain-frontier/0.3.1 frontier-sdk-python/1.11.3", 3.0),
    ("curl/8.5.0", 1.5),
    ("okhttp/4.12.0", 1.5),
    ("Java-http-client/21.0.4", 1.0),
    ("aiohttp/3.10.10 Python/3.11", 1.5),
    ("reqwest/0.12.8", 0.7),
    ("frontier-sdk-go/0.9.0", 1.0),
    ("Ruby", 0.5),
)
_BROWSER_AGENTS: tuple[tuple[str, float], ...] = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
        30.0,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
        18.0,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Safari/605.1.15",
        12.0,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
        6.0,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        10.0,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.6723.86 Mobile Safari/537.36",
        8.0,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
        7.0,
    ),
    ("ChatBox/1.6.2 Electron/31.2.1", 4.0),
    ("TypingMind/2.9 (Macintosh)", 3.0),
    ("Raycast/1.84.2 (macOS)", 2.0),
)
_SDK_CUM = tuple(itertools.accumulate(w for _, w in _SDK_AGENTS))
_BROWSER_CUM = tuple(itertools.accumulate(w for _, w in _BROWSER_AGENTS))
_LONG_TAIL_TLS = 400


def _ja4(seed: str) -> str:
    r = random.Random(f"ja4:{seed}")
    ciphers = r.choice((15, 16, 17, 18, 12, 8))
    exts = r.choice((13, 14, 15, 16, 11))
    alpn = r.choice(("h2", "h2", "h1", "00"))
    return f"t13d{ciphers:02d}{exts:02d}{alpn}_{r.getrandbits(48):012x}_{r.getrandbits(48):012x}"


def _family(agent: str) -> str:
    if agent.startswith("Mozilla"):
        if "Firefox" in agent:
            return "firefox"
        if "Version/18" in agent:
            return "safari"
        return "chromium"
    return agent.split("/", 1)[0].split(" ", 1)[0]


def tls_for_agent(rng: random.Random, agent: str) -> str:
    """Return a TLS fingerprint that ``agent``'s HTTP stack plausibly produces.

    Each client family has one to three fingerprints (OpenSSL builds, OS versions), all
    shared by everyone on that family; so popular fingerprints are shared by very many
    accounts.
    """
    family = _family(agent)
    variants = 1 + random.Random(f"tls-variants:{family}").randrange(3)
    return _ja4(f"{family}:{rng.randrange(variants)}")


def long_tail_tls(rng: random.Random) -> str:
    """Return a rarely seen TLS fingerprint (custom builds, old runtimes, proxies)."""
    # Zipf-like: low indices much more common.
    idx = int(_LONG_TAIL_TLS * rng.random() ** 2.2)
    return _ja4(f"tail:{idx}")


def sdk_agent(rng: random.Random) -> str:
    """Draw a programmatic client user agent (SDKs and HTTP libraries, by popularity)."""
    return _SDK_AGENTS[bisect.bisect_right(_SDK_CUM, rng.random() * _SDK_CUM[-1])][0]


def browser_agent(rng: random.Random) -> str:
    """Draw an interactive client user agent (browsers and desktop chat apps)."""
    return _BROWSER_AGENTS[bisect.bisect_right(_BROWSER_CUM, rng.random() * _BROWSER_CUM[-1])][0]


def payment_fingerprint(rng: random.Random) -> str:
    """Return a fresh opaque payment-instrument fingerprint."""
    return f"pm_{rng.getrandbits(64):016x}"


def new_id(rng: random.Random, prefix: str, bits: int = 48) -> str:
    """Return a random-looking identifier such as ``acct_3f9c0a1b2d4e``."""
    return f"{prefix}_{rng.getrandbits(bits):0{bits // 4}x}"
