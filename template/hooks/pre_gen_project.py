"""Stop before writing anything when the project name cannot work. Standard library only, no network."""

import keyword
import re
import sys

SLUG = "{{ cookiecutter.project_slug }}"
RESERVED = {"hackkit", "gradio", "streamlit", "app", "test", "tests", "data", "prompts"}

module = SLUG.replace("-", "_")
if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", SLUG) or len(SLUG) > 64:
    sys.exit(
        f"error: {SLUG!r} is not a valid project name: use lowercase letters, digits and single hyphens, "
        "starting with a letter (for example: study-buddy)."
    )
if keyword.iskeyword(module) or not module.isidentifier() or module in RESERVED:
    sys.exit(f"error: {SLUG!r} would shadow a module the app imports; pick another name (for example: {SLUG}-app).")
