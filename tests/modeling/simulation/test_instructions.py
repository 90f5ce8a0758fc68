"""Gold scorers on hand-picked answers: good ones near 1, each kind of fault clearly lower."""
import random

import pytest

from modeling.simulation.instructions import (
    INSTRUCTION_TYPES, generate_prompts, gold_score, instruction_type, parse_prompt, reference_response,
)

LIST = "List 3 fruits."
PLUS, MINUS, TIMES = "What is 12 plus 7?", "What is 5 minus 30?", "What is 6 times 7?"
LENGTH = "Write a sentence about coffee in at most 6 words."
POLITE = "Rewrite politely: Clean your room, you lazy slob."
CAPITAL, LEGS = "What is the capital of France?", "How many legs does a spider have?"
YES, NO = "Answer with yes or no: is a banana a fruit?", "Answer with yes or no: is a hammer an animal?"

GOOD = [
    (LIST, "1. apple\n2. banana\n3. cherry"),
    (LIST, "1. Apple\n2. Pears\n3. Cherries"),
    (PLUS, "12 plus 7 is 19."),
    (MINUS, "5 minus 30 is -25."),
    (TIMES, "The answer is 42."),
    (LENGTH, "I drink coffee every morning."),
    (POLITE, "Could you please clean your room?"),
    (CAPITAL, "The capital of France is Paris."),
    (LEGS, "A spider has eight legs."),
    (YES, "Yes."),
    (NO, "No."),
]

# (prompt, better answer, worse answer): the scorer must keep this order.
ORDERED = [
    (LIST, "1. apple\n2. banana\n3. cherry", "1. apple\n2. banana"),  # one item short
    (LIST, "1. apple\n2. banana", "1. apple\n2. apple\n3. apple"),  # repeated item
    (LIST, "1. apple\n2. banana\n3. cherry", "1. apple\n2. carrot\n3. cherry"),  # not a fruit
    (LIST, "1. apple\n2. banana\n3. cherry", "apple, banana, cherry"),  # not numbered lines
    (LIST, "1. apple\n2. banana\n3. cherry", "1. apple\n2. banana\n3. cherry\n4. plum\n5. fig"),  # too many
    (PLUS, "12 plus 7 is 19.", "12 plus 7 is 18."),
    (PLUS, "12 plus 7 is 18.", "12 plus 7 is 90."),  # close beats far
    (PLUS, "19.", "The answer, after adding twelve and seven together as you asked, is surely 19."),
    (LENGTH, "Coffee smells great.", "I drink strong black coffee with sugar every single morning."),  # too long
    (LENGTH, "Coffee smells great.", "Trains are fast."),  # off topic
    (LENGTH, "Coffee smells great.", "Coffee. Tea."),  # two sentences
    (POLITE, "Could you please clean your room?", "Clean your room, you lazy slob."),  # unchanged
    (POLITE, "Could you please clean your room?", "Please clean your room, you lazy slob."),  # insult kept
    (POLITE, "Could you please clean your room?", "Could you please help me?"),  # content lost
    (CAPITAL, "The capital of France is Paris.", "The capital of France is Rome."),
    (CAPITAL, "Paris.", "It is Paris or maybe Rome."),  # hedged
    (LEGS, "It has 8 legs.", "A spider has six legs."),
    (YES, "Yes.", "Yes, a banana is a fruit."),
    (YES, "Yes, a banana is a fruit.", "No."),
]

BAD = [
    (LIST, ""), (LIST, "1. car\n2. house\n3. sky"), (PLUS, "I do not know."), (PLUS, "   "),
    (LENGTH, "Trains trains trains trains trains trains trains trains trains trains."),
    (CAPITAL, "Berlin."), (LEGS, "A spider has 4 legs."), (YES, "No."), (NO, "Yes."), (YES, "Yes and no."),
    (TIMES, "42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42"),
]


@pytest.mark.parametrize("prompt, completion", GOOD)
def test_good_answers_score_near_one(prompt, completion):
    assert gold_score(prompt, completion) >= 0.95


@pytest.mark.parametrize("prompt, better, worse", ORDERED)
def test_faults_lower_the_score(prompt, better, worse):
    assert gold_score(prompt, better) > gold_score(prompt, worse)


@pytest.mark.parametrize("prompt, completion", BAD)
def test_bad_answers_score_low(prompt, completion):
    assert gold_score(prompt, completion) <= 0.25


def test_partial_credit_lies_strictly_between():
    score = gold_score(LIST, "1. apple\n2. banana")
    assert 0.3 < score < 0.9


def test_every_generated_prompt_has_a_type_and_a_perfect_reference():
    rng = random.Random(0)
    prompts = generate_prompts(300, seed=3)
    assert {instruction_type(p) for p in prompts} == set(INSTRUCTION_TYPES)
    for prompt in prompts:
        assert gold_score(prompt, reference_response(prompt, rng)) >= 0.95, prompt


def test_prompts_are_reproducible_and_follow_the_templates():
    assert generate_prompts(12, seed=1) == generate_prompts(12, seed=1)
    assert generate_prompts(12, seed=1) != generate_prompts(12, seed=2)
    assert instruction_type("List 4 tools.") == "list"
    assert instruction_type("What is 3 times 4?") == "arithmetic"
    assert instruction_type("Write a sentence about winter in at most 7 words.") == "length"
    assert instruction_type("Rewrite politely: Give me the report now.") == "polite"
    assert instruction_type("How many legs does a dog have?") == "fact"
    assert instruction_type("Answer with yes or no: is a apple a vegetable?") == "yesno"  # "a" as in the template


def test_unknown_prompts_have_no_type_and_no_score():
    for prompt in ("Tell me a joke.", "List 3 planets.", "What is the capital of Atlantis?"):
        assert instruction_type(prompt) is None
        with pytest.raises(ValueError):
            gold_score(prompt, "anything")


def test_references_vary_their_phrasing():
    rng = random.Random(0)
    assert len({reference_response(CAPITAL, rng) for _ in range(30)}) >= 3
    assert parse_prompt(MINUS).fields["answer"] == -25


def test_shipped_demonstrations_are_regenerated_exactly():
    import json

    from modeling.data.make_demonstrations import DEFAULT_PATH, make_demonstrations

    shipped = [json.loads(line) for line in DEFAULT_PATH.read_text().splitlines()]
    assert len(shipped) >= 500
    assert {row["type"] for row in shipped} == set(INSTRUCTION_TYPES)
    assert make_demonstrations(len(shipped), seed=0) == shipped
