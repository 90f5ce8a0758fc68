"""Gold scorers, one per instruction type, and the penalties every answer shares.

Each scorer takes the ``fields`` that :func:`modeling.simulation.instructions.parse_prompt` read from the prompt
and the completion, and returns partial credit in [0, 1]. :func:`modeling.simulation.instructions.gold_score`
multiplies it by :func:`repetition_factor` and :func:`length_factor`.
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

_DATA_DIR = Path(__file__).parents[1] / "data"
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve")
_STOPWORDS = {"the", "a", "an", "me", "my", "to", "of", "this", "that", "your", "and", "you", "i",
              "it", "is", "be", "with", "on", "in", "at", "for", "again", "please"}


@functools.cache
def vocab() -> dict:
    """Categories, topics, rude sentences and politeness words (``data/vocab.json``)."""
    return json.loads((_DATA_DIR / "vocab.json").read_text())


@functools.cache
def facts() -> dict:
    """``capitals`` (country -> capital) and ``legs`` (animal -> number) (``data/facts.json``)."""
    return json.loads((_DATA_DIR / "facts.json").read_text())


def words(text: str) -> list[str]:
    """Lower-case words and numbers of ``text`` (a leading minus sign is kept on numbers)."""
    return re.findall(r"-?\d+|[a-z']+", text.lower())


def _contains_phrase(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(phrase.lower())}(?![a-z])", text.lower()) is not None


def repetition_factor(text: str) -> float:
    """(distinct word trigrams / word trigrams) squared: 1 for texts under six words."""
    tokens = words(text)
    if len(tokens) < 6:
        return 1.0
    trigrams = list(zip(tokens, tokens[1:], tokens[2:]))
    return (len(set(trigrams)) / len(trigrams)) ** 2


def length_factor(text: str, limit: int) -> float:
    """1 up to ``limit`` words, then ``limit / words``: over-long answers lose credit smoothly."""
    count = len(words(text))
    return 1.0 if count <= limit else limit / count


def word_limit(kind: str, fields: dict) -> int:
    """The most words a good answer of type ``kind`` needs, with generous slack."""
    if kind == "list":
        return 4 * fields["n"] + 6
    if kind == "length":
        return 2 * fields["n"]
    if kind == "polite":
        return 2 * len(words(fields["sentence"])) + 12
    return 20


def _is_sentence_end(text: str) -> bool:
    return text.rstrip()[-1:] in ".!?"


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "oes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def score_list(fields: dict, completion: str) -> float:
    """(0.6·coverage + 0.2·numbered lines + 0.2·right count) · precision.

    coverage: distinct valid items / n (at most 1); precision: distinct valid items / items given.
    Items are read one per line (``1. apple``), a line may also hold comma-separated items.
    """
    allowed = set(vocab()["categories"][fields["category"]]["items"])
    n, lines = fields["n"], [line.strip() for line in completion.strip().splitlines() if line.strip()]
    entries, numbered = [], 0
    for position, line in enumerate(lines, 1):
        match = re.match(r"(\d+)[.)]\s*(.*)", line)
        numbered += bool(match) and int(match[1]) == position
        text = match[2] if match else line
        for part in re.split(r",|\band\b", text):
            item = re.sub(r"^(a|an|the)\s+", "", part.strip(" .!;:").lower())
            if item:
                entries.append(item if item in allowed else _singular(item))
    valid = {item for item in entries if item in allowed}
    if not valid:
        return 0.0
    coverage = min(len(valid), n) / n
    layout = float(numbered == len(lines) == len(entries) == n)
    return (0.6 * coverage + 0.2 * layout + 0.2 * (len(entries) == n)) * len(valid) / len(entries)


def score_arithmetic(fields: dict, completion: str) -> float:
    """0.8·correct + 0.2·short sentence; the last number is the answer.

    The right number earlier in the text earns half; a wrong one earns up to 0.2 for closeness.
    """
    numbers = [int(token) for token in words(completion.lower().replace("negative ", "-"))
               if re.fullmatch(r"-?\d+", token)]
    if not numbers:
        return 0.0
    answer = fields["answer"]
    if numbers[-1] == answer:
        correct = 1.0
    elif answer in numbers:
        correct = 0.5
    else:
        correct = 0.2 * max(0.0, 1 - abs(numbers[-1] - answer) / max(5, abs(answer)))
    short = len(words(completion)) <= 12 and _is_sentence_end(completion)
    return 0.8 * correct + 0.2 * short


def topic_keywords(topic: str) -> set[str]:
    """Words that show a sentence is about ``topic``: from vocab.json, else the topic's own nouns."""
    known = vocab()["topics"].get(topic)
    if known:
        return set(known["keywords"])
    nouns = [w for w in words(topic) if w not in _STOPWORDS]
    return set(nouns) | {_singular(w) for w in nouns}


