"""Fine-tuning data, without a model: the chat format's checks, conversion from the ledger, CSV and
JSONL, and recipes. Every invalid line is reported as FILE:LINE: problem."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from finetune_helpers import examples, write_jsonl

from hackkit.config import load_settings
from hackkit.errors import AuthenticationError
from hackkit.finetune import DataError, RecipeError, from_csv, from_jsonl, from_ledger, load_recipe, validate_file
from hackkit.llm import Client
from hackkit.testing import enqueue

TOOL_CALL = {"id": "D681PevKs", "type": "function", "function": {"name": "room_of", "arguments": '{"team": "owls"}'}}
# One valid line per shape OpenAI and Mistral write: system, multi-turn, a tool call and its result, weights.
VALID = [
    examples()[0],
    examples()[1],
    {
        "messages": [
            {"role": "user", "content": "Which room are the owls in?"},
            {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
            {"role": "tool", "tool_call_id": "D681PevKs", "content": '{"room": "B12"}'},
            {"role": "assistant", "content": "The owls are in room B12."},
        ],
        "tools": [{"type": "function", "function": {"name": "room_of", "parameters": {"type": "object"}}}],
    },
    {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Is there coffee?"}]},
            {"role": "assistant", "content": "No.", "weight": 0},
            {"role": "user", "content": "Really?"},
            {"role": "assistant", "content": "Yes, all night in the hall.", "weight": 1},
        ]
    },
]
USER = {"role": "user", "content": "When does hacking stop?"}
ANSWER = {"role": "assistant", "content": "At noon."}
# Each kind of invalid line, and the problem it must be reported with.
INVALID = [
    ('{"messages": [', "bad JSON (Expecting value at column 15)"),
    (json.dumps([USER, ANSWER]), "not a JSON object but a list"),
    (json.dumps({"prompt": "hi", "completion": "hello"}), 'no "messages" list (prompt/completion or instruction'),
    (json.dumps({"messages": []}), '"messages" is not a non-empty list'),
    (json.dumps({"messages": [{"content": "hi"}, ANSWER]}), "message 1 has no role"),
    (json.dumps({"messages": [{"role": "bot", "content": "hi"}]}), "message 1 has the unknown role 'bot'"),
    (json.dumps({"messages": [USER, USER, ANSWER]}), "message 2 (user) cannot follow a user turn; expected assistant"),
    (json.dumps({"messages": [ANSWER, USER, ANSWER]}), "message 1 (assistant) cannot follow the start"),
    (json.dumps({"messages": [USER, ANSWER, {"role": "system", "content": "x"}, USER, ANSWER]}), "message 3 (system)"),
    (
        json.dumps({"messages": [USER, {"role": "assistant", "content": "  "}]}),
        "message 2 (assistant) has empty content",
    ),
    (json.dumps({"messages": [{"role": "user", "content": ""}, ANSWER]}), "message 1 (user) has empty content"),
    (json.dumps({"messages": [{"role": "system", "content": "Be brief."}, USER]}), "no assistant turn"),
    (json.dumps({"messages": [USER, ANSWER, USER]}), "ends with a user turn"),
    (
        json.dumps({"messages": [USER, {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]}, ANSWER]}),
        "message 3 (assistant) cannot follow an assistant tool call; expected tool",
    ),
    (
        json.dumps({"messages": [USER, {"role": "tool", "tool_call_id": "x", "content": "{}"}, ANSWER]}),
        "message 2 (tool) cannot follow a user turn",
    ),
    (
        json.dumps({"messages": [USER, {"role": "assistant", "tool_calls": [{"id": "a", "function": {}}]}]}),
        "message 2's tool call 1: has no function name",
    ),
    (json.dumps({"messages": [USER, {**ANSWER, "weight": 2}]}), "message 2 has weight 2 (0 or 1)"),
    (json.dumps({"messages": [USER, {**ANSWER, "weight": 0}]}), "every assistant turn has weight 0"),
    (
        json.dumps({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}, ANSWER]}),
        "message 1 has a part of type 'image_url'; hackkit trains on text",
    ),
]


def test_every_shape_openai_and_mistral_write_is_valid(tmp_path: Path) -> None:
    report = validate_file(write_jsonl(tmp_path / "train.jsonl", VALID))
    assert report.problems == []
    assert report.ok and len(report.examples) == 4
    tool_call = report.examples[2].data["messages"][1]["tool_calls"][0]
    assert tool_call["function"]["arguments"] == '{"team": "owls"}'  # JSON text, as the templates read it
    assert report.examples[3].data["messages"][0]["content"] == "Is there coffee?"  # text parts joined


def test_each_kind_of_invalid_line_is_reported_with_its_line_number(tmp_path: Path) -> None:
    lines = [json.dumps(VALID[0])] + [line for line, _ in INVALID] + ["", json.dumps(VALID[1])]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = validate_file(path)
    assert len(report.examples) == 2 and not report.ok
    assert len(report.problems) == len(INVALID)
    for number, (problem, (_, expected)) in enumerate(zip(report.problems, INVALID, strict=True), start=2):
        assert problem.startswith(f"{path}:{number}: {expected}"), problem
    with pytest.raises(DataError) as caught:
        report.raise_for_problems()
    assert f"{path}:3: " in caught.value.message and caught.value.hint


def test_the_command_prints_each_problem_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(VALID[0]) + "\n" + json.dumps({"messages": [USER]}) + "\n")
    good = write_jsonl(tmp_path / "good.jsonl", VALID)
    result = _hackkit("finetune", "validate", str(good), str(bad))
    assert result.returncode == 1
    assert f"{bad}:2: no assistant turn: nothing to learn" in result.stdout.splitlines()
    assert f"{good}: 4 of 4 examples valid; valid" in result.stdout
    assert f"{bad}: 1 of 2 examples valid; 1 problem(s)" in result.stdout
    assert _hackkit("finetune", "validate", str(good)).returncode == 0


def test_an_empty_file_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("\n")
    report = validate_file(tmp_path / "empty.jsonl")
    assert report.problems == [f"{tmp_path / 'empty.jsonl'}: no examples (the file is empty)"]


# -- from the ledger ---------------------------------------------------------------------------


def test_logged_calls_become_valid_examples_without_failures_fallbacks_or_duplicates(
    isolated: Path, tmp_path: Path
) -> None:
    settings = load_settings(
        isolated, llm__router__backoff=0.01, llm__router__fallbacks={"fake/primary": ["fake/backup"]}
    )
    with Client(settings) as client:
        client.chat([{"role": "system", "content": "Be brief."}, USER], "fake/echo")
        client.chat("Where do we eat?", "fake/echo")
        client.chat("Where do we eat?", "fake/echo")  # the same call again: a duplicate
        enqueue(AuthenticationError("bad key", provider="fake"))
        client.chat("Who judges?", "fake/primary")  # answered by the fallback: another model's words
        enqueue(AuthenticationError("bad key", provider="fake"))
        with pytest.raises(Exception):  # noqa: B017 (any error: the call failed)
            client.chat("Is there Wi-Fi?", "fake/echo")
        client.chat("Ask the mentors.", "fake/other")
        ledger = client.ledger.path
    conversion = from_ledger(ledger)
    assert [e["messages"][-2]["content"] for e in conversion.examples] == [
        "When does hacking stop?",
        "Where do we eat?",
        "Ask the mentors.",
    ]
    assert conversion.examples[0]["messages"] == [
        {"role": "system", "content": "Be brief."},
        USER,
        {"role": "assistant", "content": "Echo: When does hacking stop?"},
    ]
    assert conversion.dropped == {"duplicate": 1, "fallback answer": 1, "error call": 1}
    assert [e["messages"][-2]["content"] for e in from_ledger(ledger, model="fake/other").examples] == [
        "Ask the mentors."
    ]
    out = tmp_path / "train.jsonl"
    result = _hackkit("finetune", "data", "--from-ledger", "-o", str(out), cwd=isolated)
    assert result.returncode == 0, result.stderr
    assert "3 examples from 6 read; dropped 1 duplicate, 1 error call, 1 fallback answer" in result.stdout
    assert validate_file(out).ok and len(validate_file(out).examples) == 3
    again = _hackkit("finetune", "data", "--from-ledger", "-o", str(out), cwd=isolated)
    assert again.returncode == 2 and "exists; nothing was written" in again.stderr and "--force" in again.stderr


def test_since_keeps_recent_calls_and_a_ledger_without_text_gives_nothing(isolated: Path) -> None:
    with Client(load_settings(isolated)) as client:
        client.chat("Where do we eat?", "fake/echo")
        ledger = client.ledger.path
    client.ledger.db.execute("UPDATE calls SET ts = '2020-01-01T00:00:00.000+00:00'")
    client.close()
    with Client(load_settings(isolated)) as client:
        client.chat("When does hacking stop?", "fake/echo")
    assert len(from_ledger(ledger).examples) == 2
    assert len(from_ledger(ledger, since="24h").examples) == 1
    with Client(load_settings(isolated, llm__ledger__store_text=False, llm__ledger__path="quiet.sqlite")) as client:
        client.chat("A secret question", "fake/echo")
        quiet = client.ledger.path
    conversion = from_ledger(quiet)
    assert conversion.examples == []
    assert conversion.dropped == {"call logged without text (store_text = false)": 1}


# -- from CSV and JSONL ------------------------------------------------------------------------


def test_common_file_shapes_convert_to_chat_examples(tmp_path: Path) -> None:
    csv = tmp_path / "pairs.csv"
    csv.write_text(
        "Prompt,Completion\nWhen does hacking stop?,At noon.\nWhere do we eat?,\nWhen does hacking stop?,At noon.\n"
    )
    conversion = from_csv(csv)
    assert conversion.examples == [{"messages": [USER, ANSWER]}]
    assert conversion.dropped == {"invalid: message 2 (assistant) has empty content": 1, "duplicate": 1}
    jsonl = tmp_path / "mixed.jsonl"
    rows = [
        {"instruction": "Answer briefly.", "input": "When does hacking stop?", "output": "At noon."},
        {"question": "Where do we eat?", "answer": "In the hall.", "system": "Be brief."},
        {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}]},
        {"prompt": [USER], "completion": [ANSWER]},
        {"text": "a language-modelling line"},
    ]
    write_jsonl(jsonl, rows)
    conversion = from_jsonl(jsonl)
    assert [e["messages"] for e in conversion.examples] == [
        [{"role": "user", "content": "Answer briefly.\n\nWhen does hacking stop?"}, ANSWER],
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Where do we eat?"},
            {"role": "assistant", "content": "In the hall."},
        ],
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
        [USER, ANSWER],
    ]
    assert conversion.dropped == {"not a known shape": 1}


# -- recipes -----------------------------------------------------------------------------------


def test_a_recipe_resolves_paths_against_its_folder_and_takes_overrides(tmp_path: Path) -> None:
    folder = tmp_path / "tune"
    folder.mkdir()
    (folder / "recipe.yaml").write_text("dataset_name: data/train.jsonl\nlearning_rate: 2e-4\nr: 8\n")
    recipe = load_recipe(folder / "recipe.yaml", ["max_steps=20", "lora_alpha=16", "output_dir=../adapters/a"])
    assert recipe.path(recipe.dataset_name) == folder / "data" / "train.jsonl"
    assert recipe.output == tmp_path / "adapters" / "a"
    assert (recipe.learning_rate, recipe.r, recipe.max_steps, recipe.lora_alpha) == (2e-4, 8, 20, 16)
    assert load_recipe(folder / "recipe.yaml").output == folder / "out"  # out/ beside the recipe by default
    defaults = load_recipe()
    assert (defaults.model_name_or_path, defaults.r, defaults.lora_alpha, defaults.learning_rate) == (
        "local/smollm2",
        16,
        32,
        1e-4,
    )


def test_bad_recipe_values_name_the_key(tmp_path: Path) -> None:
    (tmp_path / "recipe.yaml").write_text("r: 0\nlearning_rate: fast\n")
    with pytest.raises(RecipeError) as caught:
        load_recipe(tmp_path / "recipe.yaml")
    assert "`r`" in caught.value.message and "`learning_rate`" in caught.value.message
    with pytest.raises(RecipeError, match="not key=value"):
        load_recipe(None, ["max_steps"])


def _hackkit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hackkit", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


ROOT = Path(__file__).resolve().parents[1]
SHIPPED = [
    ROOT / "recipes" / "lora-mistral-7b" / "recipe.yaml",
    ROOT / "template" / "{{cookiecutter.project_slug}}" / "finetune" / "recipe.yaml",
]


@pytest.mark.parametrize("path", SHIPPED, ids=["lora-mistral-7b", "template"])
def test_the_shipped_recipes_read_and_every_key_is_known(path: Path) -> None:
    from hackkit.finetune.recipe import check_extra_keys

    recipe = load_recipe(path)
    check_extra_keys(recipe)  # a key neither hackkit's, TRL's nor PEFT's would be refused here
    assert recipe.extra == {}


def test_the_template_sample_data_is_a_dozen_valid_conversations() -> None:
    report = validate_file(SHIPPED[1].parent / "train.jsonl")
    assert report.problems == [] and len(report.examples) >= 12


def test_an_unknown_recipe_key_is_refused_with_the_nearest_name(tmp_path: Path) -> None:
    from hackkit.finetune.recipe import check_extra_keys

    (tmp_path / "recipe.yaml").write_text("learnin_rate: 0.0001\nuse_rslora: true\n")
    recipe = load_recipe(tmp_path / "recipe.yaml")
    assert recipe.extra == {"learnin_rate": 0.0001, "use_rslora": True}  # use_rslora: a LoraConfig field
    with pytest.raises(RecipeError, match="did you mean 'learning_rate'"):
        check_extra_keys(recipe)
