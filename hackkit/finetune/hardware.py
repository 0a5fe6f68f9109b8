"""What the machine decides: QLoRA (4-bit through bitsandbytes) where CUDA is, plain LoRA on a CPU,
bf16 where the GPU has it (fp16 on older ones), gradient checkpointing on a GPU only.

``auto`` in a recipe means "decide here"; ``true`` or ``false`` is obeyed, and ``load_in_4bit: true``
without CUDA or bitsandbytes is refused with the fix.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from hackkit.finetune.errors import RecipeError
from hackkit.finetune.recipe import Recipe


@dataclass
class Hardware:
    device: str  # "cpu", or the GPU's name
    cuda: bool
    bf16: bool
    fp16: bool
    four_bit: bool
    gradient_checkpointing: bool

    def describe(self) -> str:
        precision = "bf16" if self.bf16 else "fp16" if self.fp16 else "float32"
        return f"{self.device}, {precision}, {'QLoRA (4-bit base)' if self.four_bit else 'LoRA'}"


def hardware_for(recipe: Recipe) -> Hardware:
    import torch

    cuda = torch.cuda.is_available()
    bf16_capable = cuda and torch.cuda.is_bf16_supported()
    bf16 = bf16_capable if recipe.bf16 == "auto" else bool(recipe.bf16)
    fp16 = cuda and not bf16 and recipe.bf16 == "auto"
    return Hardware(
        device=torch.cuda.get_device_name(0) if cuda else "cpu",
        cuda=cuda,
        bf16=bf16,
        fp16=fp16,
        four_bit=_four_bit(recipe, cuda),
        gradient_checkpointing=cuda if recipe.gradient_checkpointing == "auto" else bool(recipe.gradient_checkpointing),
    )


def _four_bit(recipe: Recipe, cuda: bool) -> bool:
    available = cuda and importlib.util.find_spec("bitsandbytes") is not None
    if recipe.load_in_4bit == "auto":
        return available
    if recipe.load_in_4bit and not available:
        raise RecipeError(
            "load_in_4bit: true needs a CUDA GPU and the bitsandbytes package"
            + (", and bitsandbytes is not installed." if cuda else ", and this machine has no CUDA GPU."),
            hint="pip install bitsandbytes on a GPU machine, or set load_in_4bit: auto (plain LoRA here)",
        )
    return bool(recipe.load_in_4bit)
