"""Prompts people type: casual chat, power users' work sessions, and CI health checks."""

from __future__ import annotations

import random

from stream.simulate import tasks
from stream.simulate import vocab as v
from stream.simulate.phrasing import REASONING_DEMANDS

_CASUAL: tuple[str, ...] = (
    "what can I cook tonight with {ing1}, {ing2} and {ing3}?",
    "write a birthday message for my {rel} who loves {hobby}",
    "how long should I boil {ing1}?",
    "what's the best way to learn {skill} as an adult?",
    "can you help me write an email to my landlord about {issue}?",
    "explain {concept} like I'm five",
    "plan a {n}-day trip to {city} on a budget",
    "give me a {n}-week workout plan to {goal}",
    "suggest a name for my new {pet}",
    "my {rel} and I keep arguing about {argument}. how do I bring it up calmly?",
    "is it normal for a {pet} to {pet_issue}?",
    "what should I get my {rel} for {occasion}? budget around ${money}",
    "help me reply to this text: '{text}'",
    "summarize the plot of {book} without spoilers",
    "what are some fun things to do in {city} in {month}?",
    "how do I get rid of {pest} in my kitchen",
    "rewrite this to sound more {tone}: '{text}'",
    "is {ing1} healthy to eat every day?",
    "what's the difference between {concept} and {concept2}?",
    "I have a job interview for a {job} role tomorrow. what questions should I prepare for?",
    "tips for sleeping better when {sleep_issue}",
    "write a short poem about {hobby} for my {rel}",
    "what movie should I watch tonight if I liked {movie}?",
    "how much should I tip in {city}?",
    "can you make a grocery list for {n} dinners, vegetarian",
    "why does my {device} keep {device_issue}?",
    "translate '{phrase}' to {lang}",
    "give me {n} ideas for a {occasion} party",
    "how do I politely say no to {request}?",
    "what's a good {n}-minute morning routine?",
)  # fmt: skip
_SLOTS: dict[str, tuple[str, ...]] = {
    "issue": ("a broken heater", "a leaking faucet", "mold in the bathroom", "noise upstairs",
              "the rent increase", "getting my deposit back"),
    "goal": ("lose weight", "run a 5k", "build muscle", "improve flexibility", "get stronger"),
    "pet": ("cat", "puppy", "goldfish", "rabbit", "parrot", "hamster"),
    "pet_issue": ("sleep all day", "eat grass", "sneeze a lot", "hide under the bed"),
    "argument": ("chores", "money", "screen time", "holiday plans", "the thermostat"),
    "occasion": ("Christmas", "our anniversary", "graduation", "a housewarming", "Diwali",
                 "a baby shower", "retirement"),
    "text": ("hey are we still on for saturday?", "sorry I missed your call, crazy week",
             "can you cover my shift on friday?", "we need to talk about the trip"),
    "book": ("Dune", "Pride and Prejudice", "The Three-Body Problem", "Beloved", "Normal People",
             "One Hundred Years of Solitude", "Project Hail Mary"),
    "pest": ("fruit flies", "ants", "mice", "cockroaches"),
    "job": ("marketing", "nursing", "data analyst", "barista", "sales", "teaching"),
    "sleep_issue": ("it's hot", "I work night shifts", "my partner snores", "I'm stressed"),
    "movie": ("Inception", "Amelie", "Parasite", "Spirited Away", "The Godfather", "Barbie"),
    "device": ("laptop", "phone", "router", "printer", "smart TV"),
    "device_issue": ("overheating", "disconnecting from wifi", "freezing", "losing battery"),
    "phrase": ("where is the train station", "I'm allergic to nuts", "thank you so much",
               "how much does this cost"),
    "request": ("a wedding invitation", "extra work", "lending money", "a second date"),
}  # fmt: skip
_FOLLOWUPS: tuple[str, ...] = (
    "thanks!", "can you make it shorter?", "more formal please", "what about {x}?",
    "ok and how long does that take?", "translate that to {lang}", "try again",
    "give me 3 more options", "can you explain the second point?", "make it funnier",
    "that's not quite right, {x} isn't available", "perfect, thank you",
    "what if I don't have {x}?", "shorter please", "can you put that in a table?",
    "hmm, any cheaper option?", "and for {n} people?", "why?", "lol ok. what else?",
    "can you add more detail to the last part?", "is that safe?", "in simple words please",
)  # fmt: skip


def _style_casual(r: random.Random, text: str) -> str:
    x = r.random()
    if x < 0.35:
        text = text.lower()
    elif x < 0.5:
        text = text[:1].upper() + text[1:]
    if r.random() < 0.3:
        text = text.rstrip("?.!")
    if r.random() < 0.05 and len(text) > 20:
        i = r.randrange(5, len(text) - 5)
        text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]  # a typo: swapped letters
    return text


def _fill_casual(r: random.Random, template: str) -> str:
    ings = r.sample(v.INGREDIENTS, 3)
    concepts = r.sample(v.EVERYDAY_CONCEPTS, 2)
    slots = {k: r.choice(opts) for k, opts in _SLOTS.items() if "{" + k + "}" in template}
    return template.format(
        ing1=ings[0],
        ing2=ings[1],
        ing3=ings[2],
        rel=r.choice(v.RELATIONS),
        hobby=r.choice(v.HOBBIES),
        skill=r.choice(v.SKILLS),
        concept=concepts[0],
        concept2=concepts[1],
        n=r.randint(2, 10),
        city=r.choice(v.CITIES),
        month=r.choice(v.MONTHS),
        money=r.choice((20, 30, 50, 75, 100, 200)),
        tone=r.choice(v.ADJ_TONES),
        lang=r.choice(v.LANGUAGES),
        **slots,
    )


