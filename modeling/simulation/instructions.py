"""Instruction types whose answers a program can judge: the gold standard for simulated labelers.

Six types, each with one prompt template (the web app's demo data uses the same ones):

=========== =====================================================================
list        ``List {n} {category}.``
arithmetic  ``What is {a} plus|minus|times {b}?``
length      ``Write a sentence about {topic} in at most {n} words.``
polite      ``Rewrite politely: {rude sentence}``
fact        ``What is the capital of {country}?`` / ``How many legs does a {animal} have?``
yesno       ``Answer with yes or no: is a {item} a {category singular}?``
=========== =====================================================================

``a`` becomes ``an`` before a vowel when prompts are generated; both are parsed. Facts come from
``data/facts.json``; categories, topics and rude sentences from ``data/vocab.json``.
:func:`gold_score` gives partial credit in [0, 1] and penalises empty, repetitive or over-long
answers; :func:`reference_response` writes a good answer in one of several phrasings.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

from modeling.simulation import instruction_scoring as scoring
from modeling.simulation.instruction_scoring import facts, vocab

INSTRUCTION_TYPES = ("list", "arithmetic", "length", "polite", "fact", "yesno")
_COUNTABLE = ("fruits", "vegetables", "animals", "musical instruments", "tools")
_OPERATIONS = {"plus": lambda a, b: a + b, "minus": lambda a, b: a - b, "times": lambda a, b: a * b}

_PATTERNS = {
    "list": re.compile(r"List (\d+) ([a-z ]+)\."),
    "arithmetic": re.compile(r"What is (\d+) (plus|minus|times) (\d+)\?"),
    "length": re.compile(r"Write a sentence about (.+) in at most (\d+) words\."),
    "polite": re.compile(r"Rewrite politely: (.+)", re.DOTALL),
    "capital": re.compile(r"What is the capital of (.+)\?"),
    "legs": re.compile(r"How many legs does an? ([a-z ]+) have\?"),
    "yesno": re.compile(r"Answer with yes or no: is an? ([a-z ]+) an? ([a-z ]+)\?"),
}


@dataclass(frozen=True)
class Instruction:
    """A parsed prompt: its ``type`` (one of INSTRUCTION_TYPES) and the values in its template."""

    type: str
    fields: dict


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _category_of_singular(singular: str) -> str | None:
    for name, category in vocab()["categories"].items():
        if category["singular"] == singular:
            return name
    return None


def parse_prompt(prompt: str) -> Instruction | None:
    """The instruction ``prompt`` states, or None if it fits no template or names unknown things."""
    text = prompt.strip()
    categories, capitals, legs = vocab()["categories"], facts()["capitals"], facts()["legs"]
    if m := _PATTERNS["list"].fullmatch(text):
        if m[2] in categories and int(m[1]) >= 1:
            return Instruction("list", {"n": int(m[1]), "category": m[2]})
    elif m := _PATTERNS["capital"].fullmatch(text):
        if m[1] in capitals:
            return Instruction("fact", {"kind": "capital", "subject": m[1], "answer": capitals[m[1]]})
    elif m := _PATTERNS["arithmetic"].fullmatch(text):
        a, b = int(m[1]), int(m[3])
        return Instruction("arithmetic", {"a": a, "op": m[2], "b": b, "answer": _OPERATIONS[m[2]](a, b)})
    elif m := _PATTERNS["length"].fullmatch(text):
        return Instruction("length", {"topic": m[1], "n": int(m[2])})
    elif m := _PATTERNS["polite"].fullmatch(text):
        return Instruction("polite", {"sentence": m[1].strip()})
    elif m := _PATTERNS["legs"].fullmatch(text):
        if m[1] in legs:
            return Instruction("fact", {"kind": "legs", "subject": m[1], "answer": legs[m[1]]})
    elif m := _PATTERNS["yesno"].fullmatch(text):
        category = _category_of_singular(m[2])
        known = {item for c in categories.values() for item in c["items"]}
        if category is not None and m[1] in known:
            return Instruction("yesno", {"item": m[1], "category": category,
                                         "answer": m[1] in categories[category]["items"]})
    return None


def instruction_type(prompt: str) -> str | None:
    """The type of ``prompt`` (one of INSTRUCTION_TYPES), or None if no gold scorer can judge it."""
    instruction = parse_prompt(prompt)
    return instruction.type if instruction else None


def gold_score(prompt: str, completion: str) -> float:
    """How good ``completion`` is as an answer to ``prompt``, in [0, 1] (1: a perfect answer).

    Empty answers score 0; repeated word trigrams and answers longer than the type allows are
    penalised multiplicatively. Raises ValueError for a prompt :func:`parse_prompt` cannot read.
    """
    instruction = parse_prompt(prompt)
    if instruction is None:
        raise ValueError(f"no gold scorer for prompt {prompt!r}")
    if not completion.strip():
        return 0.0
    score = scoring.SCORERS[instruction.type](instruction.fields, completion)
    score *= scoring.repetition_factor(completion)
    score *= scoring.length_factor(completion, scoring.word_limit(instruction.type, instruction.fields))
    return float(min(1.0, max(0.0, score)))


def generate_prompt(kind: str, rng: random.Random) -> str:
    """One prompt of instruction type ``kind``, its values drawn from ``rng``."""
    categories = vocab()["categories"]
    if kind == "list":
        return f"List {rng.randint(2, 6)} {rng.choice(sorted(categories))}."
    if kind == "arithmetic":
        op = rng.choice(sorted(_OPERATIONS))
        top = 12 if op == "times" else 99
        return f"What is {rng.randint(0, top)} {op} {rng.randint(0, top)}?"
    if kind == "length":
        return f"Write a sentence about {rng.choice(sorted(vocab()['topics']))} in at most {rng.randint(5, 12)} words."
    if kind == "polite":
        return f"Rewrite politely: {rng.choice(vocab()['rude_sentences'])}"
    if kind == "fact":
        if rng.random() < 0.5:
            return f"What is the capital of {rng.choice(sorted(facts()['capitals']))}?"
        animal = rng.choice(sorted(facts()["legs"]))
        return f"How many legs does {_article(animal)} {animal} have?"
    if kind == "yesno":
        category = rng.choice(sorted(categories))
        same = category in _COUNTABLE and rng.random() < 0.5
        source = category if same else rng.choice([c for c in _COUNTABLE if c != category])
        item = rng.choice(categories[source]["items"])
        singular = categories[category]["singular"]
        return f"Answer with yes or no: is {_article(item)} {item} {_article(singular)} {singular}?"
    raise ValueError(f"unknown instruction type {kind!r}")


def generate_prompts(n: int, seed: int) -> list[str]:
    """``n`` prompts cycling through INSTRUCTION_TYPES in order; the same ``seed`` gives the same list."""
    rng = random.Random(seed)
    return [generate_prompt(INSTRUCTION_TYPES[i % len(INSTRUCTION_TYPES)], rng) for i in range(n)]


_ARITHMETIC_PHRASINGS = ("{a} {op} {b} is {c}.", "{a} {op} {b} equals {c}.", "The answer is {c}.",
                         "{a} {op} {b} is {c}.", "It is {c}.")
_CAPITAL_PHRASINGS = ("The capital of {s} is {c}.", "{c} is the capital of {s}.", "It is {c}.",
                      "The capital of {s} is {c}.", "{c}.")
_LEGS_PHRASINGS = ("{A} {s} has {c} legs.", "{A} {s} has {c} legs.", "It has {c} legs.", "{C} legs.")
_NO_LEGS_PHRASINGS = ("{A} {s} has no legs.", "It has no legs.", "{A} {s} has zero legs.")
_POLITE_PHRASINGS = ("Could you please {core}?", "Please {core}. Thank you.", "Would you please {core}?",
                     "Could you {core}, please? Thank you!", "Please {core} when you have a moment.",
                     "I would appreciate it if you could {core}. Thank you.", "Would you kindly {core}?")


def reference_response(prompt: str, rng: random.Random) -> str:
    """A good answer to ``prompt`` (gold score near 1) in one of several phrasings chosen by ``rng``.

    Raises ValueError for a prompt :func:`parse_prompt` cannot read.
    """
    instruction = parse_prompt(prompt)
    if instruction is None:
        raise ValueError(f"no reference answer for prompt {prompt!r}")
    f = instruction.fields
    if instruction.type == "list":
        items = rng.sample(vocab()["categories"][f["category"]]["items"], f["n"])
        capitalise = f["category"] == "countries" or rng.random() < 0.3
        return "\n".join(f"{i}. {item.title() if capitalise else item}" for i, item in enumerate(items, 1))
    if instruction.type == "arithmetic":
        return rng.choice(_ARITHMETIC_PHRASINGS).format(a=f["a"], op=f["op"], b=f["b"], c=f["answer"])
    if instruction.type == "length":
        topic = vocab()["topics"].get(f["topic"])
        fitting = [s for s in (topic or {}).get("sentences", []) if len(s.split()) <= f["n"]]
        return rng.choice(fitting) if fitting else f"I like {f['topic']}."
    if instruction.type == "polite":
        return rng.choice(_POLITE_PHRASINGS).format(core=scoring.polite_core(f["sentence"]))
    if instruction.type == "fact" and f["kind"] == "capital":
        return rng.choice(_CAPITAL_PHRASINGS).format(s=f["subject"], c=f["answer"])
    if instruction.type == "fact":
        phrasings = _NO_LEGS_PHRASINGS if f["answer"] == 0 else _LEGS_PHRASINGS
        count = str(f["answer"]) if rng.random() < 0.6 else scoring.NUMBER_WORDS[f["answer"]]
        article = _article(f["subject"])
        return rng.choice(phrasings).format(A=article.capitalize(), s=f["subject"], c=count,
                                            C=count.capitalize())
    return "Yes." if f["answer"] else "No."
