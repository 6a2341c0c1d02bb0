"""Paraphrase banks: reasoning demands and the wrappers each population puts around a task.

Templates use ``str.format`` slots: ``{task}`` (the concrete task), ``{cot}`` (a
reasoning demand), ``{field}`` (a human name of the task's domain), ``{domain}`` and
``{sub}`` (taxonomy keys), ``{role}`` (an expert persona), ``{n}`` (a running number).
"""

from __future__ import annotations

import random

#: Ways of asking for the full chain of thought (attackers use them constantly;
#: benign users and benchmark harnesses use some of them too).
REASONING_DEMANDS: tuple[str, ...] = (
    "Think step by step.",
    "Let's think step by step.",
    "Show your full chain of thought.",
    "Explain every intermediate step.",
    "Reason step by step and show all of your work.",
    "Walk through your reasoning in detail before giving the final answer.",
    "Don't skip any steps.",
    "Write out your complete reasoning process.",
    "Lay out your thought process explicitly, one step at a time.",
    "Think out loud as you work through it.",
    "Show all intermediate calculations and justify each one.",
    "Break the problem into parts and explain each part as you solve it.",
    "First reason carefully and at length, then state the answer.",
    "Provide a rigorous, fully worked derivation.",
    "Include your entire reasoning, not just the conclusion.",
    "Explain your thinking at every stage, including what you ruled out.",
    "Give a detailed step-by-step explanation.",
    "Be explicit about each logical step you take.",
    "Narrate your reasoning as you go, as if teaching a student.",
    "Before answering, write down your reasoning in full.",
    "Please show the complete derivation, step by step.",
    "Describe how you arrive at the answer, step by step.",
    "Make every inference explicit.",
    "Give the reasoning trace first and the final answer last.",
)

ROLES: tuple[str, ...] = (
    "senior software engineer", "mathematics professor", "board-certified physician",
    "practicing attorney", "research scientist", "award-winning novelist", "patient tutor",
    "competitive programmer", "domain expert", "careful analyst", "olympiad coach",
)  # fmt: skip

#: Template families for distillation campaigns; each family has paraphrased wordings.
HARVEST_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("{cot}\n\n{task}", "{cot} {task}", "{cot}\n{task}"),
    ("{task}\n\n{cot}", "{task} {cot}", "{task}\n{cot}"),
    (
        "You are an expert in {field}. {task} {cot}",
        "You are a world-class specialist in {field}. {task}\n\n{cot}",
        "As an expert in {field}: {task} {cot}",
    ),
    (
        "[{domain}/{sub}] {task}\nInstructions: {cot} End with 'Final answer:' and the answer.",
        "[{domain}:{sub}] {task}\nRules: {cot} Finish with 'Final answer:' then the answer.",
        "<{domain}.{sub}> {task}\n{cot} Conclude with 'Final answer: ...'.",
    ),
    (
        "Question: {task}\n\nPlease reason through this carefully. {cot}",
        "Question: {task}\nReason through it carefully. {cot}",
        "Q: {task}\n\nWork through this carefully. {cot}",
    ),
    (
        "Solve the following {field} problem. {cot}\n\nProblem: {task}",
        "Here is a {field} problem. {cot}\n\nProblem statement: {task}",
        "Consider this problem from {field}. {cot}\nProblem: {task}",
    ),
    (
        "### Task\n{task}\n\n### Requirements\n- {cot}\n- State any assumptions.\n"
        "- Give the final answer at the end.",
        "## Task\n{task}\n\n## Requirements\n* {cot}\n* State your assumptions.\n"
        "* Put the final answer last.",
        "### Instruction\n{task}\n### Constraints\n- {cot}\n- List assumptions.\n- Final answer"
        " at the end.",
    ),
    (
        "I need a thorough answer. {task} Walk me through how you'd approach it, what you"
        " considered, and why.",
        "Please answer thoroughly: {task} Explain how you approach it, what you considered and"
        " why.",
        "{task} I want a thorough answer: how you approached it, the options you weighed, and"
        " why you chose what you did.",
    ),
    (
        "Respond to the instruction below. Put your reasoning inside <reasoning> tags and the"
        " answer inside <answer> tags.\n\nInstruction: {task}",
        "Answer the instruction. Write your full reasoning in <think></think> and the final"
        " answer in <answer></answer>.\n\nInstruction: {task}",
        "Instruction: {task}\n\nFormat: <reasoning>complete step-by-step reasoning</reasoning>"
        "<answer>final answer</answer>",
    ),
    (
        "As a {role}, answer the following. {task} {cot}",
        "Acting as a {role}, respond to this: {task} {cot}",
        "You are a {role}. {task}\n{cot}",
    ),
    (
        "{task}\n\nGive three different approaches, reason through each fully, then pick the"
        " best one.",
        "{task}\n\nConsider several approaches, work each one out completely, and compare them.",
        "{task} Propose multiple solution strategies, develop each in full, then choose.",
    ),
    (
        "Provide a detailed, textbook-quality solution with all intermediate steps. {task}",
        "Give a textbook-quality answer with every intermediate step shown. {task}",
        "Write a model solution, as in a good textbook, with all the steps: {task}",
    ),
    (
        "{task}\n\nBefore answering, think out loud: write down every step of your reasoning,"
        " including dead ends.",
        "{task}\n\nThink aloud first. Record each step of your reasoning, including the"
        " approaches that fail.",
        "Think out loud about this, dead ends included, before you answer: {task}",
    ),
    (
        "Item {n}. Domain: {field}. {task} {cot}",
        "#{n} ({field}) {task} {cot}",
        "Sample {n} | {field} | {task} | {cot}",
    ),
)

#: Extra-strong reasoning elicitation used by dedicated reasoning harvesters.
DEEP_REASONING: tuple[str, ...] = (
    "Think out loud and show your complete chain of thought, including false starts,"
    " before answering:",
    "Give me your full internal reasoning, every intermediate step, before the answer:",
    "Reason as long as you need. Write down all of your intermediate thoughts, checks and"
    " corrections. Then answer:",
    "I want to see the whole reasoning process, not a summary. Every step, every check:",
    "Solve this while thinking aloud. Verify each step, backtrack when needed, and show it all:",
    "Produce a long, explicit chain of thought (at least 20 steps) and then the final answer:",
    "Explain your reasoning exhaustively, step by step, double-checking each step:",
)

#: How list-sweeping accounts phrase the current item (``{i}``, ``{total}``, ``{item}``).
SWEEP_STYLES: tuple[tuple[str, ...], ...] = (
    (
        "Topic {i} of {total}: {item}. Write a comprehensive explanation covering definitions,"
        " key results, worked examples and common misconceptions.",
        "Topic {i}/{total}: {item}. Give a complete explanation with definitions, main"
        " results, examples and misconceptions.",
    ),
    (
        "Explain the concept '{item}' in depth.",
        "Explain '{item}' thoroughly, from first principles.",
        "Give an in-depth explanation of {item}.",
    ),
    (
        "Entry {i}: {item}\nWrite an encyclopedic article on this entry with all the essential"
        " details.",
        "Entry {i} - {item}. Write a detailed encyclopedia-style article.",
    ),
    (
        "Problem {i}: {task}\nSolve it completely, showing every step.",
        "Problem #{i}. {task} Show the full solution.",
    ),
)


def fill(template: str, r: random.Random, **slots: object) -> str:
    """Fill ``template``; a ``{cot}`` slot not given in ``slots`` gets a random demand."""
    if "{cot}" in template and "cot" not in slots:
        slots["cot"] = r.choice(REASONING_DEMANDS)
    return template.format(**slots)
