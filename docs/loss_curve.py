"""The loss curve on docs/finetune.md: `make loss-curve` (a real run on the CPU, a few minutes).

Trains the sample recipe that `hackkit new my-app --finetune` puts in a project's `finetune/`
(SmolLM2-135M-Instruct on thirteen conversations) in a temporary folder, as
`hackkit finetune train finetune/recipe.yaml` does, then draws the train and eval losses that run
recorded in its `out/hackkit-finetune.json` as docs/images/finetune-loss.svg. Every point on the
picture is one the run logged; nothing is smoothed or made up.

    python docs/loss_curve.py                          # train, then draw
    python docs/loss_curve.py --record out/hackkit-finetune.json   # draw a run you already have
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images" / "finetune-loss.svg"
WIDTH, HEIGHT = 860, 360
LEFT, RIGHT, TOP, BOTTOM = 70, 230, 50, 300  # the plot area's margins, in the SVG's pixels
RIGHT_EDGE = WIDTH - RIGHT
TRAIN_COLOUR, EVAL_COLOUR = "#3f51b5", "#e65100"


def train_sample_recipe(work: Path) -> Path:
    """Run the project template's finetune/ recipe in ``work``; the path of the run's record."""
    import torch

    from hackkit.finetune import train
    from hackkit.project import template_dir

    torch.set_num_threads(1)  # faster than two threads on a shared two-core machine
    sample = template_dir() / "{{cookiecutter.project_slug}}" / "finetune"
    shutil.copytree(sample, work / "finetune")
    result = train(work / "finetune" / "recipe.yaml")
    return result.output / "hackkit-finetune.json"


def scale(value: float, low: float, high: float, start: float, end: float) -> float:
    """``value`` in [low, high] mapped onto [start, end]."""
    return start + (value - low) / ((high - low) or 1.0) * (end - start)


def polyline(points: list[tuple[float, float]], colour: str) -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'  <polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>\n'


def dots(points: list[tuple[float, float]], colour: str) -> str:
    return "".join(f'  <circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>\n' for x, y in points)


def axes(steps: int, low: float, high: float) -> str:
    """The frame, a tick every few steps on x and five loss levels on y."""
    lines = [f'  <rect class="plot" x="{LEFT}" y="{TOP}" width="{RIGHT_EDGE - LEFT}" height="{BOTTOM - TOP}"/>\n']
    for n in range(5):
        loss = low + (high - low) * n / 4
        y = scale(loss, low, high, BOTTOM, TOP)
        lines.append(f'  <line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{RIGHT_EDGE}" y2="{y:.1f}"/>\n')
        lines.append(f'  <text class="small" x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{loss:.2f}</text>\n')
    every = max(1, round(steps / 6))
    for step in range(0, steps + 1, every):
        x = scale(step, 0, steps, LEFT, RIGHT_EDGE)
        lines.append(f'  <text class="small" x="{x:.1f}" y="{BOTTOM + 18}" text-anchor="middle">{step}</text>\n')
    middle_x, middle_y = (LEFT + RIGHT_EDGE) / 2, (TOP + BOTTOM) / 2
    lines.append(f'  <text class="small" x="{middle_x}" y="{BOTTOM + 38}" text-anchor="middle">step</text>\n')
    turned = f'transform="rotate(-90 18 {middle_y})"'
    lines.append(f'  <text class="small" x="18" y="{middle_y}" {turned} text-anchor="middle">loss</text>\n')
    return "".join(lines)


def legend(record: dict[str, Any]) -> str:
    """The key, and what the run was: base, data, steps, hardware, the eval before and after."""
    data, evaluation = record["data"], record.get("eval") or {}
    base = record["base"]["recorded"]
    facts = [
        f"base: {base.rsplit('/', 1)[-1]}",
        f"{data['train_examples']} conversations trained,",
        f"{data['eval_examples']} held out",
        f"{record['steps']} steps, {record['hardware']}",
    ]
    if evaluation.get("base_loss") is not None:
        facts += [f"eval loss {evaluation['base_loss']:.2f} before,", f"{evaluation['loss']:.2f} after"]
    x = RIGHT_EDGE + 20
    text = [
        f'  <line x1="{x}" y1="{TOP + 10}" x2="{x + 24}" y2="{TOP + 10}" stroke="{TRAIN_COLOUR}" stroke-width="2"/>\n',
        f'  <text class="small" x="{x + 32}" y="{TOP + 14}">train loss</text>\n',
        f'  <circle cx="{x + 12}" cy="{TOP + 34}" r="4" fill="{EVAL_COLOUR}"/>\n',
        f'  <text class="small" x="{x + 32}" y="{TOP + 38}">eval loss (held out)</text>\n',
    ]
    text += [f'  <text class="small" x="{x}" y="{TOP + 80 + 20 * n}">{fact}</text>\n' for n, fact in enumerate(facts)]
    return "".join(text)


def render(record: dict[str, Any]) -> str:
    """The SVG for one run's record (``hackkit-finetune.json``)."""
    train = [(float(s), float(v)) for s, v in record["curves"]["train"]]
    evals = [(float(s), float(v)) for s, v in record["curves"]["eval"]]
    losses = [v for _, v in train + evals]
    low, high = min(losses) * 0.95, max(losses) * 1.02
    steps = int(record["steps"])

    def place(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(scale(s, 0, steps, LEFT, RIGHT_EDGE), scale(v, low, high, BOTTOM, TOP)) for s, v in points]

    title = f"Loss of a real run of the sample recipe ({record['steps']} steps), from its hackkit-finetune.json"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" font-family="sans-serif" font-size="14">\n'
        f"  <title>{title}</title>\n"
        "  <style>\n"
        "    .card { fill: #ffffff; stroke: #c5cae9; }\n"
        "    .plot { fill: #f4f6fb; stroke: #444; stroke-width: 1; }\n"
        "    .grid { stroke: #c5cae9; stroke-width: 1; }\n"
        "    .small { font-size: 12px; fill: #333; }\n"
        "    .head { font-weight: bold; fill: #222; }\n"
        "  </style>\n"
        f'  <rect class="card" x="0.5" y="0.5" width="{WIDTH - 1}" height="{HEIGHT - 1}" rx="8"/>\n'
        f'  <text class="head" x="{LEFT}" y="30">hackkit finetune train finetune/recipe.yaml'
        " (the sample recipe of hackkit new --finetune)</text>\n"
        + axes(steps, low, high)
        + polyline(place(train), TRAIN_COLOUR)
        + dots(place(evals), EVAL_COLOUR)
        + legend(record)
        + "</svg>\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", type=Path, help="a run's hackkit-finetune.json (default: train the sample recipe)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        record_path = args.record or train_sample_recipe(Path(tmp))
        record = json.loads(record_path.read_text(encoding="utf-8"))
    OUT.write_text(render(record), encoding="utf-8")
    print(f"saved {OUT}: {len(record['curves']['train'])} train and {len(record['curves']['eval'])} eval points")


if __name__ == "__main__":
    main()
