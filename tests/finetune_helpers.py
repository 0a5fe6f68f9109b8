"""Tiny random models for the fine-tuning tests, built offline and saved to folders (train from a path,
so the adapter names a base that can be loaded again).

``tiny_model(root, "mistral")`` is a 2-layer Mistral (hidden 64) with a byte-level BPE tokenizer
trained here, its special tokens those of Mistral's v3 format and its chat template Mistral's own
(without generation markers, as Mistral ships it). ``"chatml"`` is a 2-layer Llama whose tokenizer
speaks ChatML, like SmolLM2. ``initializer_range`` 0.2 makes them learn visibly in a few dozen steps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MISTRAL_SPECIAL = ["<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[TOOL_CALLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]"]
MISTRAL_SPECIAL += ["[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]"]
CHATML_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Mistral's template for its v1 tokenizers, as the hub has it: no {% generation %} markers.
MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}"
)
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

CONVERSATIONS = [
    ("How long is each team's demo?", "Five minutes, then two minutes of questions from the judges."),
    ("When does hacking stop?", "At noon on Sunday; commits after that are not judged."),
    ("Where do we eat?", "In the main hall, at eight, one and seven."),
    ("Can we use a paid API?", "Yes, if the demo still works when your key runs out: keep a local fallback."),
    ("How many people in a team?", "Two to five. Solo hackers can join a team at the Friday mixer."),
    ("Is there Wi-Fi?", "Yes: network hackathon, password on the badge."),
    ("Who are the judges?", "Three mentors and one sponsor, listed on the schedule board."),
    ("Can we start before Friday?", "Ideas yes, code no: the repository must start after the kickoff."),
]


def examples(repeat: int = 1) -> list[dict[str, Any]]:
    """The sample conversations as chat examples: one with a system turn, one multi-turn, the rest plain."""
    rows: list[dict[str, Any]] = []
    for question, answer in CONVERSATIONS:
        rows.append({"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]})
    rows[0]["messages"].insert(0, {"role": "system", "content": "You answer hackathon questions briefly."})
    rows[1]["messages"] += [
        {"role": "user", "content": "And the demos?"},
        {"role": "assistant", "content": "Demos start at two."},
    ]
    return rows * repeat


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def tiny_model(root: Path, family: str = "mistral") -> Path:
    """A saved tiny model folder for ``family``; built once per ``root``."""
    folder = root / f"tiny-{family}"
    if (folder / "config.json").is_file():
        return folder
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM

    tokenizer = _tokenizer(family)
    shape: dict[str, Any] = {
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 512,
        "initializer_range": 0.2,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "tie_word_embeddings": False,
    }
    torch.manual_seed(0)
    model = (
        MistralForCausalLM(MistralConfig(**shape)) if family == "mistral" else LlamaForCausalLM(LlamaConfig(**shape))
    )
    partial = folder.with_name(folder.name + ".partial")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.replace(folder)
    return folder


def _tokenizer(family: str) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    special = MISTRAL_SPECIAL if family == "mistral" else CHATML_SPECIAL
    bpe = Tokenizer(models.BPE(unk_token=special[0]))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    corpus = [text for pair in CONVERSATIONS for text in pair] * 20
    trainer = trainers.BpeTrainer(
        vocab_size=500, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(corpus, trainer)
    if family == "mistral":
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
        tokenizer.chat_template = MISTRAL_TEMPLATE
    else:
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>", unk_token="<|endoftext|>"
        )
        tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
