"""Training chat templates: a model's chat format with ``{% generation %}`` markers around what the
assistant writes, so that TRL's ``assistant_only_loss`` puts the loss on those tokens and no others.

TRL patches in markers for some families (Qwen, Llama 3, Gemma, Phi-3...) but not for Mistral, and
a template without them gives an all-zero mask with only a warning. hackkit ships one for Mistral's
``[INST]`` format and one for ChatML (SmolLM2), picked by the tokenizer's own template or, when it
has none, by the model type or the vocabulary; any other format needs ``chat_template_path`` in the recipe.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

from hackkit.finetune.errors import NoTrainingTemplate

MARKER = re.compile(r"\{%-?\s*(?:end)?generation\s*-?%\}")
# A family is recognised by what its template writes, else by its model type or its vocabulary.
SIGNS = {"mistral": "[INST]", "chatml": "<|im_start|>"}
MODEL_TYPES = {"mistral": "mistral", "mixtral": "mistral"}


def has_markers(template: str | None) -> bool:
    return bool(template and MARKER.search(template))


def builtin(family: str) -> str:
    """The shipped training template of a family: ``mistral`` or ``chatml``."""
    return resources.files("hackkit.finetune").joinpath(f"chat_templates/{family}.jinja").read_text(encoding="utf-8")


def family_of(tokenizer: Any, model_type: str | None) -> str | None:
    """``mistral``, ``chatml`` or None: from the tokenizer's template; with none, the model type or the vocabulary.

    A template of another format is never replaced by a guess: a Mistral fine-tune may speak another format.
    """
    template = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else ""
    for family, sign in SIGNS.items():
        if sign in template:
            return family
    if template:
        return None
    if model_type in MODEL_TYPES:
        return MODEL_TYPES[model_type]
    vocabulary = tokenizer.get_vocab()
    return next((family for family, sign in SIGNS.items() if sign in vocabulary), None)


def training_template(tokenizer: Any, model_type: str | None, path: Path | None = None) -> str:
    """The template to train with: ``path`` when given, the model's own when it has markers, else hackkit's."""
    if path is not None:
        template = path.read_text(encoding="utf-8")
        if not has_markers(template):
            raise NoTrainingTemplate(
                f"The chat template {path} has no {{% generation %}} markers, so no token would be learned.",
                hint="wrap what the assistant writes (its text and end-of-turn token) in "
                "{% generation %}...{% endgeneration %}",
            )
        return template
    if isinstance(tokenizer.chat_template, str) and has_markers(tokenizer.chat_template):
        return tokenizer.chat_template
    family = family_of(tokenizer, model_type)
    if family is None:
        raise NoTrainingTemplate(
            f"hackkit has no training chat template for this model's chat format (model type "
            f"{model_type or 'unknown'}); it ships Mistral's [INST] format and ChatML.",
            hint="give one in the recipe: chat_template_path: my-template.jinja, the model's chat template with "
            "{% generation %}...{% endgeneration %} around what the assistant writes",
        )
    return builtin(family)


def inference_template(template: str) -> str:
    """The same template without the markers: it renders the same text, and every Jinja engine reads it."""
    return MARKER.sub("", template)


def assistant_mask(tokenizer: Any, template: str, example: dict[str, Any]) -> tuple[list[int], list[int]]:
    """An example's token ids and its mask (1 where the loss falls), as TRL computes them."""
    from hackkit.finetune.chat_format import for_template

    messages, tools = for_template(example)
    output = tokenizer.apply_chat_template(
        messages,
        tools=tools,
        chat_template=template,
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    return list(output["input_ids"]), list(output["assistant_masks"])
