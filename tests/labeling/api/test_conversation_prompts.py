"""Conversation prompts through the API: accepted where a prompt is, returned with their messages."""
import pytest

from labeling.models import Prompt, RankingTask
from labeling.services.prompts import prompt_fields
from tests.labeling.api.conftest import assert_error

SYSTEM = {"role": "system", "content": "You are terse."}
USER = {"role": "user", "content": "Name a fruit."}
ASSISTANT = {"role": "assistant", "content": "Apple."}
CONVERSATION = [SYSTEM, USER, ASSISTANT, {"role": "user", "content": "Another?"}]
TEXT = "System: You are terse.\n\nUser: Name a fruit.\n\nAssistant: Apple.\n\nUser: Another?"


def test_admin_creates_conversation_prompts_and_lists_them_with_their_messages(api, admin):
    response = api(admin).post("/api/v1/prompts/", [{"prompt": CONVERSATION, "id": "c-1"}, {"prompt": "Plain?"}],
                               format="json")
    assert response.status_code == 201 and response.json()["created"] == 2
    conversation, plain = Prompt.objects.order_by("pk")
    assert (conversation.messages, conversation.text, plain.messages) == (CONVERSATION, TEXT, None)
    listed = api(admin).get("/api/v1/prompts/").json()["results"]
    assert [(p["text"], p["messages"]) for p in listed] == [(TEXT, CONVERSATION), ("Plain?", None)]


def test_admin_creates_conversation_tasks_and_lists_them_with_their_messages(api, admin):
    items = [{"prompt": [USER], "completions": ["Pear.", "A car."], "gold_ranking": [[0], [1]]},
             {"prompt": "Plain?", "completions": ["a", "b"]}]
    response = api(admin).post("/api/v1/tasks/", items, format="json")
    assert response.status_code == 201
    task = RankingTask.objects.get(pk=response.json()["ids"][0])
    assert (task.prompt.messages, task.prompt.text, task.task_set) == ([USER], "User: Name a fruit.", "api")
    listed = api(admin).get("/api/v1/tasks/").json()["results"]
    assert [(t["prompt"], t["messages"]) for t in listed] == [("User: Name a fruit.", [USER]), ("Plain?", None)]


def test_a_labeler_leases_a_conversation_task_with_its_messages(api, labeler, task_factory):
    task = task_factory(k=2)
    Prompt.objects.filter(pk=task.prompt_id).update(**prompt_fields(CONVERSATION))
    body = api(labeler).get("/api/v1/tasks/next/").json()["task"]
    assert (body["id"], body["prompt"], body["messages"]) == (task.pk, TEXT, CONVERSATION)


def test_a_string_task_is_leased_with_messages_null(api, labeler, task_factory):
    task_factory(k=2, prompt_text="Name a fruit.")
    body = api(labeler).get("/api/v1/tasks/next/").json()["task"]
    assert (body["prompt"], body["messages"]) == ("Name a fruit.", None)


BAD = [
    ([USER, {"role": "bot", "content": "x"}], "1.prompt[1].role", "'bot'"),
    ([{"role": "user", "content": " "}], "1.prompt[0].content", "must be a non-empty string"),
    ([USER, ASSISTANT], "1.prompt", "must end with a user message"),
    ([USER, SYSTEM, USER], "1.prompt", "system message only as its first"),
    ([{**USER, "name": "ann"}], "1.prompt[0]", "unknown key(s) ['name']"),
    ([USER, "hi"], "1.prompt[1]", "must be an object"),
    ([], "1.prompt", "non-empty list of messages"),
    ([USER] * 65, "1.prompt", "at most 64"),
    ([{"role": "user", "content": "x" * 20_001}], "1.prompt[0].content", "longer than 20,000"),
    ([{"role": "user", "content": "x" * 20_000}] * 6, "1.prompt", "longer than 100,000"),
    ({"role": "user", "content": "x"}, "1.prompt", "non-empty text or a list of messages"),
]


@pytest.mark.parametrize("prompt, field, words", BAD)
@pytest.mark.parametrize("url, extra", [("/api/v1/prompts/", {}), ("/api/v1/tasks/", {"completions": ["a", "b"]})],
                         ids=["prompts", "tasks"])
def test_a_bad_conversation_is_a_400_naming_the_message_and_writes_nothing(api, admin, url, extra, prompt, field,
                                                                           words):
    items = [{"prompt": [USER], **extra}, {"prompt": prompt, **extra}]
    response = api(admin).post(url, items, format="json")
    assert_error(response, 400, field, words)
    assert response.json()["error"]["message"].startswith("item 1: ")
    assert not Prompt.objects.exists() and not RankingTask.objects.exists()


def test_a_nul_in_a_message_is_refused_before_any_service_runs(api, admin):
    body = b'[{"prompt": [{"role": "user", "content": "a\\u0000b"}]}]'
    assert_error(api(admin).post("/api/v1/prompts/", body, content_type="application/json"), 400,
                 "0.prompt.0.content", "NUL")
    assert not Prompt.objects.exists()


def test_the_schema_documents_prompts_as_strings_or_messages(client):
    schemas = client.get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    string, messages = schemas["PromptItemRequest"]["properties"]["prompt"]["oneOf"]
    assert string["type"] == "string" and messages["type"] == "array"
    assert messages["items"]["properties"]["role"]["enum"] == ["system", "user", "assistant"]
    assert schemas["TaskItemRequest"]["properties"]["prompt"] == schemas["PromptItemRequest"]["properties"]["prompt"]
    for name in ("Prompt", "Task", "LeasedTask"):
        field = schemas[name]["properties"]["messages"]
        assert field["nullable"] and field["items"] == {"$ref": "#/components/schemas/Message"}, name
    assert set(schemas["Message"]["properties"]) == {"role", "content"}