def casual_opening(r: random.Random) -> str:
    """Return the first message of a casual chat session."""
    x = r.random()
    if x < 0.1:
        # homework and curiosity questions from the broad taxonomy
        domain = r.choice(("math", "science", "humanities", "economics", "multilingual"))
        return _style_casual(r, tasks.task_in(r, domain))
    if x < 0.14:
        return _style_casual(r, "explain " + r.choice(tasks.glossary()))
    return _style_casual(r, _fill_casual(r, r.choice(_CASUAL)))


def casual_followup(r: random.Random) -> str:
    """Return a short follow-up message inside a casual session."""
    text = r.choice(_FOLLOWUPS).format(
        x=r.choice(v.INGREDIENTS), lang=r.choice(v.LANGUAGES), n=r.randint(2, 8)
    )
    return _style_casual(r, text)


_PROJECTS: tuple[str, ...] = (
    "a Django app", "my thesis", "a data pipeline at work", "an iOS app", "a Kaggle competition",
    "a home lab Kubernetes cluster", "a grant proposal", "my startup's pitch deck",
    "a physics problem set", "a novel", "a trading bot", "a React dashboard", "a compiler course",
)  # fmt: skip
_POWER_FOLLOWUPS: tuple[str, ...] = (
    "That throws {err} on line {n}. Here's the traceback: {err}: {detail}",
    "Can you optimize it? It's too slow for {n} million rows.",
    "Why does step {n} hold?", "Can you add tests for the edge cases?",
    "Rewrite it in {lang}.", "What's the time complexity?",
    "Ok, now make it handle the empty case.", "Can you explain that more rigorously?",
    "Give me a counterexample where that fails.", "Now write the docstring.",
    "Compare that with the approach using {alt}.", "Make it more concise.",
    "That's wrong: the answer should be {n}. Where's the mistake?",
    "Turn this into a table with pros and cons.", "Continue.",
)  # fmt: skip
_ERRS: tuple[str, ...] = (
    "KeyError",
    "TypeError",
    "a segfault",
    "NullPointerException",
    "ValueError",
    "a borrow checker error",
    "IndexError",
)


def power_prompt(r: random.Random, interests: tuple[str, ...]) -> str:
    """Return the first message of a power user's work session on one of ``interests``."""
    domain = r.choice(interests)
    text = tasks.vary(r, tasks.task_in(r, domain), 0.25)
    x = r.random()
    if x < 0.2:
        text = f"I'm working on {r.choice(_PROJECTS)}. {text}"
    elif x < 0.3:
        text = f"{text} Keep it brief."
    if r.random() < 0.18:
        text = f"{text} {r.choice(REASONING_DEMANDS[:12])}"
    if domain == "coding" and r.random() < 0.3:
        lines = "\n".join(
            f"    {r.choice(('x', 'acc', 'row', 'node'))} = {r.choice(('f', 'g', 'parse'))}"
            f"({r.choice(('x', 'row', 'i'))}, {r.randint(0, 99)})"
            for _ in range(r.randint(3, 40))
        )
        text = f"{text}\n\n```\ndef handler(event):\n{lines}\n    return x\n```"
    return text


def power_followup(r: random.Random) -> str:
    """Return a follow-up inside a power user's session."""
    err = r.choice(_ERRS)
    return r.choice(_POWER_FOLLOWUPS).format(
        err=err,
        n=r.randint(2, 60),
        detail=r.choice(
            (
                "'id'",
                "list index out of range",
                "unsupported operand type(s)",
                "cannot borrow as mutable",
            )
        ),
        lang=r.choice(v.PROG_LANGS),
        alt=r.choice(
            (
                "a heap",
                "recursion",
                "a hash map",
                "dynamic programming",
                "numpy",
                "Lagrange multipliers",
            )
        ),
    )


_CI_PROMPTS: tuple[str, ...] = (
    "ping", "Reply with exactly: OK", "health check", "Say hello.",
    'Return the JSON {"status": "ok"} and nothing else.',
    "What is 2+2? Answer with a number only.",
    "integration-test: summarize 'The quick brown fox jumps over the lazy dog.' in 5 words",
    "Respond with the word 'pong'.", "test", "Classify the sentiment of 'I love it': positive or"
    " negative?", "Extract the year from: 'Founded in 1998 in Menlo Park.'",
    "smoke test - reply with 1", "Translate 'hello world' to French.",
)  # fmt: skip


def ci_suite(r: random.Random) -> tuple[str, ...]:
    """Return the fixed prompts a CI loop sends on every tick (one to three)."""
    return tuple(r.sample(_CI_PROMPTS, r.choice((1, 1, 1, 2, 3))))


def ci_prompt(base: str, run: int, stamped: bool) -> str:
    """Return a CI prompt for tick ``run``; ``stamped`` suites prefix a build number."""
    return f"[build {run}] {base}" if stamped else base
