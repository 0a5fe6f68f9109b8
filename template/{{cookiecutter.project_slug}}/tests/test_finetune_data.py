"""The fine-tuning examples in finetune/ are valid chat data, checked without any model: `python -m pytest`."""

from pathlib import Path

from hackkit.finetune import load_recipe, validate_file

FINETUNE = Path(__file__).resolve().parent.parent / "finetune"


def test_every_training_example_is_valid():
    report = validate_file(FINETUNE / "train.jsonl")
    assert report.problems == []  # each would read FILE:LINE: problem
    assert len(report.examples) >= 10


def test_the_recipe_reads_and_trains_on_that_file():
    recipe = load_recipe(FINETUNE / "recipe.yaml")
    assert recipe.path(recipe.dataset_name) == FINETUNE / "train.jsonl"
