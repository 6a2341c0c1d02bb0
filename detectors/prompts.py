"""Per-prompt analysis: what one prompt says about its sender's intent, in numbers.

``analyse_prompt`` turns the first ``MAX_CHARS`` characters of a prompt into a
``PromptProfile``: hashes that link prompts built from one template, the capability
area the prompt exercises, how hard it asks for exposed reasoning, whether it looks like
a benchmark item, and its position in an enumerated list. No text is kept. The
functions are pure (no I/O, no clock, no randomness) and deterministic across processes:
every hash is ``stable_hash64`` (BLAKE2b), never Python's salted ``hash()``. The only
state is a bounded memo of per-token SimHash vectors, which changes speed, not results.

Pipeline (one pass of a few C-level regexes, then set and dict work):

1. **Mask** (``normalise``): lower-case; replace fenced/inline code with ``<code>``,
   URLs with ``<url>``, e-mail addresses with ``<email>``, quoted spans with ``<q>`` and
   digit runs (``3``, ``3.14``, ``1,000``, ``12:30``) with ``<num>``. The masked-out code
   and quotes still feed area evidence (``def``, ``import``, tool names), not hashes.
2. **Tokens**: ``\\w+`` runs and placeholders; CJK ideographs and kana count one token each.
3. **Template fingerprint** (``PromptProfile.template``). A template is fixed *frame*
   text around variable *slots*. The masked text is cut into segments at line breaks,
   sentence ends and colons. A segment is *frame* if its content words are mostly
   prompt-scaffolding words (roles, task verbs, document and format nouns:
   ``you are an expert``, ``solve the following problem step by step``, ``summarize``,
   ``bullet points``, ``json``; see ``lexicon.SCAFFOLD_WORDS``), else *slot*; the
   segment after a colon-ended segment is always slot (``Translate to French: {text}``).
   The fingerprint hashes the *skeletons* of the leading frame segments (up to 4, before
   the first slot) and the trailing ones (up to 2, after the last slot), plus the slot
   and multiple-choice shape. A skeleton keeps scaffolding words and placeholders,
   keeps function words only next to a scaffolding word, and collapses everything else
   to ``*``: ``"You are an expert in organic chemistry."`` and ``"You are an expert in
   law."`` both give ``you are an expert in *``. Slot text in the middle (the question,
   the ticket, the document) never reaches the hash, so fillers of any length, topic or
   wording share the fingerprint. Limits: (a) a filler whose own first or last sentence
   reads like an instruction (``Explain your answer.``) joins the frame and splits the
   template; (b) a template whose slot sits inside a sentence that is mostly content
   (``Explain why {phenomenon}.``) has no frame at all and falls back to a hash of the
   masked text, so only exact re-sends (modulo numbers and quotes) share it; (c) very
   generic frames (``can you explain this`` + slot) are shared by unrelated senders, so
   consumers should weigh a fingerprint by how many distinct accounts use it; (d) two
   templates that differ only in content words of the frame (``in the style of
   Tolkien`` vs ``of Austen``) are one template here.
4. **Prefix**: hash of the first 8 masked tokens (a cheap linkage key).
5. **SimHash**: 64-bit Charikar SimHash over the set of masked word tokens (1-shingles,
   unweighted). Each token's 64 hash bits are pre-spread into a 1024-bit integer (one
   16-bit field per bit) and memoised, so the whole sum is one ``sum()`` of Python ints;
   a biased doubling then moves the majority decision into each field's top bit, which
   a byte translate packs back into 64 bits. Bag-of-words: word order is ignored.
6. **Area**: the distinct tokens (masked text plus the code and quotes masked out) are
   looked up in ``lexicon.AREA_LEXICON`` (token -> per-area weight, three tiers); a few
   co-occurrence rules add evidence (``ignore`` + ``instructions``: safety probing;
   ``tools`` + ``available``: tool use; several numbers: math); non-Latin scripts,
   Latin-script non-English function words and accented words add to ``multilingual``.
   The argmax wins (ties go to the earlier area); below ``_AREA_MIN`` total evidence
   the area is -1. ``area_confidence`` = dominance x evidence saturation.
7. **Reasoning cue**: rules over tokens, not a phrase list: a reasoning verb (show,
   explain, walk, justify, lay out, break down, ...) followed within 6 tokens by a
   reasoning object (reasoning, thought process, derivation, rationale, logic,
   workings) or by a soft object with a possessive or quantifier (``your work``,
   ``each step``, ``all intermediate steps``); ``step by step`` / ``one step at a time``
   / ``stepwise``; ``chain of thought``; ``think`` + carefully/through/step/before;
   ``reason`` + through/about/carefully; ``thought/reasoning process``; ``before
   answering``; ``final answer``; and fixed phrases in a dozen other languages. Cue
   weights combine by noisy-or. "step function", "stepmother", "the first step to open
   a bakery" score 0; "explain the steps to reset a router" scores low (0.3).
8. **Multiple choice**: >= 2 in-order options ``A)``/``(a)``/``A.``/``[A]`` with an
   answer cue (``Answer:`` at the end, "which of the following", "correct option"...),
   or >= 3 options after a question mark in the stem.
9. **Enumeration**: ``Question 17``, ``Problem #42``, ``item 3 of 100``, ``Q17``,
   ``17. ...``/``17) ...``/``[17/100]`` at the start, ``第17题``; first 300 characters.

Cost: mean ~15 µs for a 300-600 character English prompt once the token memo is warm
(see ``tests/unit/test_prompts.py`` for the benchmark command).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from hashlib import blake2b
from typing import Final

from detectors.lexicon import (
    AREA_INDEX,
    AREA_LEXICON,
    AREAS,
    FOREIGN_FUNCTION_WORDS,
    FOREIGN_REASON_GATE,
    FOREIGN_REASON_PHRASES,
    FUNCTION_WORDS,
    REASON_ADVERBS,
    REASON_POSSESSIVES,
    REASON_SOFT_OBJECTS,
    REASON_STRONG_OBJECTS,
    REASON_VERBS,
    SCAFFOLD_WORDS,
    THINK_FOLLOWERS,
)

__all__ = [
    "AREAS",
    "MAX_CHARS",
    "PromptProfile",
    "analyse_prompt",
    "normalise",
    "stable_hash64",
]

#: Only this many leading characters of a prompt are analysed.
MAX_CHARS: Final = 2000


@dataclass(frozen=True, slots=True)
class PromptProfile:
    """What one prompt says about its sender's intent, in numbers (no text kept).

    Attributes:
        template: 64-bit fingerprint of the prompt's template (frame text with the
            slots left out); prompts filled from one template usually share it.
        prefix: 64-bit hash of the first 8 word tokens after masking (linkage key).
        simhash: 64-bit SimHash of the distinct word tokens; compare by Hamming
            distance (near duplicates differ in a few of 64 bits). 0 without tokens.
        area: index into ``AREAS`` of the dominant capability area, -1 if none.
        area_confidence: in [0, 1]; 0.0 when ``area`` is -1.
        reasoning: in [0, 1], strength of reasoning-elicitation cues.
        multiple_choice: the prompt is shaped like a multiple-choice benchmark item.
        enumeration: ordinal the prompt gives itself in a list ("Question 17"), else None.
        n_tokens: word tokens (letter runs; numbers are not counted; a masked code
            block, quote, URL or e-mail counts its own words; each CJK character is one).
    """

    template: int
    prefix: int
    simhash: int
    area: int
    area_confidence: float
    reasoning: float
    multiple_choice: bool
    enumeration: int | None
    n_tokens: int


def _h64(data: bytes) -> int:
    """BLAKE2b-64 of bytes as an unsigned int."""
    return int.from_bytes(blake2b(data, digest_size=8).digest(), "big")


def stable_hash64(s: str) -> int:
    """Hash a string to an unsigned 64-bit int, identical in every process and run.

    BLAKE2b with an 8-byte digest over the UTF-8 bytes (lone surrogates are encoded
    with ``surrogatepass`` so that no string raises).
    """
    return _h64(s.encode("utf-8", "surrogatepass"))


def _b(words: frozenset[str] | set[str]) -> frozenset[bytes]:
    """Encode a word set to UTF-8 bytes (tokens are bytes on the hot path)."""
    return frozenset(w.encode() for w in words)


# --- normalise (public, readable form) ----------------------------------------------------

_SPAN_RE: Final = re.compile(
    r"(?P<code>```.*?(?:```|\Z)|`[^`\n]{1,200}`)"
    r"|(?P<url>(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"']+)"
    r"|(?P<email>\b[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+)"
    r"|(?P<q>\"[^\"\n]{1,300}\"|“[^”\n]{1,300}”|«[^»\n]{1,300}»|„[^“”\n]{1,300}[“”]"
    r"|‘[^’\n]{1,300}’|(?<!\w)'[^'\n]{1,300}'(?!\w))",
    re.DOTALL,
)
_NUM_RE: Final = re.compile(r"\d+(?:[.,:/]\d+)*")
_WS_RE: Final = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-case and mask a prompt's variable parts; collapse all whitespace to one space.

    Code (fenced or inline) becomes ``<code>``, URLs ``<url>``, e-mail addresses
    ``<email>``, quoted spans ``<q>`` and digit runs (``3``, ``3.14``, ``1,000``,
    ``12:30``) ``<num>``. Only the first ``MAX_CHARS`` characters are used. This is the
    readable form of the masking that ``analyse_prompt`` applies (which drops digits
    instead of writing ``<num>``, and uses ``_q_``-style placeholders internally).
    """
    low = _SPAN_RE.sub(lambda m: f" <{m.lastgroup}> ", text[:MAX_CHARS].lower())
    return _WS_RE.sub(" ", _NUM_RE.sub("<num>", low)).strip()


