"""labeling/services/prompts.py: a prompt value as a row's fields, and a row's prompt as modeling takes it."""
import pytest

from labeling.models import Prompt
from labeling.services.prompts import prompt_fields, prompt_value
from modeling.formats.conversation import Message

MESSAGES = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi?"}]
PARSED = (Message("system", "Be kind."), Message("user", "Hi?"))


def test_a_string_is_its_own_text_and_has_no_messages():
    assert prompt_fields("List 3 fruits.") == {"text": "List 3 fruits.", "messages": None}


@pytest.mark.parametrize("value", [MESSAGES, PARSED], ids=["json messages", "parsed messages"])
def test_a_conversation_keeps_its_messages_and_gets_plain_text(value):
    assert prompt_fields(value) == {"text": "System: Be kind.\n\nUser: Hi?", "messages": MESSAGES}


@pytest.mark.parametrize("value, words", [
    ("  ", "non-empty"), ([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], "end with a user"),
    (7, "non-empty string or a non-empty list"),
])
def test_a_bad_value_is_a_value_error_naming_the_prompt(value, words):
    with pytest.raises(ValueError, match=f"'prompt'.*{words}"):
        prompt_fields(value)


def test_a_stored_prompt_goes_to_modeling_as_a_string_or_a_tuple_of_messages(db):
    conversation = Prompt.objects.create(**prompt_fields(MESSAGES))
    text = Prompt.objects.create(**prompt_fields("Hi?"))
    assert prompt_value(conversation) == PARSED and prompt_value(text) == "Hi?"
    assert hash(prompt_value(Prompt.objects.get(pk=conversation.pk))) == hash(PARSED)
