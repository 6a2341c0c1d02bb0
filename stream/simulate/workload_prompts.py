"""Prompts of machine workloads: app templates, batch documents and benchmark items."""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass

from stream.simulate import tasks
from stream.simulate import vocab as v
from stream.simulate.models import approx_tokens

# ------------------------------------------------------------------ app platforms
_SUPPORT_MSGS: tuple[str, ...] = (
    "my {product} won't turn on, I already tried charging it overnight",
    "I was charged twice for order #{num}, please refund one",
    "how do I change the email on my account?",
    "the app keeps logging me out every few minutes",
    "where is my package? tracking number {num} hasn't updated in {n} days",
    "I want to cancel my subscription but can't find the button",
    "can I return the {product} if I opened the box?",
    "my internet has been dropping since {month}, this is unacceptable",
    "do you ship to {city}?", "the discount code SAVE{n} doesn't work",
    "I never received the verification code", "why did my bill go up by ${n} this month?",
)  # fmt: skip


def _support(r: random.Random, company: str) -> str:
    msg = r.choice(_SUPPORT_MSGS).format(
        product=r.choice(v.PRODUCTS),
        num=r.randint(100000, 999999),
        n=r.randint(2, 40),
        month=r.choice(v.MONTHS),
        city=r.choice(v.CITIES),
    )
    return (
        f'Customer message:\n"""\n{msg}\n"""\n\nWrite a reply as a {company} support'
        " agent. Follow the support guidelines. If you cannot resolve it, offer a handoff."
    )


def _recipe(r: random.Random, _: str) -> str:
    ings = ", ".join(r.sample(v.INGREDIENTS, r.randint(2, 6)))
    diet = r.choice(("none", "vegetarian", "gluten-free", "dairy-free", "low-carb", "halal"))
    meal = r.choice(("breakfast", "lunch", "dinner", "snack", "dessert"))
    return (
        f"Suggest a {meal} recipe using: {ings}. Dietary restrictions: {diet}. Servings:"
        f" {r.randint(1, 6)}. Return JSON with title, ingredients, steps, time_minutes."
    )


def _code_review(r: random.Random, company: str) -> str:
    n = r.randint(1, 60)
    lines = "\n".join(
        f"{r.choice('+-+ ')} {r.choice(('if', 'for', 'return', 'let', 'const', 'self.'))}"
        f" {r.choice(('user', 'req', 'cfg', 'items', 'conn', 'resp'))}"
        f"{r.choice(('.id', '[i]', '()', ' == None', '.close()', ' += 1'))}"
        for _ in range(r.randint(4, n + 4))
    )
    repo = company.lower().replace(" ", "-")
    path = r.choice(("src/api/handlers.py", "lib/auth.ts", "cmd/server/main.go", "app/models.rb"))
    return (
        "Review the following pull request diff. List bugs, security issues and style problems"
        f" as bullet points.\n\nRepository: {repo}/{r.choice(('core', 'web', 'infra'))}\n"
        f"File: {path}\n```diff\n{lines}\n```"
    )


_FEATURES: tuple[str, ...] = (
    "waterproof", "lightweight", "long battery life", "recycled materials", "2-year warranty",
    "foldable", "quiet", "fast charging", "ergonomic",
)  # fmt: skip


def _product_copy(r: random.Random, _: str) -> str:
    feats = r.sample(_FEATURES, 3)
    return (
        f"Write a product description (max 80 words) for: {r.choice(v.PRODUCTS)}."
        f" Features: {', '.join(feats)}. Tone: {r.choice(v.ADJ_TONES)}."
    )


_LEARNER: tuple[str, ...] = (
    "Yo soy muy cansado hoy porque trabajé mucho.", "Je suis allé au magasin hier et acheter"
    " du pain.", "Ich habe gestern ins Kino gegangen.", "Watashi wa sushi ga suki desu ga,"
    " wasabi wa kirai.", "Eu gosto de jogar futebol com meu amigos.", "Io sono andato al mare"
    " con la mia famiglia la settimana scorsa.",
)  # fmt: skip


def _tutor(r: random.Random, _: str) -> str:
    return (
        "Correct the following sentence written by a language learner and explain each"
        f" mistake in one line: '{r.choice(_LEARNER)}'"
    )


def _email(r: random.Random, _: str) -> str:
    a, b = r.sample(v.FIRST_NAMES, 2)
    body = r.choice(
        (
            f"Hi {b}, can we move our meeting to {r.choice(v.MONTHS)} {r.randint(1, 28)}?",
            f"Hello {b}, attached is the invoice for {r.choice(v.PRODUCTS)}. Payment is due in"
            f" {r.randint(7, 30)} days.",
            f"{b}, the client is unhappy with the delay. Can you call them today? - {a}",
        )
    )
    return f"Draft a reply to this email. Keep it {r.choice(v.ADJ_TONES)}.\n\nEmail:\n{body}"