def score_length(fields: dict, completion: str) -> float:
    """(0.4·on topic + 0.35·within n words + 0.25·one sentence) · min(1, words / 3).

    Going over n words loses the length credit linearly, all of it at 2n.
    """
    tokens, n = words(completion), fields["n"]
    on_topic = bool(topic_keywords(fields["topic"]) & set(tokens))
    within = 1.0 if len(tokens) <= n else max(0.0, 1 - (len(tokens) - n) / n)
    one_sentence = _is_sentence_end(completion) and len(re.findall(r"[.!?]+(?=\s|$)", completion)) == 1
    return (0.4 * on_topic + 0.35 * within + 0.25 * one_sentence) * min(1.0, len(tokens) / 3)


def polite_core(sentence: str) -> str:
    """The request in a rude ``sentence``: insults, urgency and end punctuation removed, lower-cased.

    ``"Clean your room, you lazy slob."`` -> ``"clean your room"``.
    """
    text = sentence.strip().rstrip(".!?")
    for phrase in sorted(vocab()["rude_words"] + vocab()["urgency_words"], key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(phrase)}\b", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+", " ", text).strip(" ,")
    text = re.sub(r",?\s*\byou$", "", text).strip(" ,")
    text = re.sub(r"^and\s+", "", text, flags=re.IGNORECASE)
    return text[:1].lower() + text[1:]


def _content_words(sentence: str) -> set[str]:
    return {w for w in words(polite_core(sentence)) if w not in _STOPWORDS}


def score_polite(fields: dict, completion: str) -> float:
    """(0.45·content kept + 0.35·polite marker + 0.2·no insult); ×0.6 without a marker, ×0.5 with an insult."""
    content = _content_words(fields["sentence"])
    given = set(words(completion))
    kept = len(content & given) / len(content) if content else 1.0
    polite = any(_contains_phrase(completion, m) for m in vocab()["polite_markers"])
    rude = any(_contains_phrase(completion, w) for w in vocab()["rude_words"])
    score = 0.45 * kept + 0.35 * polite + 0.2 * (not rude)
    return score * (1.0 if polite else 0.6) * (0.5 if rude else 1.0)


def _counts_in(text: str) -> list[int]:
    tokens = words(text)
    counts = [int(t) if t.lstrip("-").isdigit() else NUMBER_WORDS.index(t)
              for t in tokens if t.lstrip("-").isdigit() or t in NUMBER_WORDS]
    return counts + [0] * len(re.findall(r"\bno legs\b", text.lower()))


def score_fact(fields: dict, completion: str) -> float:
    """0.75·right answer + 0.25·short sentence; other candidate answers given too cut it to 30 %.

    A wrong answer that names the subject gets 0.1.
    """
    if fields["kind"] == "capital":
        given = {c for c in facts()["capitals"].values() if _contains_phrase(completion, c)}
        right = fields["answer"] in given
        hedged = len(given - {fields["answer"]}) > 0
    else:
        counts = set(_counts_in(completion))
        right, hedged = fields["answer"] in counts, len(counts - {fields["answer"]}) > 0
    if not right:
        return 0.1 * _contains_phrase(completion, fields["subject"])
    short = len(words(completion)) <= 12 and _is_sentence_end(completion)
    return (0.75 + 0.25 * short) * (0.3 if hedged else 1.0)


def score_yesno(fields: dict, completion: str) -> float:
    """1 for exactly ``Yes.``/``No.`` and right; a right answer with extra words loses 0.05 a word (to 0.3)."""
    tokens = words(completion)
    said_yes, said_no = "yes" in tokens, "no" in tokens
    if said_yes == said_no or said_yes != fields["answer"]:
        return 0.0
    if re.fullmatch(r"(yes|no)[.!]?", completion.strip().lower()):
        return 1.0
    return max(0.3, 0.8 - 0.05 * (len(tokens) - 1))


SCORERS = {"list": score_list, "arithmetic": score_arithmetic, "length": score_length,
           "polite": score_polite, "fact": score_fact, "yesno": score_yesno}
