"""LiteLLM's proxy, the baseline the gateway benchmark compares against: installed into its own venv.

``litellm[proxy]==1.108.0`` is the newest release that installs here, and only by hand: 1.104.9 and
later pin a ``certifi`` release the registry lacks. So the wheel goes in with ``--no-deps``, then its
own requirements (the base ones and the ``proxy`` extra, markers evaluated for this interpreter)
with only the certifi floor dropped. The venv lives outside the repository
(``~/.cache/hackkit-bench/litellm-venv`` unless told otherwise) and is reused while it answers
``import litellm.proxy.proxy_server`` at that version. A folder that exists and is not a venv is
refused, never emptied.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

LITELLM_VERSION = "1.108.0"
DEFAULT_VENV = Path.home() / ".cache" / "hackkit-bench" / "litellm-venv"
REPOSITORY = Path(__file__).resolve().parents[1]
UNPINNED = {"certifi"}  # requirements whose version floor the registry here cannot meet
MASTER_KEY = "sk-bench-master"
MODEL_NAME = "bench"


class InstallRefused(RuntimeError):
    """The venv path is unsafe to install into (inside the repository, or a folder that is not a venv)."""


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def is_installed(venv: Path) -> bool:
    """True when the venv imports LiteLLM's proxy at the pinned version."""
    python = venv_python(venv)
    if not python.exists():
        return False
    probe = "import litellm.proxy.proxy_server, importlib.metadata as m; print(m.version('litellm'))"
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env=quiet_env())
    return result.returncode == 0 and result.stdout.strip() == LITELLM_VERSION


def check_location(venv: Path) -> None:
    where = venv.resolve()
    if where == REPOSITORY or REPOSITORY in where.parents:
        raise InstallRefused(f"{venv} is inside the repository: pass --litellm-venv a folder outside it")
    if where.exists() and any(where.iterdir()) and not (where / "pyvenv.cfg").exists():
        raise InstallRefused(f"{venv} exists and is not a virtualenv: pass --litellm-venv an empty or new folder")


def ensure_installed(venv: Path, log: Callable[[str], None] = print) -> Path:
    """Install LiteLLM's proxy into ``venv`` unless it is there already; return its python."""
    if is_installed(venv):
        return venv_python(venv)
    check_location(venv)
    log(f"installing litellm[proxy]=={LITELLM_VERSION} into {venv} (a few minutes, once)")
    venv.parent.mkdir(parents=True, exist_ok=True)
    pip_run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv_python(venv)), "-m", "pip", "install", "-q"]
    pip_run([*pip, f"litellm=={LITELLM_VERSION}", "--no-deps"])
    pip_run([*pip, *proxy_requirements(venv)])
    if not is_installed(venv):
        raise RuntimeError(f"litellm installed into {venv} but `import litellm.proxy.proxy_server` fails")
    return venv_python(venv)


def pip_run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:6])} ... failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def proxy_requirements(venv: Path) -> list[str]:
    """LiteLLM's own requirements plus its ``proxy`` extra, as pip arguments, certifi's floor dropped."""
    python = str(venv_python(venv))
    script = "import importlib.metadata as m, json; print(json.dumps(m.requires('litellm')))"
    listed = json.loads(subprocess.run([python, "-c", script], capture_output=True, text=True, check=True).stdout)
    wanted = []
    for line in listed:
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate({"extra": "proxy"}):
            continue
        if requirement.name in UNPINNED:
            requirement.specifier = SpecifierSet("")
        requirement.marker = None
        wanted.append(str(requirement))
    return sorted(set(wanted))


def quiet_env() -> dict[str, str]:
    """The environment LiteLLM runs in here: no telemetry, no network lookups, quiet logs."""
    return {
        **os.environ,
        "LITELLM_TELEMETRY": "False",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "LITELLM_DONT_SHOW_FEEDBACK_BOX": "true",
        "DISABLE_ADMIN_UI": "True",
        "NO_DOCS": "True",
        "HF_HUB_OFFLINE": "1",
    }


def write_config(folder: Path, mock_url: str) -> Path:
    """One model pointing at the mock, a master key, no database, no callbacks."""
    config = {
        "model_list": [
            {
                "model_name": MODEL_NAME,
                "litellm_params": {"model": "openai/bench-model", "api_base": mock_url, "api_key": "mock"},
            }
        ],
        "general_settings": {"master_key": MASTER_KEY},
        "litellm_settings": {"telemetry": False, "success_callback": [], "failure_callback": [], "callbacks": []},
    }
    path = folder / "litellm.yaml"
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path


def proxy_command(python: Path, config: Path, port: int, workers: int) -> list[str]:
    command = [str(python), "-m", "litellm.proxy.proxy_cli", "--config", str(config)]
    return [*command, "--host", "127.0.0.1", "--port", str(port), "--num_workers", str(workers)]


if __name__ == "__main__":
    print(ensure_installed(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_VENV))