def _text_to_sql(r: random.Random, _: str) -> str:
    q = r.choice(
        (
            "total revenue by month for {y}",
            "customers who churned in {y}",
            "the 10 best-selling products last quarter",
            "average order value by country",
            "users who signed up but never ordered",
            "repeat purchase rate in {y}",
        )
    ).format(y=r.randint(2021, 2026))
    return (
        "Schema: orders(id, customer_id, total, created_at), customers(id, name, country,"
        " signup_at), order_items(order_id, product_id, qty, price), products(id, name)."
        f"\nWrite a PostgreSQL query for: {q}. Return only SQL."
    )


def _travel(r: random.Random, _: str) -> str:
    interests = ", ".join(
        r.sample(
            (
                "food",
                "museums",
                "hiking",
                "nightlife",
                "history",
                "beaches",
                "architecture",
                "shopping",
            ),
            2,
        )
    )
    return (
        f"Create a {r.randint(2, 9)}-day itinerary for {r.choice(v.CITIES)} for a traveler"
        f" interested in {interests}. Budget: {r.choice(('low', 'medium', 'high'))}."
        " Use a day-by-day list."
    )


def _ticket_router(r: random.Random, company: str) -> str:
    ticket = _support(r, company).split('"""')[1].strip()
    return (
        "Classify the ticket into exactly one of [billing, technical, account, shipping,"
        f" other]. Reply with the label only.\n\nTicket: {ticket}"
    )


def _homework(r: random.Random, _: str) -> str:
    grade = r.choice(("middle school", "high school", "first-year university"))
    q = tasks.task_in(r, r.choice(("math", "math", "science", "humanities")))
    return (
        f"You are a patient tutor for {grade} students. Explain step by step, but do not just"
        f" give the answer.\n\nStudent question: {q}"
    )


@dataclass(frozen=True, slots=True)
class AppSpec:
    """One product built on the API: its prompt template and its request parameters."""

    name: str
    render: Callable[[random.Random, str], str]
    system_tokens: int
    output_median: int
    max_tokens: int
    temperature: float | None


APPS: tuple[AppSpec, ...] = (
    AppSpec("support_bot", _support, 1400, 160, 1024, 0.3),
    AppSpec("recipe_app", _recipe, 350, 420, 1500, 0.8),
    AppSpec("code_review_bot", _code_review, 900, 380, 2048, 0.2),
    AppSpec("product_copy", _product_copy, 220, 110, 300, 0.9),
    AppSpec("language_tutor", _tutor, 300, 140, 600, 0.4),
    AppSpec("email_assistant", _email, 500, 150, 800, 0.7),
    AppSpec("text_to_sql", _text_to_sql, 1800, 90, 512, 0.0),
    AppSpec("travel_planner", _travel, 400, 700, 2000, 0.9),
    AppSpec("ticket_router", _ticket_router, 600, 2, 8, 0.0),
    AppSpec("homework_tutor", _homework, 700, 450, 1500, 0.5),
)

