"""Remove the files these answers do not need. Standard library only, no network."""

import shutil
from pathlib import Path

RAG = "{{ cookiecutter.rag }}" == "True"
UI = "{{ cookiecutter.ui }}"
LICENSE = "{{ cookiecutter.license }}"
FINETUNE = "{{ cookiecutter.finetune }}" == "True"

unneeded = []
if not RAG:
    unneeded += ["data", "prompts/rag-answer.md", "tests/test_rag.py"]
if UI != "streamlit":
    unneeded += [".streamlit"]
if LICENSE == "none":
    unneeded += ["LICENSE"]
if not FINETUNE:
    unneeded += ["finetune", "tests/test_finetune_data.py"]

for name in unneeded:
    path = Path(name)
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
