"""What fine-tuning raises, each a ``HackkitError`` with the fix in its ``hint``.

The tree::

    HackkitError
    ├── ConfigError
    │   └── RecipeError          a recipe key or value is wrong (names the key, and the recipe file)
    ├── DataError                a data file has invalid lines (each as FILE:LINE: problem); nothing trained
    ├── NoTrainingTemplate       the model's chat format has no training template with {% generation %} markers
    ├── TrainingOutOfMemory      the run did not fit in memory: says which setting to lower
    └── TrainingInterrupted      Ctrl+C: says which checkpoint the same command resumes from
"""

from __future__ import annotations

from hackkit.errors import ConfigError, HackkitError

FINETUNE_INSTALL = "pip install 'hackkit-llm[finetune]'  (after torch==2.13.0: see the README)"


class RecipeError(ConfigError):
    pass


class DataError(HackkitError):
    """Invalid training data; ``problems`` holds every ``FILE:LINE: problem`` found."""

    exit_code = 2

    def __init__(self, problems: list[str], total: int) -> None:
        shown = problems[:20]
        more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__(
            f"{len(problems)} problem(s) in the training data; nothing was trained:\n  " + "\n  ".join(shown) + more,
            hint="fix those lines (`hackkit finetune validate FILE` checks again), or drop them",
        )
        self.problems = problems
        self.total = total


class NoTrainingTemplate(HackkitError):
    exit_code = 2


class TrainingOutOfMemory(HackkitError):
    pass


class TrainingInterrupted(HackkitError):
    exit_code = 130