# ------------------------------------------------------------------ batch documents
_DOC_SENTENCES: dict[str, tuple[str, ...]] = {
    "invoice": (
        "Invoice number INV-{num}.", "Bill to: {name}, {city}.", "Date of issue: {month} {d}.",
        "{qty} x {product} at ${price} each.", "Subtotal: ${total}.", "VAT (20%): ${vat}.",
        "Payment terms: net {d} days.", "Bank: IBAN DE{num}{num}.", "PO reference {num}.",
    ),
    "support_ticket": (
        "Customer {name} reports that the {product} stopped working after {d} days.",
        "They have tried resetting it twice.", "Order {num} was delivered on {month} {d}.",
        "The customer is requesting a replacement.", "Agent note: warranty valid.",
        "Customer tone: frustrated.", "Previous ticket {num} was closed without resolution.",
    ),
    "contract": (
        "This Agreement is made between {name} (the Supplier) and {company} (the Customer).",
        "The term of this Agreement is {d} months from the Effective Date.",
        "Either party may terminate with {d} days' written notice.",
        "The Supplier's liability is limited to fees paid in the preceding {d} months.",
        "This Agreement is governed by the laws of {city}.", "Fees: ${total} per month.",
        "Confidential Information excludes information that is publicly available.",
    ),
    "product_review": (
        "I bought the {product} {d} weeks ago.", "Honestly it exceeded my expectations.",
        "The battery barely lasts a day.", "Customer service replaced it quickly.",
        "For ${price} I expected better build quality.", "Would buy again.",
        "It arrived damaged but works fine.", "Three stars: does the job, nothing more.",
    ),
    "news_article": (
        "{city} officials announced a ${total} million plan on {month} {d}.",
        "Critics say the measure does not go far enough.", "The vote passed {d} to {qty}.",
        "Local businesses expressed cautious optimism.", "{name}, a spokesperson, declined to"
        " comment.", "Analysts expect the changes to take effect next year.",
    ),
    "meeting_transcript": (
        "{name}: Let's start with the Q{qty} numbers.", "{name}: Revenue is up {d} percent.",
        "{name}: We still have the blocker on the {product} launch.",
        "{name}: Can we get legal to review by {month} {d}?", "{name}: Action item for me.",
        "{name}: I'd push back on that timeline.", "{name}: Let's take it offline.",
    ),
    "resume": (
        "{name}, {city}.", "Senior analyst at {company}, {d} years.",
        "Led a team of {qty} to deliver a ${total}k cost reduction.", "Skills: SQL, Python,"
        " Tableau, stakeholder management.", "MSc, University of {city}.",
        "Fluent in English and {lang}.",
    ),
}  # fmt: skip
_BATCH_TASKS: tuple[tuple[str, str, int, int], ...] = (
    # kind, instruction, output median, max_tokens
    ("summarize", "Summarize the following {doc} in 3 bullet points.", 120, 400),
    ("extract", "Extract the key fields from the following {doc} as JSON. Use null for"
     " missing values.", 160, 600),
    ("classify", "Classify the following {doc} into one of the categories in the schema."
     " Reply with the category only.", 3, 16),
    ("translate", "Translate the following {doc} into {lang}. Keep formatting.", 700, 4096),
    ("sentiment", "Rate the sentiment of the following {doc} from 1 (very negative) to 5"
     " (very positive). Reply with the number.", 1, 4),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BatchSpec:
    """What one batch customer runs over its documents: one document type, one task.

    ``corpus`` is pre-filled text of the customer's documents and ``offsets`` the
    sentence starts in it (twice over, so any window fits); a document is a window of
    the corpus with a unique header, which keeps generation cheap.
    """

    doc_type: str
    instruction: str
    output_median: int
    max_tokens: int
    doc_tokens_median: int
    corpus: str
    offsets: tuple[int, ...]


def _doc_sentence(r: random.Random, template: str) -> str:
    qty, price = r.randint(1, 40), r.randint(5, 900)
    return template.format(
        num=r.randint(10000, 99999),
        name=f"{r.choice(v.FIRST_NAMES)} {r.choice(v.LAST_NAMES)}",
        city=r.choice(v.CITIES),
        month=r.choice(v.MONTHS),
        d=r.randint(1, 30),
        qty=qty,
        product=r.choice(v.PRODUCTS),
        price=price,
        total=qty * price,
        vat=qty * price // 5,
        company=r.choice(v.COMPANIES),
        lang=r.choice(v.LANGUAGES),
    )


def batch_spec(r: random.Random) -> BatchSpec:
    """Draw a batch customer's job: document type, task and typical document size."""
    doc = r.choice(tuple(_DOC_SENTENCES))
    _, instr, out, mx = r.choice(_BATCH_TASKS)
    instruction = instr.format(doc=doc.replace("_", " "), lang=r.choice(v.LANGUAGES))
    if "Translate" in instruction:
        out = 0  # output follows the document length
    templates = _DOC_SENTENCES[doc]
    pool = [_doc_sentence(r, r.choice(templates)) for _ in range(400)]
    corpus = " ".join(pool + pool)
    offsets = tuple(itertools.accumulate((len(x) + 1 for x in pool[:-1]), initial=0))
    median = r.choice((600, 1500, 3000, 8000, 20000))
    return BatchSpec(doc, instruction, out, mx, median, corpus, offsets)


def batch_prompt(r: random.Random, spec: BatchSpec) -> tuple[str, int]:
    """Return (prompt text, full input tokens) for one document of ``spec``'s job."""
    doc_tokens = max(80, int(spec.doc_tokens_median * (0.3 + 1.4 * r.random())))
    start = spec.offsets[r.randrange(len(spec.offsets))]
    body = spec.corpus[start : start + min(doc_tokens * 4, 4000)]
    head = _doc_sentence(r, _DOC_SENTENCES[spec.doc_type][0])
    doc_id = f"{r.getrandbits(40):010x}"
    text = f'{spec.instruction}\n\n<document id="{doc_id}">\n{head} {body}\n</document>'
    return text, doc_tokens + approx_tokens(spec.instruction) + 8


# ------------------------------------------------------------------ benchmark harnesses
MMLU_SUBJECTS: tuple[str, ...] = (
    "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge",
    "college_biology", "college_chemistry", "college_computer_science", "college_mathematics",
    "college_medicine", "college_physics", "computer_security", "conceptual_physics",
    "econometrics", "electrical_engineering", "elementary_mathematics", "formal_logic",
    "global_facts", "high_school_biology", "high_school_chemistry",
    "high_school_computer_science", "high_school_european_history", "high_school_geography",
    "high_school_government_and_politics", "high_school_macroeconomics",
    "high_school_mathematics", "high_school_microeconomics", "high_school_physics",
    "high_school_psychology", "high_school_statistics", "high_school_us_history",
    "high_school_world_history", "human_aging", "human_sexuality", "international_law",
    "jurisprudence", "logical_fallacies", "machine_learning", "management", "marketing",
    "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios", "nutrition",
    "philosophy", "prehistory", "professional_accounting", "professional_law",
    "professional_medicine", "professional_psychology", "public_relations",
    "security_studies", "sociology", "us_foreign_policy", "virology", "world_religions",
)  # fmt: skip
_MC_STEMS: tuple[str, ...] = (
    "Which of the following best describes {t1}?",
    "Which of the following is NOT associated with {t1}?",
    "{t1} is most closely related to which of the following?",
    "Which of the following statements about {t1} is correct?",
    "A researcher studying {t1} would most likely observe which of the following?",
    "What is the primary role of {t1}?",
    "Which of the following is an example of {t1}?",
)  # fmt: skip


_SUBJECT_FIELDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("anatomy", "clinical", "medic", "genetics", "nutrition", "virology", "aging", "sexuality"),
     "medicine"),
    (("law", "jurisprudence"), "law"),
    (("computer", "machine_learning", "security", "electrical"), "computing"),
    (("biology", "chemistry", "physics", "astronomy"), "science"),
    (("history", "philosophy", "religions", "prehistory", "moral", "logic"), "humanities"),
)  # fmt: skip