# --- hot-path masking and tokens -----------------------------------------------------------

# Which masking rules can apply is decided from "marks": the prompt's bytes with every
# byte deleted except a few punctuation bytes (one C pass). Each rule's pattern starts
# with a literal so that the regex engine skips ahead; none runs unless its mark is there.
_MARK_BYTES: Final = b"`\"@'/)]:?!\n\xe2\xc2"
_NOT_MARKS: Final = bytes(c for c in range(256) if c not in _MARK_BYTES)
_CODE_RULES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("```", re.compile(r"```.*?(?:```|\Z)", re.DOTALL)),
    ("`", re.compile(r"`[^`\n]{1,200}`")),
)
_URL_RULES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("http", re.compile(r"https?://[^\s<>\"']+")),
    ("ftp://", re.compile(r"ftp://[^\s<>\"']+")),
)
_EMAIL_RE: Final = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_DQUOTE_RE: Final = re.compile(r'"[^"\n]{1,300}"')
_SQUOTE_RE: Final = re.compile(r" '[^'\n]{1,300}'(?!\w)")
_UNICODE_QUOTE_RULES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("“", re.compile(r"“[^”\n]{1,300}”")),
    ("«", re.compile(r"«[^»\n]{1,300}»")),
    ("„", re.compile(r"„[^“”\n]{1,300}[“”]")),
    ("‘", re.compile(r"‘[^’\n]{1,300}’")),
)
_PLACEHOLDERS: Final = frozenset({b"_code_", b"_url_", b"_email_", b"_q_"})

