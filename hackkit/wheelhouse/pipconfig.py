"""pip's own settings that decide what it resolves (indexes, find-links, constraints), as uv's options.

uv reads none of pip's configuration. The wheelhouse resolves with uv and downloads with pip, so
both must see the same packages: uv gets what ``pip config list`` says (pip.conf files and
``PIP_*`` variables), with pip's rule for several indexes (the best version across all of them).
"""

from __future__ import annotations

import ast

from hackkit.wheelhouse.resolve import pip

SECTIONS = ("global", "install", ":env:")  # pip's precedence for `pip install`: later ones win
LISTS = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links"}
FILES = {"constraint": "--constraint"}
TRUE = ("1", "true", "yes", "on")


def pip_settings() -> dict[str, str]:
    """Each setting pip would use for an install, by name (``index-url``), from ``pip config list``."""
    found: dict[str, dict[str, str]] = {}
    for line in pip("config", "list").stdout.splitlines():
        key, _, value = line.partition("=")
        section, _, name = key.rpartition(".")
        if section in SECTIONS and value:
            found.setdefault(name, {})[section] = str(ast.literal_eval(value))
    return {name: next(by[s] for s in reversed(SECTIONS) if s in by) for name, by in found.items()}


def uv_index_args(settings: dict[str, str]) -> list[str]:
    """uv's options for the indexes, find-links and constraints pip uses; none means PyPI, as for pip."""
    args = ["--index-strategy", "unsafe-best-match"]  # pip's behaviour; uv's default stops at the first index
    if settings.get("no-index", "").lower() in TRUE:
        args.append("--no-index")
    for name, option in {**LISTS, **FILES}.items():
        for value in settings.get(name, "").split():
            args += [option, value]
    return args


def uv_env_of(settings: dict[str, str]) -> dict[str, str]:
    """pip's certificate bundle, for uv's connections to the same indexes."""
    return {"SSL_CERT_FILE": settings["cert"]} if settings.get("cert") else {}