@functools.lru_cache(maxsize=128)
def _subject_terms(subject: str) -> tuple[str, ...]:
    for keys, pool in _SUBJECT_FIELDS:
        if any(k in subject for k in keys):
            return tasks.TERM_POOLS[pool]
    return tasks.TERM_POOLS["society"]


def mc_item(r: random.Random, subject: str, letter_style: str) -> str:
    """Return one MMLU-style multiple-choice item: question, options A-D, 'Answer:'."""
    pretty = subject.replace("_", " ")
    if "math" in subject or "algebra" in subject or "statistics" in subject:
        a, b, m = r.randint(2, 99), r.randint(2, 99), r.choice((5, 7, 11, 13))
        q = f"What is ({a} * {b}) mod {m}?"
        opts = [str(x) for x in r.sample(range(m), 4)]
    else:
        terms = _subject_terms(subject)
        picks = r.sample(terms, 5)
        q = r.choice(_MC_STEMS).format(t1=picks[0])
        q = q[:1].upper() + q[1:]
        opts = picks[1:]
    body = "\n".join(f"{L}{letter_style} {o}" for L, o in zip("ABCD", opts, strict=True))
    return (
        f"The following are multiple choice questions (with answers) about {pretty}.\n\n"
        f"{q}\n{body}\nAnswer:"
    )


_FN_SPECS: tuple[tuple[str, str, str, str], ...] = (
    ("has_close_elements", "numbers: list[float], threshold: float",
     "Check if any two numbers are closer to each other than threshold.", "[1.0, 2.8, 3.0], 0.3"),
    ("separate_paren_groups", "paren_string: str",
     "Split a string of balanced paren groups into separate strings.", "'( ) (( ))'"),
    ("below_zero", "operations: list[int]",
     "Return True if the balance of the account ever falls below zero.", "[1, 2, -4, 5]"),
    ("rolling_max", "numbers: list[int]",
     "Return the list of rolling maximums.", "[1, 2, 3, 2, 3, 4, 2]"),
    ("count_distinct_characters", "string: str",
     "Count distinct characters regardless of case.", "'xyzXYZ'"),
    ("sort_numbers", "numbers: str",
     "Sort space-delimited number words from 'zero' to 'nine'.", "'three one five'"),
    ("largest_divisor", "n: int", "Return the largest divisor of n smaller than n.", "15"),
    ("fib4", "n: int", "Compute the n-th element of the fib4 sequence efficiently.", "6"),
)  # fmt: skip


def code_item(r: random.Random, index: int) -> str:
    """Return one HumanEval-style item: a signature and docstring to complete."""
    name, args, doc, ex = _FN_SPECS[index % len(_FN_SPECS)]
    suffix = f"_{index // len(_FN_SPECS)}" if index >= len(_FN_SPECS) else ""
    return (
        f"Complete the following Python function.\n\n```python\ndef {name}{suffix}({args}):\n"
        f'    """{doc}\n    >>> {name}{suffix}({ex})\n    """\n```'
    )


def gsm_item(r: random.Random) -> str:
    """Return one GSM8K-style item with the usual chain-of-thought cue."""
    return f"Question: {tasks.TAXONOMY['math'][7][1](r)}\nLet's think step by step.\nAnswer:"