# Non-ASCII punctuation, by UTF-8 lead bytes: sentence marks keep their role, the rest
# become spaces (so "don’t" splits like "don't").
_UNICODE_PUNCT: Final[tuple[tuple[bytes, tuple[tuple[bytes, bytes], ...]], ...]] = tuple(
    (
        lead.encode(),
        tuple((ch.encode(), repl.encode()) for ch, repl in pairs),
    )
    for lead, pairs in (
        ("\u2000", (("—", " "), ("–", " "), ("…", ". "), ("’", " "), ("‘", " "),
                     ("“", " "), ("”", " "), ("•", " "))),
        ("\u3000", (("。", ". "), ("、", ", "))),
        ("\uff00", (("．", ". "), ("？", "? "), ("！", "! "), ("：", ": "), ("，", ", "),
                     ("；", "; "))),
        ("\u00a0", (("¿", " "), ("¡", " "), ("«", " "), ("»", " "), ("·", " "),
                     ("\u00a0", " "))),
    )
)

# Bytes that belong to word tokens: ASCII letters, "_", and every byte of a multi-byte
# UTF-8 sequence (so accented and non-Latin letters stay inside their word). Digits and
# ASCII punctuation become spaces.
_WORD_BYTES: Final = (
    set(range(ord("a"), ord("z") + 1)) | {ord("_")} | set(range(0x80, 0x100))
)
_TOKEN_TABLE: Final = bytes(
    c + 32 if ord("A") <= c <= ord("Z") else (c if c in _WORD_BYTES else 0x20)
    for c in range(256)
)
_DIGIT_BYTES: Final = b"0123456789"
_CJK_CHAR_RE: Final = re.compile(rb"[\xe3-\xe9][\x80-\xbf][\x80-\xbf]")
# Lead bytes of letters in non-Latin scripts: Greek..Arabic (2-byte), Indic/Thai and
# Georgian/Ethiopic/Vietnamese (3-byte 0xe0-0xe1), CJK and Hangul (0xe3-0xed).
_SCRIPT_LEADS: Final = bytes([*range(0xCE, 0xDC), 0xE0, 0xE1, *range(0xE3, 0xEE)])
_NOT_SCRIPT_LEADS: Final = bytes(c for c in range(256) if c not in _SCRIPT_LEADS)


def _sub_collect(pattern: re.Pattern[str], placeholder: str, low: str, sink: list[str]) -> str:
    """Replace every match of ``pattern`` by ``placeholder``, appending matches to ``sink``."""

    def repl(m: re.Match[str]) -> str:
        sink.append(m.group())
        return placeholder

    return pattern.sub(repl, low)


def _mask(low: str, marks: bytes, sink: list[str]) -> str:
    """Replace code, URLs, e-mails and quoted spans by placeholders; collect their text.

    ``marks`` says which punctuation the text contains (see ``_MARK_BYTES``).
    """
    if b"`" in marks:
        for trigger, pattern in _CODE_RULES:
            if trigger in low:
                low = _sub_collect(pattern, " _code_ ", low, sink)
    if b"/" in marks:
        for trigger, pattern in _URL_RULES:
            if trigger in low:
                low = _sub_collect(pattern, " _url_ ", low, sink)
    if b"@" in marks:
        low = _sub_collect(_EMAIL_RE, " _email_ ", low, sink)
    if b'"' in marks:
        low = _sub_collect(_DQUOTE_RE, " _q_ ", low, sink)
    if b"'" in marks and " '" in low:
        low = _sub_collect(_SQUOTE_RE, " _q_ ", low, sink)
    if b"\xe2" in marks or b"\xc2" in marks:
        for trigger, pattern in _UNICODE_QUOTE_RULES:
            if trigger in low:
                low = _sub_collect(pattern, " _q_ ", low, sink)
    return low


def _words(data: bytes) -> list[bytes]:
    """Split UTF-8 bytes into word tokens."""
    return data.translate(_TOKEN_TABLE).split()


# --- template fingerprint ------------------------------------------------------------------

