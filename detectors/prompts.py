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
from zlib import crc32
from typing import Final

from detectors.lexicon import (
    AREA_INDEX,
    AREA_LEXICON,
    AREAS,
    FOREIGN_FUNCTION_WORDS,
    FOREIGN_REASON_PHRASES,
    FOREIGN_REASON_STEMS,
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
    "simhash64",
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
_MARK_BYTES: Final = b"`\"@'/)]:?!\n\xe2\xc20123456789"
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
_WORD_BYTES: Final[set[int]] = (
    set(range(ord("a"), ord("z") + 1)) | {ord("_")} | set(range(0x80, 0x100))
)
_WORD_BYTES -= {0xFE, 0xFF}  # segment markers (see _mark_segments), never in UTF-8
_TOKEN_TABLE: Final = bytes(
    c + 32 if ord("A") <= c <= ord("Z") else (c if c in _WORD_BYTES else 0x20)
    for c in range(256)
)
_DIGITS_TO_NUL: Final = bytes(0 if 0x30 <= c <= 0x39 else c | 1 for c in range(256))
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

    ``marks`` is the text as UTF-8: single-byte membership tests on it are a fast way
    to learn which punctuation occurs at all.
    """
    if 0x60 in marks:  # `
        for trigger, pattern in _CODE_RULES:
            if trigger in low:
                low = _sub_collect(pattern, " _code_ ", low, sink)
    if 0x2F in marks:  # /
        for trigger, pattern in _URL_RULES:
            if trigger in low:
                low = _sub_collect(pattern, " _url_ ", low, sink)
    if 0x40 in marks:  # @
        low = _sub_collect(_EMAIL_RE, " _email_ ", low, sink)
    if 0x22 in marks:  # "
        low = _sub_collect(_DQUOTE_RE, " _q_ ", low, sink)
    if 0x27 in marks and " '" in low:  # '  (quotes open after a space)
        low = _sub_collect(_SQUOTE_RE, " _q_ ", low, sink)
    if 0xE2 in marks or 0xC2 in marks:  # lead bytes of curly quotes and guillemets
        for trigger, pattern in _UNICODE_QUOTE_RULES:
            if trigger in low:
                low = _sub_collect(pattern, " _q_ ", low, sink)
    return low


def _words(data: bytes) -> list[bytes]:
    """Split UTF-8 bytes into word tokens."""
    return data.translate(_TOKEN_TABLE).split()


# --- template fingerprint ------------------------------------------------------------------

# Segment boundaries are marked in the text with two bytes that UTF-8 never contains:
# _END closes a segment (line break, ". ", "?", "!", ":"), and _COLON just before it
# records that the segment ended with a colon (its successor is then a slot). Both are
# spaces to the word tokenizer.
_END: Final = 0xFF
_COLON_TAIL: Final = b"\xfe"
_SEG_TABLE: Final = bytes(
    0xFF if c in b"?!\n" else (0xFE if c == ord(":") else c) for c in range(256)
)
_SCAF: Final = _b(SCAFFOLD_WORDS) | _PLACEHOLDERS
_FUNC: Final = _b(FUNCTION_WORDS)
_FRAME_WORDS: Final = _SCAF | _FUNC  # words that are not content
_HEAD_SEGMENTS: Final = 4
_TAIL_SEGMENTS: Final = 2
_FALLBACK_TOKENS: Final = 32
_FRAME_SCAFFOLD: Final = 3  # this many distinct scaffolding words make a segment frame
_LABEL_TOKENS: Final = 4  # a colon-ended segment with this few words is a label
_OPTION_LETTERS: Final = frozenset({b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h"})
_SEGMENT_BYTES: Final = 100  # longer segments are judged on their first ~64 bytes
_LONG_SEGMENT_BYTES: Final = 64
_SKELETON_CACHE: dict[bytes, bytes | None] = {}
_SKELETON_CACHE_MAX: Final = 1 << 14


def _mark_segments(data: bytes) -> bytes:
    """Mark segment boundaries: line breaks, "?", "!", ". " and colons (see _END)."""
    colon = 0x3A in data
    data = data.translate(_SEG_TABLE)
    if colon:
        data = data.replace(b"\xfe", b"\xfe\xff")
    return data.replace(b". ", b" \xff")


def _skeleton(seg: bytes, options: bool) -> bytes | None:
    """Frame skeleton of one marked segment, b"" if it has no words, None if it is slot.

    Called on a ``_SKELETON_CACHE`` miss: short segments (template frames are short
    and recur) are memoised there, unless ``options`` changes the verdict.
    """
    skel = _classify(seg, options)
    if not options and len(seg) <= _SEGMENT_BYTES:
        if len(_SKELETON_CACHE) >= _SKELETON_CACHE_MAX:
            _SKELETON_CACHE.clear()
        _SKELETON_CACHE[seg] = skel
    return skel


def _classify(seg: bytes, options: bool) -> bytes | None:
    """Classify one marked segment as frame (return its skeleton) or slot (None).

    A segment is frame when it is a short label ending in a colon ("Review:"), has
    at least ``_FRAME_SCAFFOLD`` distinct scaffolding words, has no content word, or
    has at least two scaffolding words and no more content words than scaffolding
    words (function words are neutral). When ``options`` says the prompt may list
    lettered options, a segment opening with a lone letter ("b) 42") is slot. The
    skeleton is the sorted set of scaffolding words (order and repetition ignored),
    plus " :" when the segment ended with a colon. A segment longer than
    ``_SEGMENT_BYTES`` is judged by its first ``_LONG_SEGMENT_BYTES`` (to a word
    boundary): frames are short, and a long slot shows itself early.
    """
    colon = seg.endswith(_COLON_TAIL)
    if len(seg) > _SEGMENT_BYTES:
        cut = seg.rfind(b" ", 0, _LONG_SEGMENT_BYTES)
        seg = seg[: cut if cut > 0 else _LONG_SEGMENT_BYTES]
    words = seg.translate(_TOKEN_TABLE).split()
    if not words:
        return b""
    if options and words[0] in _OPTION_LETTERS:
        return None
    scaf = _SCAF.intersection(words)
    label = colon and len(words) <= _LABEL_TOKENS
    if len(scaf) < 2 and not label:
        # Fewer than two scaffolding words: frame only if nothing else is content.
        if not _FRAME_WORDS.issuperset(words):
            return None
    elif len(scaf) < _FRAME_SCAFFOLD and not label:
        if len(set(words).difference(_FRAME_WORDS)) > len(scaf):
            return None
    if colon:
        return b" ".join(sorted(scaf)) + b" :"
    return b" ".join(sorted(scaf)) or b"-"


def _template_key(marked: bytes, tokens: list[bytes], options: bool) -> bytes:
    """Build the bytes that the template fingerprint hashes (see module docstring).

    ``marked`` is the masked text with the markers of ``_mark_segments``.
    """
    n_segs = marked.count(_END) + 1
    head: list[bytes] = []
    forced = False
    h = 0  # index of the segment that stopped the head scan
    cache = _SKELETON_CACHE
    for h, seg in enumerate(marked.split(b"\xff", _HEAD_SEGMENTS)[:_HEAD_SEGMENTS]):
        if forced:
            break
        skel = False if options else cache.get(seg, False)
        if skel is False:
            skel = _skeleton(seg, options)
        if skel is None:
            break
        if skel:
            head.append(skel)
            forced = seg.endswith(_COLON_TAIL)
    else:
        h += 1  # all looked-at segments were frame: the tail may start right after
        if h >= n_segs:
            return b" | ".join(head) + b" || "
    tail: list[bytes] = []
    parts = marked.rsplit(b"\xff", _TAIL_SEGMENTS + 1)
    k = n_segs - 1  # index of the segment parts[-1]
    for back in range(len(parts) - 1, 0, -1):
        if k <= h or parts[back - 1].endswith(_COLON_TAIL):
            break
        seg = parts[back]
        skel = False if options else cache.get(seg, False)
        if skel is False:
            skel = _skeleton(seg, options)
        if skel is None:
            break
        if skel:
            tail.append(skel)
        k -= 1
    if not head and not tail:
        return b"0|" + b" ".join(tokens[:_FALLBACK_TOKENS])
    tail.reverse()
    return b" | ".join(head) + b" || " + b" | ".join(tail)


# --- SimHash ------------------------------------------------------------------------------

# A token's 64 hash bits are "spread" into 64 8-bit fields of one 512-bit int (bit i of
# the hash -> field i). Summing spreads counts, per bit, how many tokens have it set.
_BYTE_SPREAD: Final = tuple(
    int.from_bytes(bytes((b >> k) & 1 for k in range(7, -1, -1)), "big") for b in range(256)
)
_SIM_BITS: Final = 512
_SIM_MASK: Final = (1 << _SIM_BITS) - 1
_ONES8: Final = int.from_bytes(b"\x01" * 64, "big")
_ONES16: Final = int.from_bytes(b"\x00\x01" * 64, "big")
_MAX8: Final = 255  # 8-bit fields hold counts and bias for up to this many features
# c_i + 128 - ceil(n/2) stays in [0, 255] for n <= 255 and has its top bit set exactly
# when 2*c_i >= n, i.e. when bit i wins the majority vote.
_BIAS8: Final = tuple((128 - (n + 1) // 2) * _ONES8 for n in range(_MAX8 + 1))
_TOP_BIT_TO_CHAR: Final = bytes(0x31 if b & 0x80 else 0x30 for b in range(256))


def _spread(token: bytes) -> int:
    """Spread a token's 64 hash bits into 64 8-bit fields of one int (bit i -> field i)."""
    spread = 0
    for byte in blake2b(token, digest_size=8).digest():
        spread = (spread << 64) | _BYTE_SPREAD[byte]
    return spread


def _majority_bits(counts: int, n: int) -> int:
    """Pack the SimHash from 64 8-bit per-bit counts over ``n`` <= 255 features."""
    return int((counts + _BIAS8[n]).to_bytes(64, "big").translate(_TOP_BIT_TO_CHAR), 2)


def _wide_simhash(vectors: list[int]) -> int:
    """SimHash for more than 255 features: add the 8-bit counts in chunks widened to 16."""
    wide = 0
    buf = bytearray(128)
    for start in range(0, len(vectors), _MAX8):
        buf[1::2] = (sum(vectors[start : start + _MAX8]) & _SIM_MASK).to_bytes(64, "big")
        wide += int.from_bytes(buf, "big")
    wide += ((1 << 15) - (len(vectors) + 1) // 2) * _ONES16
    return int(wide.to_bytes(128, "big")[0::2].translate(_TOP_BIT_TO_CHAR), 2)


# --- capability area -----------------------------------------------------------------------

_N_AREAS: Final = len(AREAS)
_SCALE: Final = 10  # area weights are summed as integers in tenths
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

# 8-bit count fields that follow the area fields in a token's vector ("token vectors").
# The first six are the rare words that switch on an area rule (see _area).
(
    _F_CODE,
    _F_OVERRIDE_VERB,
    _F_LIMIT,
    _F_DEVELOPER,
    _F_TOOL_NOUN,
    _F_FOREIGN_WORD,
    _F_OVERRIDE_OBJECT,
    _F_NEGATOR,
    _F_MODE,
    _F_TOOL_VERB,
    _F_R_VERB,
    _F_R_CORE,
    _F_R_STRONG,
    _F_R_SOFT,
    _F_R_SOFT_LOW,
    _F_R_POSSESSIVE,
    _F_R_ADVERB,
    _F_R_THROUGH_VERB,
    _F_R_THROUGH,
    _F_R_BREAK,
    _F_R_DOWN,
    _F_R_ANSWERING,
    _F_R_ANSWER,
) = range(_N_AREAS, _N_AREAS + 23)
_N_FIELDS: Final = _N_AREAS + 23
_TRIGGER_SLICE: Final = slice(2 * _N_AREAS, 2 * _N_AREAS + 6)  # bytes of the six above
_NO_TRIGGER: Final = bytes(6)


def _area(
    fields: tuple[int, ...], upper: bytes, data: bytes, n_chars: int, n_digits: int
) -> tuple[int, float]:
    """Pick the dominant area from summed token fields; return (index or -1, confidence).

    ``upper`` holds the summed fields as bytes (for a quick look at the rule words);
    ``n_chars`` is the length of the analysed text in characters (for script shares).
    """
    scores = list(fields[:_N_AREAS])
    foreign = 0
    if upper[_TRIGGER_SLICE] != _NO_TRIGGER:
        if fields[_F_CODE]:
            scores[_CODING] += 30
        if fields[_F_OVERRIDE_VERB] and fields[_F_OVERRIDE_OBJECT]:
            scores[_SAFETY] += 30
        if fields[_F_LIMIT] and fields[_F_NEGATOR]:
            scores[_SAFETY] += 15
        if fields[_F_DEVELOPER] and fields[_F_MODE]:
            scores[_SAFETY] += 20
        if fields[_F_TOOL_NOUN] and fields[_F_TOOL_VERB]:
            scores[_TOOL] += 15
        foreign = fields[_F_FOREIGN_WORD]
    if n_digits >= 3:
        scores[_MATH] += min(n_digits, 12)
    if len(data) != n_chars:  # some non-ASCII text
        n_script = len(data) - len(data.translate(None, _NOT_SCRIPT_LEADS))
        if n_script:
            share = n_script / max(1, n_chars - data.count(0x20))
            scores[_MULTI] += 10 + round(80 * min(share, 1.0))
        foreign += (data.count(0xC3) + data.count(0xC4) + data.count(0xC5)) // 3
    if foreign >= 2:
        scores[_MULTI] += 8 * min(foreign, 10)
    top = max(scores)
    if top < _AREA_MIN:
        return -1, 0.0
    return scores.index(top), (top / sum(scores)) * (top / (top + _CONFIDENCE_SATURATION))


# --- reasoning cue -------------------------------------------------------------------------

# Word lists (see lexicon.py). Verb x object cues are judged on co-occurrence in the
# prompt (counts from the token vectors); only the special words below need their
# neighbours ("step by step", "think carefully", "reason through").
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
_SOFT_OBJECTS: Final = _b(REASON_SOFT_OBJECTS) | {
    b"explanation",
    b"explanations",
    b"proof",
}
_SOFT_LOW: Final = frozenset({b"steps", b"work", b"process"})
_BREAK_VERBS: Final = frozenset({b"break", b"breaking", b"lay", b"laying"})
_ADVERBS: Final = _b(REASON_ADVERBS)
_THINK_ALL: Final = _b(THINK_FOLLOWERS)
_THINK_STRONG: Final = _THINK_ALL - {b"about", b"first", b"out"}
_PROCESS_NOUNS: Final = frozenset({b"process", b"trace", b"traces", b"steps", b"chain", b"path"})
_REASON_AFTER: Final = frozenset(
    {b"through", b"about", b"carefully", b"step", b"out", b"it", b"logically", b"before",
     b"this", b"things", b"deeply", b"thoroughly"}
)
_NOT_VERB_REASON: Final = frozenset({b"the", b"a", b"this", b"that", b"main", b"no", b"one"})
_ANSWER_WORDS: Final = frozenset(
    {b"answering", b"responding", b"replying", b"answer", b"respond", b"reply", b"giving",
     b"concluding"}
)
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


def _next_words(spaced: bytes, word: bytes) -> list[tuple[bytes, bytes]]:
    """(previous token, next token) around the first two uses of ``word``.

    ``spaced`` is the token text with a space between tokens and at both ends, so
    that b" word " finds whole tokens only.
    """
    needle = b" " + word + b" "
    out = []
    i = spaced.find(needle)
    while i >= 0 and len(out) < 2:
        end = i + len(needle)
        nxt = spaced[end : end + 24].split(None, 1)
        prev = spaced[max(0, i - 24) : i].rsplit(None, 1)
        out.append((prev[-1] if prev else b"", nxt[0] if nxt else b""))
        i = spaced.find(needle, end - 1)
    return out


def _special_cue(word: bytes, spaced: bytes, f: tuple[int, ...]) -> tuple[str, float]:
    """Cue kind and weight of one special reasoning word (0.0 if it is not a cue)."""
    if word == b"step":
        if spaced.find(b" step by step") >= 0:
            return "sbs", 0.9
        if spaced.find(b" one step at a time ") >= 0:
            return "sbs", 0.85
        return ("each_step", 0.5) if f[_F_R_POSSESSIVE] else ("", 0.0)
    if word == b"steps":
        return ("each_step", 0.55) if f[_F_R_POSSESSIVE] else ("", 0.0)
    if word == b"stepwise":
        return "sbs", 0.75
    if word == b"chain":
        if spaced.find(b" chain of thought") >= 0 or spaced.find(b" chain of reasoning") >= 0:
            return "cot", 0.9
        return "", 0.0
    if word == b"cot":
        return "cot", 0.5
    if word in (b"think", b"thinking"):
        best = 0.0
        for _, nxt in _next_words(spaced, word):
            if nxt in _THINK_STRONG:
                best = 0.7
            elif word == b"thinking" and nxt in _PROCESS_NOUNS:
                return "process", 0.8
            elif nxt in _THINK_ALL:
                best = max(best, 0.4)
        if word == b"think" and spaced.find(b" let s think ") >= 0:
            best = 0.7
        return "think", best
    if word in (b"thought", b"reasoning"):
        for _, nxt in _next_words(spaced, word):
            if nxt in _PROCESS_NOUNS:
                return "process", 0.8
        return ("verb_object", 0.6) if f[_F_R_POSSESSIVE] else ("", 0.0)
    if word == b"reason":
        for prev, nxt in _next_words(spaced, word):
            if nxt in _REASON_AFTER and prev not in _NOT_VERB_REASON:
                return "reason", 0.7
        return "", 0.0
    if word == b"before":
        return ("before", 0.45) if f[_F_R_ANSWERING] else ("", 0.0)
    if word == b"final":
        return ("final", 0.25) if f[_F_R_ANSWER] else ("", 0.0)
    return "noun", _NOUN_CUES.get(word, 0.0)


def _key_phrases(phrases: tuple[str, ...]) -> dict[bytes, tuple[bytes, ...]]:
    """Index phrases by their longest token, so that only phrases whose key token
    occurs in a prompt are searched for."""
    keyed: dict[bytes, list[bytes]] = {}
    for phrase in phrases:
        data = phrase.encode()
        spaced = _CJK_CHAR_RE.sub(rb" \g<0> ", data)
        key = max(spaced.translate(_TOKEN_TABLE).split(), key=len)
        keyed.setdefault(key, []).append(data)
    return {k: tuple(v) for k, v in keyed.items()}


_FOREIGN_KEYED: Final = _key_phrases(FOREIGN_REASON_PHRASES)
_FOREIGN_KEYS: Final = frozenset(_FOREIGN_KEYED)
_FOREIGN_STEMS: Final = tuple(p.encode() for p in FOREIGN_REASON_STEMS)




def _reasoning(
    words: bytes, upper: bytes, f: tuple[int, ...], text: bytes, foreign: bool
) -> float:
    """Combine reasoning-elicitation cues into a [0, 1] strength (noisy-or of cue kinds).

    ``words`` is the token text (tokens separated by whitespace); ``upper`` the summed
    token vectors as bytes and ``f`` their unpacked counts, which say which cue words
    occur. ``text`` is the lower-cased prompt as UTF-8, searched for the non-English
    phrases whose key token occurs, and for stems when ``foreign`` is true.
    """
    cues: dict[str, float] = {}
    if f[_F_R_VERB]:
        core = f[_F_R_CORE]
        if f[_F_R_STRONG]:  # "explain your reasoning", "lay out the derivation"
            cues["verb_object"] = 0.75 if core else 0.65
        elif f[_F_R_SOFT] and f[_F_R_POSSESSIVE]:  # "show your work", "justify each step"
            cues["verb_object"] = 0.55 if core else 0.45
        elif core and f[_F_R_SOFT_LOW]:  # "explain the steps" (a procedure, weak)
            cues["verb_object"] = 0.25
        if f[_F_R_BREAK] and f[_F_R_DOWN]:  # "break it down", "lay out"
            cues["break_down"] = 0.5
    if f[_F_R_THROUGH_VERB] and f[_F_R_THROUGH]:  # "walk me through", "talk us through"
        cues["through"] = 0.6
    special = upper[_SPECIAL_SLICE]
    if special != _NO_SPECIAL:
        spaced = b" " + words + b" "
        for word in _decode(int.from_bytes(special, "little"), _SPECIAL_WORDS):
            kind, weight = _special_cue(word, spaced, f)
            if weight > cues.get(kind, 0.0):
                cues[kind] = weight
    foreign_keys = upper[_FOREIGN_SLICE]
    if foreign_keys != _NO_FOREIGN:
        for key in _decode(int.from_bytes(foreign_keys, "little"), _FOREIGN_KEY_WORDS):
            if any(text.find(phrase) >= 0 for phrase in _FOREIGN_KEYED[key]):
                cues["foreign"] = 0.85
                break
    if foreign and any(text.find(stem) >= 0 for stem in _FOREIGN_STEMS):
        cues["foreign"] = 0.85
    cues.pop("", None)
    if not cues:
        return 0.0
    if f[_F_R_ADVERB]:  # "carefully", "rigorously": only together with another cue
        cues["adverb"] = 0.2
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


def _may_have_options(data: bytes) -> bool:
    """Cheap test: could the prompt list lettered options ("B)", "(b)", "\nB.")?"""
    if 0x29 in data and (data.find(b"B)") >= 0 or data.find(b"b)") >= 0):  # )
        return True
    if 0x0A not in data:  # newline
        return False
    for line_b in (b"\nB", b"\nb"):
        at = data.find(line_b)
        if at >= 0 and data[at + 2 : at + 3] in (b".", b":", b"]"):
            return True
    return False


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


def _enumeration(low: str, keyword_bits: int) -> int | None:
    """Return the list position a prompt gives itself ("Question 17" -> 17), else None.

    Call only when the prompt has digits and either starts like a list item or has
    one of ``_ENUM_KEYWORDS``; ``keyword_bits`` is the bitmap of those among its
    tokens (see "token vectors").
    """
    head = low[:_ENUM_SPAN]
    m = _ENUM_LEAD_RE.match(head)
    if m:
        return int(m.group(1))
    best: tuple[int, int] | None = None
    for key in _decode(keyword_bits, _ENUM_WORDS):
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

# A frozen dataclass's generated __init__ sets each field through object.__setattr__,
# which costs about a microsecond per event here; analyse_prompt fills the slots through
# their descriptors instead. The result is identical to PromptProfile(...) (tested).
_NEW_PROFILE: Final = PromptProfile.__new__
(
    _SET_TEMPLATE,
    _SET_PREFIX,
    _SET_SIMHASH,
    _SET_AREA,
    _SET_CONFIDENCE,
    _SET_REASONING,
    _SET_MC,
    _SET_ENUMERATION,
    _SET_N_TOKENS,
) = (
    PromptProfile.__dict__[name].__set__
    for name in (
        "template",
        "prefix",
        "simhash",
        "area",
        "area_confidence",
        "reasoning",
        "multiple_choice",
        "enumeration",
        "n_tokens",
    )
)

_PREFIX_TOKENS: Final = 8

# --- token vectors -------------------------------------------------------------------------

# Each distinct token contributes one int: its SimHash spread in the low 512 bits and,
# above them: 16-bit per-area weights; one 8-bit count per rule word list it belongs to;
# and, for the word lists whose members the later stages must name (reasoning triggers,
# foreign phrase keys, enumeration keywords), one bit per member word. Tokens are
# distinct, so those bits never carry: their sum is a bitmap of the words present.
# One sum over the prompt's distinct tokens therefore yields the SimHash bit counts,
# the area scores, every gate, and the trigger words, without any set intersection.
_COUNT_SETS: Final[tuple[tuple[int, frozenset[bytes]], ...]] = (
    (_F_OVERRIDE_VERB, _OVERRIDE_VERBS),
    (_F_OVERRIDE_OBJECT, _OVERRIDE_OBJECTS),
    (_F_LIMIT, _LIMIT_WORDS),
    (_F_NEGATOR, _NEGATORS),
    (_F_TOOL_NOUN, _TOOL_NOUNS),
    (_F_TOOL_VERB, _TOOL_VERBS),
    (_F_FOREIGN_WORD, _FOREIGN_WORDS),
    (_F_DEVELOPER, frozenset({b"developer"})),
    (_F_MODE, frozenset({b"mode"})),
    (_F_CODE, frozenset({b"_code_"})),
    (_F_R_VERB, _VERBS),
    (_F_R_CORE, _CORE_VERBS),
    (_F_R_STRONG, _STRONG_OBJECTS),
    (_F_R_SOFT, _SOFT_OBJECTS),
    (_F_R_SOFT_LOW, _SOFT_LOW),
    (_F_R_POSSESSIVE, _POSSESSIVES),
    (_F_R_ADVERB, _ADVERBS),
    (_F_R_THROUGH_VERB, _THROUGH_VERBS),
    (_F_R_THROUGH, frozenset({b"through"})),
    (_F_R_BREAK, _BREAK_VERBS),
    (_F_R_DOWN, frozenset({b"down", b"out"})),
    (_F_R_ANSWERING, _ANSWER_WORDS),
    (_F_R_ANSWER, frozenset({b"answer"})),
)
_COUNTS_BYTES: Final = 2 * _N_AREAS + (_N_FIELDS - _N_AREAS)
_FIELDS_UNPACK: Final = struct.Struct(f"<{_N_AREAS}H{_N_FIELDS - _N_AREAS}B")
# Bitmap word lists, in bit order, each starting on a byte boundary after the counts.
_SPECIAL_WORDS: Final = tuple(sorted(_SPECIAL))
_FOREIGN_KEY_WORDS: Final = tuple(sorted(_FOREIGN_KEYS))
_ENUM_WORDS: Final = tuple(sorted(_ENUM_KEY_TOKENS))
_BITMAPS: Final = (_SPECIAL_WORDS, _FOREIGN_KEY_WORDS, _ENUM_WORDS)
_BITMAP_SLICES: Final = tuple(
    slice(start, start + (len(words) + 7) // 8)
    for start, words in zip(
        (
            _COUNTS_BYTES + sum((len(w) + 7) // 8 for w in _BITMAPS[:i])
            for i in range(len(_BITMAPS))
        ),
        _BITMAPS,
        strict=True,
    )
)
_SPECIAL_SLICE, _FOREIGN_SLICE, _ENUM_SLICE = _BITMAP_SLICES
_UPPER_BYTES: Final = _ENUM_SLICE.stop
_NO_SPECIAL: Final = bytes(_SPECIAL_SLICE.stop - _SPECIAL_SLICE.start)
_NO_FOREIGN: Final = bytes(_FOREIGN_SLICE.stop - _FOREIGN_SLICE.start)
_NO_ENUM: Final = bytes(_ENUM_SLICE.stop - _ENUM_SLICE.start)
_LEAD_ENUM_CHARS: Final = frozenset("#[(0123456789")


def _build_fields() -> dict[bytes, int]:
    """Token -> the part of its vector above the SimHash bits (see above)."""
    fields: dict[bytes, int] = {}
    for tok, entries in AREA_LEXICON.items():
        key = tok.encode()
        fields[key] = sum(round(w * _SCALE) << (16 * a) for a, w in entries)
    for index, words in _COUNT_SETS:
        for key in words:
            shift = 16 * _N_AREAS + 8 * (index - _N_AREAS)
            fields[key] = fields.get(key, 0) + (1 << shift)
    for bitmap, where in zip(_BITMAPS, _BITMAP_SLICES, strict=True):
        for bit, key in enumerate(bitmap):
            fields[key] = fields.get(key, 0) + (1 << (8 * where.start + bit))
    return fields


_FIELDS: Final = _build_fields()
_FIELD_KEYS: Final = frozenset(_FIELDS)
_SPREAD_CACHE: dict[bytes, int] = {}
_SPREAD_CACHE_MAX: Final = 1 << 16


def _decode(bits: int, words: tuple[bytes, ...]) -> list[bytes]:
    """The words whose bits are set in a bitmap."""
    out = []
    while bits:
        low = bits & -bits
        out.append(words[low.bit_length() - 1])
        bits ^= low
    return out


def _simhash(tokset: set[bytes]) -> int:
    """64-bit SimHash of a token set: one int sum of memoised per-token spreads."""
    n = len(tokset)
    if n == 0:
        return 0
    cache = _SPREAD_CACHE
    try:
        total = sum(map(cache.__getitem__, tokset))
    except KeyError:
        if len(cache) >= _SPREAD_CACHE_MAX:
            cache.clear()
        for tok in tokset:
            if tok not in cache:
                cache[tok] = _spread(tok)
        total = sum(map(cache.__getitem__, tokset))
    if n <= _MAX8:
        return _majority_bits(total, n)
    return _wide_simhash(list(map(cache.__getitem__, tokset)))


def simhash64(text: str) -> int:
    """Return the 64-bit SimHash of a prompt's normalised word tokens (0 if it has none).

    Charikar SimHash over the set of distinct word tokens of ``normalise(text)`` (CJK
    characters count one token each), unweighted. Near duplicates differ in few bits:
    one changed word among ~50 distinct ones moves about 3 bits (90th percentile 6),
    unrelated prompts differ in about 28 of 64. Costs about as much again as
    ``analyse_prompt``, which is why ``PromptProfile.simhash`` is left 0: call this off
    the per-event path (on sampled events, or on the prompts behind an alert).
    """
    data = normalise(text).encode("utf-8", "surrogatepass")
    if not data.isascii():
        data = _CJK_CHAR_RE.sub(rb" \g<0> ", data)
    return _simhash(set(data.translate(_TOKEN_TABLE).split()))


def analyse_prompt(text: str) -> PromptProfile:
    """Analyse the first ``MAX_CHARS`` characters of one prompt into a ``PromptProfile``.

    Never raises on any ``str`` (empty, whitespace only, odd Unicode, lone surrogates).
    """
    low = text[:MAX_CHARS]
    ascii_only = low.isascii()
    if not ascii_only:  # ASCII letters are lower-cased by the byte tables below
        low = low.lower()
    n_chars = len(low)
    data = low.encode("utf-8", "surrogatepass")
    sink: list[str] = []
    masked = _mask(low, data, sink)
    if sink:
        data = masked.encode("utf-8", "surrogatepass")
        n_chars = len(masked)
    text_bytes = data
    if not ascii_only:
        for lead, pairs in _UNICODE_PUNCT:
            if data.find(lead[:2]) >= 0:
                for ch, repl in pairs:
                    if data.find(ch) >= 0:
                        data = data.replace(ch, repl)
        text_bytes = data
        if _CJK_CHAR_RE.search(data):
            data = _CJK_CHAR_RE.sub(rb" \g<0> ", data)
    n_digits = data.translate(_DIGITS_TO_NUL).count(0)
    marked = _mark_segments(data)
    words = marked.translate(_TOKEN_TABLE)
    tokens = words.split()
    n_tokens = len(tokens)
    hits = _FIELD_KEYS.intersection(tokens)
    if sink:  # masked code and quotes still count as area evidence
        extra = _words(" ".join(sink).encode("utf-8", "surrogatepass"))
        n_tokens += len(extra) - len(sink)
        hits = hits | _FIELD_KEYS.intersection(extra)
    upper = sum(map(_FIELDS.__getitem__, hits)).to_bytes(_UPPER_BYTES, "little")
    fields = _FIELDS_UNPACK.unpack_from(upper)
    area, confidence = _area(fields, upper, data, n_chars, n_digits)
    options = _may_have_options(data)
    is_mc, n_opts = _multiple_choice(low.lower()) if options else (False, 0)
    key = _template_key(marked, tokens, options)
    if is_mc:
        key += b"|mc%d" % n_opts
    prefix = b" ".join(tokens[:_PREFIX_TOKENS])
    enumeration = None
    if n_digits:
        keywords = upper[_ENUM_SLICE]
        if (
            keywords != _NO_ENUM
            or low[:8].lstrip()[:1] in _LEAD_ENUM_CHARS
            or not ascii_only  # CJK ordinals ("第12题")
        ):
            enumeration = _enumeration(
                low[:_ENUM_SPAN].lower(), int.from_bytes(keywords, "little")
            )
    profile = _NEW_PROFILE(PromptProfile)
    _SET_TEMPLATE(profile, crc32(key) << 32 | crc32(key[::-1]))
    _SET_PREFIX(profile, crc32(prefix) << 32 | crc32(prefix[::-1]))
    _SET_SIMHASH(profile, 0)  # see simhash64()
    _SET_AREA(profile, area)
    _SET_CONFIDENCE(profile, confidence)
    _SET_REASONING(
        profile,
        _reasoning(words, upper, fields, words if ascii_only else text_bytes, not ascii_only),
    )
    _SET_MC(profile, is_mc)
    _SET_ENUMERATION(profile, enumeration)
    _SET_N_TOKENS(profile, n_tokens)
    return profile
