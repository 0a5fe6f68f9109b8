"""``--push REPO``: upload an adapter (or a merged model) to the Hugging Face Hub, when a token is set.

The repository is created private unless asked otherwise. Checkpoints, the optimizer's state and
the held-out ``eval.jsonl`` (the team's own data) stay on this machine.
"""

from __future__ import annotations

from pathlib import Path

from hackkit.errors import HackkitError

LEFT_OUT = ["checkpoint-*", "checkpoint-*/**", "runs/**", "training_args.bin", "eval.jsonl"]


def push(folder: Path | str, repo: str, *, private: bool = True, token: str | None = None) -> str:
    """Upload ``folder`` to the model repository ``repo`` (created if needed); returns its URL."""
    from huggingface_hub import HfApi, get_token
    from huggingface_hub.errors import HfHubHTTPError

    folder = Path(folder)
    token = token or get_token()
    if not token:
        raise HackkitError(
            f"No Hugging Face token is set, so {folder} was not uploaded (it is still there).",
            hint=f"export HF_TOKEN=... (a write token from https://huggingface.co/settings/tokens), "
            f"then: hackkit finetune push {folder} {repo}",
        )
    api = HfApi(token=token)
    try:
        url = api.create_repo(repo, private=private, exist_ok=True)
        api.upload_folder(folder_path=folder, repo_id=repo, ignore_patterns=LEFT_OUT)
    except HfHubHTTPError as exc:
        raise HackkitError(
            f"The Hub refused the upload of {folder} to {repo}: {exc}",
            hint="check that the token may write to that repository (a write token, the right organisation)",
        ) from exc
    return str(url)