# Segment boundaries travel inside the token list as two marker tokens that UTF-8 text
# can never contain: _END closes a segment (line break, ". ", "?", "!", ":"), and _COLON
# just before it records that the segment ended with a colon (its successor is a slot).
_END: Final = b"\xff"
_COLON: Final = b"\xfe"
_SCAF: Final = _b(SCAFFOLD_WORDS) | _PLACEHOLDERS
_FUNC: Final = _b(FUNCTION_WORDS) | {_COLON}
_HEAD_SEGMENTS: Final = 4
_TAIL_SEGMENTS: Final = 2
_FALLBACK_TOKENS: Final = 32
_FRAME_SCAFFOLD: Final = 3  # this many distinct scaffolding words make a segment frame
_LABEL_TOKENS: Final = 5  # a colon-ended segment this short (marker included) is a label
_OPTION_LETTERS: Final = frozenset({b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h"})


def _mark_segments(data: bytes, marks: bytes) -> bytes:
    """Insert segment-boundary marker tokens at line breaks, sentence ends and colons."""
    if b":" in marks:
        data = data.replace(b":", b" \xfe \xff ")
    if b"?" in marks:
        data = data.replace(b"?", b" \xff ")
    if b"!" in marks:
        data = data.replace(b"!", b" \xff ")
    if b"\n" in marks:
        data = data.replace(b"\n", b" \xff ")
    return data.replace(b". ", b" \xff ")


def _skeleton(seg: list[bytes], options: bool) -> bytes | None:
    """Frame skeleton of one segment's tokens, or None if the segment is slot text.

    A segment is frame when it is a short label ending in a colon ("Review:"), has
    at least ``_FRAME_SCAFFOLD`` distinct scaffolding words, has no content word, or
    has at least two scaffolding words and no more content words than scaffolding
    words (function words are neutral). When ``options`` says the
    prompt may list lettered options, a segment opening with a lone letter ("b) 42")
    is slot. The skeleton is the sorted set of scaffolding words (order and repetition
    ignored), plus " :" when the segment ended with a colon.
    """
    if options and seg[0] in _OPTION_LETTERS:
        return None
    toks = set(seg)
    scaf = toks & _SCAF
    colon = seg[-1] == _COLON
    if len(scaf) < _FRAME_SCAFFOLD and not (colon and len(seg) <= _LABEL_TOKENS):
        n_content = len(toks) - len(scaf) - len(toks & _FUNC)
        if n_content and (len(scaf) < 2 or len(scaf) < n_content):
            return None
    if colon:
        return b" ".join(sorted(scaf)) + b" :"
    return b" ".join(sorted(scaf))


def _template_key(tokens: list[bytes], options: bool) -> bytes:
    """Build the bytes that the template fingerprint hashes (see module docstring).

    ``tokens`` carries the segment markers of ``_mark_segments``.
    """
    ext = [_END, *tokens, _END]
    last = len(ext) - 1
    head: list[bytes] = []
    start = 1  # first token of the current segment
    boundary = 0  # marker index closing the last segment the head scan looked at
    forced = False
    while start < last and len(head) < _HEAD_SEGMENTS:
        end = ext.index(_END, start)
        if end > start:
            skel = None if forced else _skeleton(ext[start:end], options)
            if skel is None:
                boundary = end
                break
            if skel:
                head.append(skel)
            forced = ext[end - 1] == _COLON
        boundary = end
        start = end + 1
    else:
        if start >= last:
            return b" | ".join(head) + b" || "
    # Scan back from the end over the reversed list (lists have no rindex); tail
    # segments must lie after ``boundary``, i.e. at reversed positions below ``limit``.
    rev = ext[::-1]
    limit = last - boundary
    tail: list[bytes] = []
    r = 1
    while r < limit and len(tail) < _TAIL_SEGMENTS:
        e = rev.index(_END, r)
        if e > r:
            if e > limit or rev[e + 1] == _COLON:
                break
            skel = _skeleton(ext[last - e + 1 : last - r + 1], options)
            if skel is None:
                break
            if skel:
                tail.append(skel)
        r = e + 1
    if not head and not tail:
        return b"0|" + b" ".join(tokens[:_FALLBACK_TOKENS])
    tail.reverse()
    return b" | ".join(head) + b" || " + b" | ".join(tail)


# --- SimHash -------------------------------------------------------------------------------

# A token's 64 hash bits are "spread" into 64 8-bit fields of one 512-bit int (bit i of
# the hash -> field i). Summing spreads counts, per bit, how many tokens have it set.
_BYTE_SPREAD: Final = tuple(
    int.from_bytes(bytes((b >> k) & 1 for k in range(7, -1, -1)), "big") for b in range(256)
)
_ONES8: Final = int.from_bytes(b"\x01" * 64, "big")
_ONES16: Final = int.from_bytes(b"\x00\x01" * 64, "big")
_MAX8: Final = 255  # 8-bit fields hold counts and bias for up to this many features
# c_i + 128 - ceil(n/2) stays in [0, 255] for n <= 255 and has its top bit set exactly
# when 2*c_i >= n, i.e. when bit i wins the majority vote.
_BIAS8: Final = tuple((128 - (n + 1) // 2) * _ONES8 for n in range(_MAX8 + 1))
_TOP_BIT_TO_CHAR: Final = bytes(0x31 if b & 0x80 else 0x30 for b in range(256))
_SPREAD_CACHE: dict[bytes, int] = {}
_SPREAD_CACHE_MAX: Final = 1 << 17


def _spread(token: bytes) -> int:
    """Spread a token's 64 hash bits into 64 8-bit fields of one int (bit i -> field i)."""
    spread = 0
    for byte in blake2b(token, digest_size=8).digest():
        spread = (spread << 64) | _BYTE_SPREAD[byte]
    return spread


def _simhash(features: set[bytes]) -> int:
    """Charikar SimHash of a feature set, counting all 64 bit columns in one int sum."""
    n = len(features)
    if n == 0:
        return 0
    cache = _SPREAD_CACHE
    get = cache.__getitem__
    try:
        total = sum(map(get, features))
    except KeyError:
        if len(cache) > _SPREAD_CACHE_MAX:
            cache.clear()
        for f in features:
            if f not in cache:
                cache[f] = _spread(f)
        total = sum(map(get, features))
    if n <= _MAX8:
        return int((total + _BIAS8[n]).to_bytes(64, "big").translate(_TOP_BIT_TO_CHAR), 2)
    # More features than 8-bit fields can count: re-add in chunks widened to 16 bits.
    feats = list(features)
    wide = 0
    buf = bytearray(128)
    for start in range(0, n, _MAX8):
        buf[1::2] = sum(map(get, feats[start : start + _MAX8])).to_bytes(64, "big")
        wide += int.from_bytes(buf, "big")
    wide += ((1 << 15) - (n + 1) // 2) * _ONES16
    return int(wide.to_bytes(128, "big")[0::2].translate(_TOP_BIT_TO_CHAR), 2)


# --- capability area -----------------------------------------------------------------------

_N_AREAS: Final = len(AREAS)
_SCALE: Final = 10  # area weights are summed as integers in tenths
# token -> per-area weights packed in 16-bit fields (area i at bits 16i..16i+15).
_AREA_VEC: Final[dict[bytes, int]] = {
    tok.encode(): sum(round(w * _SCALE) << (16 * a) for a, w in entries)
    for tok, entries in AREA_LEXICON.items()
}
_AREA_KEYS: Final = frozenset(_AREA_VEC)
_AREA_UNPACK: Final = struct.Struct(f"<{_N_AREAS}H")
_MATH = AREA_INDEX["math"]
_CODING = AREA_INDEX["coding"]
_TOOL = AREA_INDEX["tool_use"]
_MULTI = AREA_INDEX["multilingual"]
_SAFETY = AREA_INDEX["safety_probing"]
_AREA_MIN: Final = 8  # tenths: one medium word is not quite enough on its own
_CONFIDENCE_SATURATION: Final = 20.0

_OVERRIDE_VERBS: Final = _b(
    set("ignore ignoring disregard forget override bypass circumvent".split())
)
_OVERRIDE_OBJECTS: Final = _b(
    set(
        """instructions instruction rules guidelines prompt programming restrictions
        policies policy filters safeguards guardrails training""".split()
    )
)
_NEGATORS: Final = frozenset({b"no", b"without", b"zero", b"any"})
_LIMIT_WORDS: Final = _b(
    set("restrictions filters limits rules censorship boundaries limitations".split())
)
_TOOL_NOUNS: Final = _b(set("tools tool functions apis plugins".split()))
_TOOL_VERBS: Final = _b(set("access available call invoke use using calls".split()))
_FOREIGN_WORDS: Final = _b(FOREIGN_FUNCTION_WORDS)
# Tokens that take part in a co-occurrence rule (negators are checked only after a
# limit word is seen, so they are left out).
_RULE_TOKENS: Final = (
    _OVERRIDE_VERBS
    | _OVERRIDE_OBJECTS
    | _LIMIT_WORDS
    | _TOOL_NOUNS
    | _TOOL_VERBS
    | _FOREIGN_WORDS
    | {b"developer", b"mode", b"_code_"}
)
_LOOKUP_KEYS: Final = _AREA_KEYS | _RULE_TOKENS


def _area(tokset: set[bytes], data: bytes, n_chars: int, n_digits: int) -> tuple[int, float]:
    """Score every area from the distinct tokens; return (argmax index or -1, confidence).

    ``n_chars`` is the length of the analysed text in characters (for script shares).
    """
    hits = tokset & _LOOKUP_KEYS
    area_hits = hits & _AREA_KEYS
    scores = list(
        _AREA_UNPACK.unpack(
            sum(map(_AREA_VEC.__getitem__, area_hits)).to_bytes(2 * _N_AREAS, "little")
        )
    )
    rule = hits & _RULE_TOKENS
    if rule:
        if b"_code_" in rule:
            scores[_CODING] += 30
        if rule & _OVERRIDE_VERBS and rule & _OVERRIDE_OBJECTS:
            scores[_SAFETY] += 30
        if rule & _LIMIT_WORDS and tokset & _NEGATORS:
            scores[_SAFETY] += 15
        if b"developer" in rule and b"mode" in rule:
            scores[_SAFETY] += 20
        if rule & _TOOL_NOUNS and rule & _TOOL_VERBS:
            scores[_TOOL] += 15
        foreign = len(rule & _FOREIGN_WORDS)
    else:
        foreign = 0
    if n_digits >= 3:
        scores[_MATH] += min(n_digits, 12)
    if len(data) != n_chars:  # some non-ASCII text
        n_script = len(data) - len(data.translate(None, _NOT_SCRIPT_LEADS))
        if n_script:
            share = n_script / max(1, n_chars - data.count(b" "))
            scores[_MULTI] += 10 + round(80 * min(share, 1.0))
        foreign += (data.count(b"\xc3") + data.count(b"\xc4") + data.count(b"\xc5")) // 3
    if foreign >= 2:
        scores[_MULTI] += 8 * min(foreign, 10)
    top = max(scores)
    if top < _AREA_MIN:
        return -1, 0.0
    return scores.index(top), (top / sum(scores)) * (top / (top + _CONFIDENCE_SATURATION))


# --- reasoning cue -------------------------------------------------------------------------

_WINDOW: Final = 6
_VERBS: Final = _b(REASON_VERBS)
_CORE_VERBS: Final = _b(
    set(
        """show shows showing explain explains explaining justify justifies justifying
        detail detailing outline outlining articulate articulating lay laying spell
        spelling describe describing present presenting trace tracing expose reveal
        verbalize verbalise unpack elaborate elaborating demonstrate demonstrating
        narrate clarify break breaking""".split()
    )
)
_THROUGH_VERBS: Final = _b(set("walk walking talk take go going guide lead".split()))
_POSSESSIVES: Final = _b(REASON_POSSESSIVES)
_STRONG_OBJECTS: Final = _b(REASON_STRONG_OBJECTS)
_SOFT_WEIGHT: Final[dict[bytes, float]] = {
    b"work": 0.6,
    b"step": 0.6,
    b"steps": 0.6,
    b"process": 0.55,
    b"explanation": 0.55,
    b"explanations": 0.55,
    b"approach": 0.5,
    b"method": 0.45,
    b"argument": 0.5,
    b"arguments": 0.5,
    b"proof": 0.45,
    b"answer": 0.45,
    b"solution": 0.45,
}
_SOFT_OBJECTS: Final = _b(REASON_SOFT_OBJECTS) | frozenset(_SOFT_WEIGHT)
_SOFT_LOW: Final = frozenset({b"steps", b"work", b"process"})
_THINK_ALL: Final = _b(THINK_FOLLOWERS)
_THINK_STRONG: Final = _THINK_ALL - {b"about", b"first", b"out"}
_ME_US: Final = frozenset({b"me", b"us", b"the", b"them", b"you"})
_BREAK_VERBS: Final = frozenset({b"break", b"breaking", b"lay", b"laying"})
_PROCESS_NOUNS: Final = frozenset({b"process", b"trace", b"traces", b"steps", b"chain", b"path"})
_REASON_AFTER: Final = frozenset(
    {b"through", b"about", b"carefully", b"step", b"out", b"it", b"logically", b"before",
     b"this", b"things", b"deeply", b"thoroughly"}
)
_NOT_VERB_REASON: Final = frozenset({b"the", b"a", b"this", b"that", b"main", b"no", b"one"})
_ANSWERING: Final = frozenset(
    {b"answering", b"responding", b"replying", b"answer", b"respond", b"reply", b"you",
     b"giving", b"concluding"}
)
_STEP_QUANTIFIERS: Final = _POSSESSIVES | {b"one", b"reasoning", b"logical", b"solution"}
_COT_WORDS: Final = frozenset({b"thought", b"thoughts", b"reasoning"})
_STEP_WORDS: Final = frozenset({b"step", b"steps"})
_NOUN_CUES: Final[dict[bytes, float]] = {
    b"rationale": 0.5,
    b"justification": 0.5,
    b"workings": 0.5,
    b"scratchpad": 0.5,
    b"derivation": 0.35,
}
_SPECIAL: Final = frozenset(
    {b"step", b"steps", b"stepwise", b"chain", b"cot", b"think", b"thinking", b"thought",
     b"reason", b"reasoning", b"before", b"final"}
) | frozenset(_NOUN_CUES)
_ADVERBS: Final = _b(REASON_ADVERBS)
_VERB_GATE: Final = _VERBS | _THROUGH_VERBS
# A verb is worth a look only with a strong object, "through"/"down", a soft object
# with a possessive, or "steps"/"work"/"process" after a core verb.
_OBJECT_GATE: Final = _STRONG_OBJECTS | {b"through", b"down"}
_ANSWER_WORDS: Final = _ANSWERING - {b"you"}
_FOREIGN_GATE: Final = _b(FOREIGN_REASON_GATE)
_FOREIGN_PHRASES: Final = tuple(p.encode() for p in FOREIGN_REASON_PHRASES)


def _verb_cue(verb: bytes, window: list[bytes]) -> tuple[int, float]:
    """Weight of a reasoning verb given the tokens right after it.

    Returns (offset in ``window`` of the object that earned the weight, weight); the
    caller keys the cue by the object's position so that two verbs sharing one object
    ("list ... show your work") count once.
    """
    if verb in _THROUGH_VERBS:
        if b"through" in window[:4]:
            return window.index(b"through"), 0.75 if window[0] in _ME_US else 0.55
        return -1, 0.0
    core = verb in _CORE_VERBS
    wset = set(window)
    strong = wset & _STRONG_OBJECTS
    if strong:
        return min(map(window.index, strong)), 0.75 if core else 0.65
    best = 0.0
    at = -1
    if b"down" in wset and verb in _BREAK_VERBS:
        best, at = 0.5, window.index(b"down")
    for obj in wset & _SOFT_OBJECTS:
        k = window.index(obj)
        if _POSSESSIVES.isdisjoint(window[:k]):
            weight = 0.25 if core and obj in _SOFT_LOW else 0.15
        else:
            weight = _SOFT_WEIGHT[obj] - (0.0 if core else 0.1)
        if weight > best or (weight == best and k < at):
            best, at = weight, k
    return at, best


def _word_cue(word: bytes, j: int, tokens: list[bytes]) -> tuple[bytes, float]:
    """Cue kind and weight for a special reasoning word at position ``j`` (or 0.0)."""
    n = len(tokens)
    nxt = tokens[j + 1] if j + 1 < n else b""
    prev = tokens[j - 1] if j > 0 else b""
    if word == b"step":
        if nxt == b"by" and j + 2 < n and tokens[j + 2] in _STEP_WORDS:
            return b"sbs", 0.9
        if prev == b"one" and tokens[j + 1 : j + 4] == [b"at", b"a", b"time"]:
            return b"sbs", 0.85
        if prev in _STEP_QUANTIFIERS:
            return b"each_step", 0.55
    elif word == b"steps":
        if prev in _STEP_QUANTIFIERS or (j > 1 and tokens[j - 2] in _POSSESSIVES):
            return b"each_step", 0.55
    elif word == b"stepwise":
        return b"sbs", 0.75
    elif word == b"chain":
        if nxt == b"of" and j + 2 < n and tokens[j + 2] in _COT_WORDS:
            return b"cot", 0.9
    elif word == b"cot":
        return b"cot", 0.5
    elif word in (b"think", b"thinking"):
        if nxt in _THINK_STRONG or (prev == b"s" and j > 1 and tokens[j - 2] == b"let"):
            return b"think", 0.7
        if word == b"thinking" and nxt in _PROCESS_NOUNS:
            return b"process", 0.8
        if nxt in _THINK_ALL:
            return b"think", 0.4
    elif word in (b"thought", b"reasoning"):
        if nxt in _PROCESS_NOUNS:
            return b"process", 0.8
        if prev in _POSSESSIVES:
            return b"own_reasoning", 0.6
    elif word == b"reason":
        if nxt in _REASON_AFTER and prev not in _NOT_VERB_REASON:
            return b"reason", 0.7
    elif word == b"before":
        if nxt in _ANSWERING:
            return b"before", 0.45
    elif word == b"final":
        if nxt == b"answer":
            return b"final", 0.25
    elif word in _NOUN_CUES:
        return b"noun", _NOUN_CUES[word]
    elif word in _ADVERBS:
        return b"adverb", 0.2
    return b"", 0.0


def _reasoning(tokens: list[bytes], tokset: set[bytes], text: bytes, foreign: bool) -> float:
    """Combine reasoning-elicitation cues found in the tokens into a [0, 1] strength.

    ``text`` is the masked prompt as UTF-8 (for the non-English phrase list, which is
    searched when ``foreign`` says the prompt has non-ASCII text).
    """
    cues: dict[bytes | int, float] = {}
    words = tokset & _SPECIAL
    if b"before" in words and tokset.isdisjoint(_ANSWER_WORDS):
        words.discard(b"before")
    if b"final" in words and b"answer" not in tokset:
        words.discard(b"final")
    verbs = tokset & _VERB_GATE
    if verbs and not (
        not tokset.isdisjoint(_OBJECT_GATE)
        or (not tokset.isdisjoint(_SOFT_OBJECTS) and not tokset.isdisjoint(_POSSESSIVES))
        or (not tokset.isdisjoint(_SOFT_LOW) and not verbs.isdisjoint(_CORE_VERBS))
    ):
        verbs = set()
    if words or verbs:
        words |= verbs | (tokset & _ADVERBS)
        for word in words:
            j = -1
            for _ in range(tokens.count(word)):
                j = tokens.index(word, j + 1)
                kind, weight = _word_cue(word, j, tokens)
                if weight > cues.get(kind, 0.0):
                    cues[kind] = weight
                if word in verbs:
                    at, weight = _verb_cue(word, tokens[j + 1 : j + 1 + _WINDOW])
                    if weight > cues.get(j + 1 + at, 0.0):
                        cues[j + 1 + at] = weight
    if (foreign or not tokset.isdisjoint(_FOREIGN_GATE)) and any(
        p in text for p in _FOREIGN_PHRASES
    ):
        cues[b"foreign"] = 0.85
    cues.pop(b"", None)
    if not cues:
        return 0.0
    miss = 1.0
    for weight in cues.values():
        miss *= 1.0 - weight
    return 1.0 - miss


# --- multiple choice and enumeration -------------------------------------------------------

_OPT_LINE_RE: Final = re.compile(r"(?m)^[ \t]*(?:option[ \t]+)?[(\[]?([a-h])[).\]:][ \t]+\S")
_OPT_INLINE_RE: Final = re.compile(r"(?:^|\s)[(\[]?([a-h])[)\]][ \t]*\S")
_MC_CUE_RE: Final = re.compile(
    r"\banswer\s*:?\s*$|\b(?:which of the following|which one of the following"
    r"|correct (?:answer|option|choice|letter|response)|best (?:answer|option|choice)"
    r"|choose (?:the|one|from|between)|select (?:the|one)|pick (?:the|one)|the letter"
    r"|answer choices?|options?\s*:|choices?\s*:|respond with (?:only )?(?:the|a|one)"
    r"|multiple[- ]choice|answer with)\b"
)


def _may_have_options(data: bytes, marks: bytes) -> bool:
    """Cheap test: could the prompt list lettered options ("b)", "(b)", "\nb.")?"""
    if b")" in marks and b"b)" in data:
        return True
    if b"\n" not in marks:
        return False
    at = data.find(b"\nb")
    return at >= 0 and data[at + 2 : at + 3] in (b".", b":", b"]")


def _multiple_choice(low: str) -> tuple[bool, int]:
    """Detect a multiple-choice item; return (is_mc, number of in-order options).

    Call only when ``_may_have_options`` is true (it is the cheap gate).
    """
    matches = list(_OPT_LINE_RE.finditer(low))
    if len(matches) < 2:
        matches = list(_OPT_INLINE_RE.finditer(low))
    expect = ord("a")
    first = 0
    for m in matches:
        if ord(m.group(1)) == expect:
            if expect == ord("a"):
                first = m.start()
            expect += 1
    n_opts = expect - ord("a")
    if n_opts < 2:
        return False, n_opts
    if _MC_CUE_RE.search(low):
        return True, n_opts
    return n_opts >= 3 and "?" in low[:first], n_opts


_ENUM_SPAN: Final = 300
_ENUM_LEAD_RE: Final = re.compile(
    r"\s*(?:[#\[(]\s*)?([0-9]{1,7})(?:\s*(?:/|of)\s*[0-9]{1,7})?\s*(?:[.):\]]|\s-)\s"
)
_ENUM_AFTER_RE: Final = re.compile(r"\s*(?:#|no\.?|nr\.?|num(?:ber)?\.?|№)?\s*([0-9]{1,7})(?![0-9])")
_ENUM_KEYWORDS: Final = (
    "question",
    "problem",
    "exercise",
    "item",
    "task",
    "puzzle",
    "challenge",
    "example",
    "sample",
    "query",
    "prompt",
    "entry",
    "case",
    "prob",
    "q",
    "pregunta",
    "problema",
    "ejercicio",
    "frage",
    "aufgabe",
    "exercice",
    "domanda",
    "esercizio",
    "questão",
    "questao",
    "вопрос",
    "задача",
    "задание",
)
_ENUM_KEY_TOKENS: Final = frozenset(k.encode() for k in _ENUM_KEYWORDS)
_ENUM_CJK_RE: Final = re.compile(
    r"第\s*([0-9]{1,7})\s*[题題问問道个]|问题\s*([0-9]{1,7})|問題\s*([0-9]{1,7})"
)


def _enumeration(low: str, tokset: set[bytes]) -> int | None:
    """Return the list position a prompt gives itself ("Question 17" -> 17), else None.

    Call only when the prompt has digits.
    """
    head = low[:_ENUM_SPAN]
    stripped = head.lstrip()
    if stripped[:1] in ("#", "[", "(") or stripped[:1].isdigit():
        m = _ENUM_LEAD_RE.match(head)
        if m:
            return int(m.group(1))
    best: tuple[int, int] | None = None
    for key in tokset & _ENUM_KEY_TOKENS:
        word = key.decode()
        at = head.find(word)
        while at >= 0:
            end = at + len(word)
            if (at == 0 or not head[at - 1].isalnum()) and (
                end == len(head) or not head[end].isalpha()
            ):
                m = _ENUM_AFTER_RE.match(head, end)
                if m and (best is None or at < best[0]):
                    best = (at, int(m.group(1)))
                    break
            at = head.find(word, end)
    if best is not None:
        return best[1]
    if not head.isascii():
        m = _ENUM_CJK_RE.search(head)
        if m:
            return int(next(g for g in m.groups() if g is not None))
    return None


# --- public entry point --------------------------------------------------------------------

_PREFIX_TOKENS: Final = 8


def analyse_prompt(text: str) -> PromptProfile:
    """Analyse the first ``MAX_CHARS`` characters of one prompt into a ``PromptProfile``.

    Never raises on any ``str`` (empty, whitespace only, odd Unicode, lone surrogates).
    """
    low = text[:MAX_CHARS].lower()
    n_chars = len(low)
    data = low.encode("utf-8", "surrogatepass")
    marks = data.translate(None, _NOT_MARKS)
    ascii_only = len(data) == n_chars
    sink: list[str] = []
    if marks:
        masked = _mask(low, marks, sink)
        if sink:
            data = masked.encode("utf-8", "surrogatepass")
            n_chars = len(masked)
    if not ascii_only:
        for lead, pairs in _UNICODE_PUNCT:
            if lead[:2] in data:
                for ch, repl in pairs:
                    if ch in data:
                        data = data.replace(ch, repl)
        marks = data.translate(None, _NOT_MARKS)
    text_bytes = data
    if not ascii_only and _CJK_CHAR_RE.search(data):
        data = _CJK_CHAR_RE.sub(rb" \g<0> ", data)
    n_digits = len(data) - len(data.translate(None, _DIGIT_BYTES))
    tokens = _mark_segments(data, marks).translate(_TOKEN_TABLE).split()
    tokset = set(tokens)
    n_markers = 0
    if _END in tokset:
        n_markers = tokens.count(_END)
        tokset.discard(_END)
        if _COLON in tokset:
            n_markers += tokens.count(_COLON)
            tokset.discard(_COLON)
    n_tokens = len(tokens) - n_markers
    area_tokset = tokset
    if sink:
        extra = _words(" ".join(sink).encode("utf-8", "surrogatepass"))
        n_tokens += len(extra) - len(sink)
        area_tokset = tokset | set(extra)
    area, confidence = _area(area_tokset, data, n_chars, n_digits)
    options = _may_have_options(data, marks)
    is_mc, n_opts = _multiple_choice(low) if options else (False, 0)
    key = _template_key(tokens, options)
    return PromptProfile(
        template=_h64(key + b"|mc%d" % n_opts if is_mc else key),
        prefix=_h64(b" ".join(tokens[:_PREFIX_TOKENS])),
        simhash=_simhash(tokset),
        area=area,
        area_confidence=confidence,
        reasoning=_reasoning(tokens, tokset, text_bytes, not ascii_only),
        multiple_choice=is_mc,
        enumeration=_enumeration(low, tokset) if n_digits else None,
        n_tokens=n_tokens,
    )
