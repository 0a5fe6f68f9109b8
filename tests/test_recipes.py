"""The recipes' READMEs run as written.

Every shell or Python block in ``recipes/**/*.md`` is run by a test here, or follows the rule of
tests/doc_blocks.py (the docs' rule): a ``# runs offline`` Python example, a block marked
``# run by tests/MODULE.py``, or one that says on its first line why no test runs it:
``# not run by the tests: REASON``. A new recipe's README is held to the same rule.

The Mistral 7B recipe's commands run as the README writes them, in a copy of the recipe, with a
tiny random Mistral (tests/finetune_helpers.py) standing in for the 7B base: the model id is
replaced by that model's folder, and ``train`` gets ``--set`` options for the base and two steps.
The lines that set up a GPU machine (``pip install``, ``export HF_TOKEN``) are checked, not run.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from doc_blocks import NOT_RUN, blocks, commands, recipe_pages, unaccounted
from finetune_helpers import examples, tiny_model, write_jsonl

from hackkit._compat import tomllib

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"
MISTRAL_7B = "mistralai/Mistral-7B-Instruct-v0.3"


def block_with(path: Path, command: str) -> str:
    (found,) = [text for text in blocks(path) if command in text]
    return found


# The blocks the tests below run, by a command each holds.
RUN_HERE = {
    "recipes/lora-mistral-7b/README.md": [
        "hackkit finetune train recipes/lora-mistral-7b/recipe.yaml",
        "benchmarks/finetune_gpu.py",
    ],
}


def test_every_block_in_a_recipe_is_run_or_says_why():
    found = unaccounted(recipe_pages(), RUN_HERE)
    assert not found, f"run these in tests/test_recipes.py, or start them with '{NOT_RUN} why': {found}"


def hackkit(line: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = shlex.split(line.replace("$PWD", str(cwd)))
    assert args[0] == "hackkit", line
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    command = [sys.executable, "-m", "hackkit", *args[1:], *extra]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def recipe_copy(tmp_path: Path) -> Path:
    """A folder laid out as the README expects: recipes/lora-mistral-7b/ and train.jsonl beside it."""
    shutil.copytree(RECIPES / "lora-mistral-7b", tmp_path / "recipes" / "lora-mistral-7b")
    write_jsonl(tmp_path / "train.jsonl", examples(repeat=3))
    return tmp_path


def test_the_mistral_7b_recipe_runs_as_its_readme_says(recipe_copy, tmp_path_factory):
    readme = RECIPES / "lora-mistral-7b" / "README.md"
    lines = commands(block_with(readme, RUN_HERE["recipes/lora-mistral-7b/README.md"][0]))
    setup, run = (
        [line for line in lines if not line.startswith("hackkit ")],
        [line for line in lines if line.startswith("hackkit ")],
    )
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert setup == ['pip install "hackkit-llm[finetune]" bitsandbytes', "export HF_TOKEN=..."]
    assert "finetune" in extras  # the extra the README installs exists
    assert [line.split()[2] for line in run] == ["validate", "train", "eval"]

    base = str(tiny_model(tmp_path_factory.mktemp("models"), "mistral"))
    validate, train, evaluate = (line.replace(MISTRAL_7B, base) for line in run)
    checked = hackkit(validate, recipe_copy)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "24 of 24 examples valid" in checked.stdout and "0 over max_length 2048" in checked.stdout

    trained = hackkit(train, recipe_copy, "--set", f"model_name_or_path={base}", "--set", "max_steps=2")
    assert trained.returncode == 0, trained.stdout + trained.stderr
    out = recipe_copy / "recipes" / "lora-mistral-7b" / "out"  # where the README's next commands look
    assert (out / "adapter_model.safetensors").is_file() and (out / "hackkit-finetune.json").is_file()

    evaluated = hackkit(evaluate, recipe_copy)
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    assert "perplexity" in evaluated.stdout.lower()


def test_the_gpu_measurement_says_what_it_needs_on_a_cpu():
    readme = RECIPES / "lora-mistral-7b" / "README.md"
    (line,) = commands(block_with(readme, "benchmarks/finetune_gpu.py"))
    args = shlex.split(line)
    assert args[:2] == ["python", "benchmarks/finetune_gpu.py"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    ran = subprocess.run([sys.executable, *args[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "no CUDA GPU here: run with --config tiny" in ran.stderr
