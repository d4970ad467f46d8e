"""The server's English texts on the Chinese page: every one the page shows translates.

The JSON API answers in English. The page translates what it shows of those texts with
`ts` (static/js/i18n.js): the exact text as a key of the messages, else the first pattern
key (`{name}` placeholders, more fixed text first) that matches the whole text, its captured
pieces translated by the same rule. `server_text` below is that rule in Python;
tests/browser/test_i18n_server.py runs both on every text here and compares them.

The texts are computed as the server computes them: the catalogue (surfaces, optimizers,
schedulers, presets), the analysis of runs that show every event and outcome, the reasons
runs end, and the 422 messages of requests a person can get wrong from the page.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient

from losslab import analysis, benchmark, engine
from losslab.landscapes.formula import formula_surface
from losslab.landscapes.models import LOSSES, NAMED_DATASETS, model_surface
from losslab.landscapes.network import plane_surface
from losslab.landscapes.surfaces import FOUR_WELLS_ESCAPE_LR
from losslab.presets import get_presets
from losslab.schedulers import SCHEDULERS
from losslab.web import i18n
from losslab.web.service import optimizers_out, scheduler_out, surfaces_out

# ---- the rule, as i18n.js has it -------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _units(text: str) -> int:
    """Length in UTF-16 code units, as JavaScript counts it."""
    return len(text.encode("utf-16-le")) // 2


class Pattern:
    def __init__(self, key: str, value: str) -> None:
        parts = PLACEHOLDER.split(key)
        fixed = parts[0::2]
        self.key, self.value, self.names = key, value, parts[1::2]
        self.weight = _units("".join(fixed))
        source = re.escape(fixed[0]) + "".join(f"(.*?){re.escape(part)}" for part in fixed[1:])
        self.regex = re.compile(f"^{source}$", re.S)


def compile_patterns(table: Mapping[str, str], keys: Iterable[str]) -> list[Pattern]:
    found = [Pattern(key, table[key]) for key in keys if key in table and PLACEHOLDER.search(key)]
    found = [pattern for pattern in found if pattern.weight > 0]
    # JavaScript's `<` on strings compares UTF-16 code units.
    return sorted(found, key=lambda p: (-p.weight, p.key.encode("utf-16-be")))


class ServerTranslator:
    """`serverTranslator(table, keys)` of i18n.js."""

    def __init__(self, table: Mapping[str, str], keys: Iterable[str]) -> None:
        self.table = table
        self.patterns = compile_patterns(table, keys)

    def __call__(self, text: str) -> str:
        if text == "":
            return text
        if text in self.table:
            return self.table[text]
        for pattern in self.patterns:
            match = pattern.regex.match(text)
            if match:
                return self.fill(pattern, match.groups())
        return text

    def fill(self, pattern: Pattern, groups: Iterable[str]) -> str:
        pieces = {name: self(piece) for name, piece in zip(pattern.names, groups, strict=True)}
        return PLACEHOLDER.sub(lambda m: pieces.get(m.group(1), m.group(0)), pattern.value)


def page_translator() -> ServerTranslator:
    """`ts` as the Chinese page has it."""
    return ServerTranslator(i18n.messages("zh"), i18n.server_patterns("zh"))


RULE_TABLE = {
    "Step {step} overshot: {why}.": "第 {step} 步超调：{why}。",
    "Step {step} overshot: {why} (and {more} more steps in a row).": (
        "第 {step} 步超调：{why}（随后又连续 {more} 步）。"
    ),
    "the loss went up": "损失上升了",
    "reached {where}": "到达{where}",
    "the {kind} minimum at ({x}, {y})": "位于 ({x}, {y}) 的{kind}最小值",
    "global": "全局",
    "{anything}": "never a pattern: no fixed text",
    "{a} and {b}": "{a}和{b}",
    "x": "叉",
}
RULE_EXAMPLES = [
    ("Step 3 overshot: the loss went up.", "第 3 步超调：损失上升了。"),
    # More fixed text first: the longer pattern wins where both match.
    (
        "Step 3 overshot: the loss went up (and 4 more steps in a row).",
        "第 3 步超调：损失上升了（随后又连续 4 步）。",
    ),
    # Pieces go through the rule again; a piece that nothing matches stays as it is.
    ("reached the global minimum at (1, 1)", "到达位于 (1, 1) 的全局最小值"),
    ("reached the odd minimum at (1, 1)", "到达位于 (1, 1) 的odd最小值"),
    # Placeholders take as little as they can: the first " and " splits (and the rest again).
    ("x and y and z", "叉和y和z"),
    ("nothing matches this", "nothing matches this"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "chinese"), RULE_EXAMPLES, ids=[e[0] for e in RULE_EXAMPLES])
def test_the_rule(text: str, chinese: str) -> None:
    assert ServerTranslator(RULE_TABLE, RULE_TABLE)(text) == chinese


def test_only_the_servers_keys_are_patterns() -> None:
    table = {**RULE_TABLE, "{count} of {max}": "{max} 中的 {count}"}
    assert ServerTranslator(table, RULE_TABLE)("3 of 5") == "3 of 5"
    assert ServerTranslator(table, table)("3 of 5") == "5 中的 3"


# ---- the server's texts ------------------------------------------------------------------------

FOUR_WELLS = {"surface": "four_wells", "hyperparameters": {"lr": FOUR_WELLS_ESCAPE_LR}}
CONCAVE = "-(x**2 + 9*y**2)/2"
ELLIPTIC_BOUND = 2 / 25


def _runs() -> Iterator[dict[str, Any]]:
    """Runs whose analyses show every event, outcome and stability rule."""
    f64 = {"dtype": "float64", "steps": 10_000}
    yield {"surface": "elliptic", "hyperparameters": {"lr": 0.99 * ELLIPTIC_BOUND}, **f64}
    yield {"surface": "elliptic", "hyperparameters": {"lr": 1.01 * ELLIPTIC_BOUND}, **f64}
    for hp in ({"momentum": 0.5}, {"momentum": 0.5, "nesterov": True}):
        yield {"surface": "elliptic", "hyperparameters": {"lr": 0.07, **hp}, **f64}
    yield {
        "surface": "elliptic",
        "hyperparameters": {"lr": 0.05, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1},
    }
    yield {"surface": "bowl", "hyperparameters": {"lr": 0.55}}
    yield {**FOUR_WELLS, "steps": 1000}
    yield {
        **FOUR_WELLS,
        "steps": 1000,
        "hyperparameters": {"lr": FOUR_WELLS_ESCAPE_LR, "momentum": 0.9},
    }
    yield {**FOUR_WELLS, "start": [2.5, 0.0005], "steps": 500}
    yield {"surface": "rosenbrock", "hyperparameters": {"lr": 1e-4}, "steps": 50}
    yield {"surface": "rosenbrock", "hyperparameters": {"lr": 2e-3}, "steps": 300}
    yield {"surface": "rosenbrock", "optimizer": "Adam", "hyperparameters": {"lr": 0.05}}
    yield {"surface": "bowl", "optimizer": "Adam", "hyperparameters": {"lr": 1e4}, "steps": 50}
    yield {"surface": "ackley", "hyperparameters": {"lr": 0.01}}
    # Ascent (maximize): on a convex bowl, where the surface curves down, with weight decay.
    yield {
        "surface": "elliptic",
        "hyperparameters": {"lr": 0.05, "maximize": True},
        "start": [-4.5, 1.5],
        "steps": 200,
    }
    for lr in (0.99 * 2 / 9, 1.01 * 2 / 9):
        yield {
            "surface": formula_surface(CONCAVE),
            "hyperparameters": {"lr": lr, "maximize": True},
            **f64,
        }
    yield {
        "surface": "bowl",
        "hyperparameters": {"lr": 0.1, "momentum": 0.5, "maximize": True, "weight_decay": 0.5},
        "steps": 100,
    }
    yield {
        "surface": "bowl",
        "hyperparameters": {"lr": 0.1, "momentum": 0.5, "nesterov": True, "maximize": True},
        "steps": 100,
    }
    # Outcomes named by the Hessian.
    unlisted = formula_surface("(x - 5)**2 + (y + 4)**2", {"x": [-1, 1], "y": [-1, 1]})
    for steps in (1000, 40):
        yield {
            "surface": unlisted,
            "hyperparameters": {"lr": 0.1},
            "start": [0.6, 0.6],
            "steps": steps,
        }
    yield {
        "surface": formula_surface("(x**2 - 1)**2 + y**2"),
        "hyperparameters": {"lr": 0.05},
        "start": [0.0, 1.0],
        "steps": 1000,
    }
    yield {"surface": "saddle", "hyperparameters": {"lr": 0.1}, "start": [1.5, 0.0], "steps": 1000}
    yield {
        "surface": formula_surface("x**2 - y**4"),
        "hyperparameters": {"lr": 0.1},
        "start": [1.0, 0.0],
        "steps": 1000,
    }
    yield {
        "surface": "bowl",
        "hyperparameters": {"lr": 0.1},
        "param_groups": [{"lr": 0.1}, {"lr": 0.2}],
    }
    for preset in get_presets():
        for run in preset["runs"]:
            yield dict(run)


@functools.cache
def analysed_runs() -> list[tuple[str, str, dict[str, Any]]]:
    """(status, reason, analysis) of every run of `_runs`."""
    done: list[tuple[str, str, dict[str, Any]]] = []
    for run in _runs():
        run.setdefault("optimizer", "SGD")
        config = engine.make_config(**run)
        status, frames, summary = engine.run(config)
        done.append((status, summary.reason, analysis.analyze(config, frames, status)))
    return done


def analysis_texts() -> dict[str, list[str]]:
    events: dict[str, list[str]] = {}
    outcomes: dict[str, list[str]] = {}
    rules, reasons = [], []
    for _, reason, result in analysed_runs():
        reasons.append(reason)
        for event in result["events"]:
            events.setdefault(event["type"], []).append(event["detail"])
        outcomes.setdefault(result["outcome"]["type"], []).append(result["outcome"]["detail"])
        if result["stability"]["rule"]:
            rules.append(result["stability"]["rule"])
    # A run that stops on a kink (no Hessian there): the cone's tip.
    cone = formula_surface("sqrt(x**2 + y**2)")
    tip = {"step": 1, "x": 0.0, "y": 0.0, "loss": 0.0, "grad": [0.0, 0.0], "lr": 0.1, "state": {}}
    kink = analysis._stationary(cone, tip, steps_ran_out=False)  # type: ignore[arg-type]
    assert kink is not None
    outcomes.setdefault("stationary", []).append(kink["detail"])
    return {
        **{f"event {kind}": texts for kind, texts in events.items()},
        **{f"outcome {kind}": texts for kind, texts in outcomes.items()},
        "stability rule": rules,
        "end of a run": reasons,
    }


def catalogue_texts() -> dict[str, list[str]]:
    surfaces = surfaces_out()
    optimizers = optimizers_out()
    schedulers = [scheduler_out(spec) for spec in SCHEDULERS.values()]
    models = [
        model_surface(model, dataset, batch, 0, shuffle, bias, loss)
        for model, bias in (
            ("linear_regression", True),
            ("linear_regression", False),
            ("logistic_regression", True),
        )
        for dataset in (*NAMED_DATASETS[model], {"x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 1.0]})
        for loss in LOSSES[model]
        for batch in (None, 1, 2)
        for shuffle in (True, False)
    ]
    planes = [plane_surface("moons", 0, directions) for directions in ("random", "pca")]
    runnable = [o for o in optimizers if not o["excluded"]]
    torch_first = sorted(runnable, key=lambda o: o["source"] != "torch.optim")
    defaults = benchmark.Request()
    goals = [benchmark._goal(defaults, k, name) for k, name in enumerate(defaults.surfaces)]
    return {
        "benchmark": [*benchmark.RULES.values(), *(goal.rule for goal in goals)],
        "surface": [s["title"] for s in surfaces] + [s["description"] for s in surfaces],
        "model surface": [s.title for s in [*models, *planes]]
        + [s.description for s in [*models, *planes]]
        + [m.note for m in models if m.note],
        "preset": [p[key] for p in get_presets() for key in ("title", "description")],
        "scheduler": [s["description"] for s in schedulers]
        + [hp["description"] for s in schedulers for hp in s["hyperparameters"]],
        "optimizer family": sorted({o["family_step"] for o in optimizers}),
        "excluded optimizer": [o["excluded"] for o in optimizers if o["excluded"]],
        "torch.optim optimizer": [
            o["description"] for o in torch_first if o["source"] == "torch.optim"
        ],
        "torch.optim hyperparameter": [
            hp["description"]
            for o in runnable
            if o["source"] == "torch.optim"
            for hp in o["hyperparameters"]
        ],
        "pytorch_optimizer optimizer": [
            o["description"] for o in runnable if o["source"] != "torch.optim"
        ],
        "pytorch_optimizer hyperparameter": [
            hp["description"]
            for o in runnable
            if o["source"] != "torch.optim"
            for hp in o["hyperparameters"]
        ],
    }


def _mistakes() -> Iterator[dict[str, Any]]:
    """Requests with the mistakes the page lets a person make, one at a time."""
    run = {"surface": "bowl", "optimizer": "SGD", "steps": 20}
    for hp in (
        {"lr": -1},
        {"lr": "fast"},
        {"lr": None},
        {"lr": 2e6},
        {"nesterov": 1},
        {"momentum": 0.9, "nesterov": True, "dampening": 0.5},
        {"speed": 1},
    ):
        yield {**run, "hyperparameters": hp}
    yield {**run, "optimizer": "Adam", "hyperparameters": {"betas": [0.9]}}
    yield {**run, "optimizer": "Adam", "hyperparameters": {"betas": [0.9, 1.5]}}
    yield {**run, "optimizer": "Adam", "hyperparameters": {"eps": -1e-8}}
    yield {**run, "optimizer": "LBFGS", "hyperparameters": {"line_search_fn": "wolfe"}}
    yield {**run, "steps": 0}
    yield {**run, "steps": 2.5}
    yield {**run, "start": [1.0]}
    yield {**run, "start": [1.0, "a"]}
    yield {**run, "optimizer": "NoSuchOptimizer"}
    yield {**run, "surface": "no_such_surface"}
    yield {**run, "scheduler": {"name": "NoSuchLR"}}
    yield {**run, "scheduler": {"name": "StepLR", "params": {"gamma": 5}}}
    yield {**run, "scheduler": {"name": "StepLR", "params": {"size": 5}}}
    yield {**run, "scheduler": {"name": "MultiStepLR", "params": {"milestones": [5, 3]}}}
    yield {**run, "scheduler": {"name": "OneCycleLR", "params": {"total_steps": 5}}}
    yield {**run, "scheduler": {"name": "StepLR", "warmup": {"steps": 50}}}
    yield {**run, "scheduler": {"name": "StepLR", "warmup": {"steps": 5, "start_factor": 2}}}
    yield {**run, "scheduler": {"name": "ReduceLROnPlateau", "warmup": {"steps": 5}}}
    yield {**run, "clip": {"max_norm": -1}}
    yield {**run, "clip": {"max_norm": 1, "max_value": 1}}
    yield {**run, "noise": {"std": -1}}
    for formula in ("x +", "x**2 + z", "import os", "x / 0", "", "x" * 2000, "exp(exp(exp(x)))"):
        yield {**run, "surface": {"formula": formula}}
    yield {**run, "surface": {"formula": "x**2", "domain": {"x": [1, -1], "y": [-1, 1]}}}
    model = {"model": "linear_regression", "dataset": "noisy_line"}
    yield {**run, "surface": {**model, "batch_size": 10_000}}
    yield {**run, "surface": {**model, "dataset": "moons"}}
    yield {**run, "surface": {**model, "dataset": {"x": [1, 2], "y": [1]}}}


@functools.cache
def error_texts(client: TestClient) -> list[str]:
    texts = []
    for body in _mistakes():
        response = client.post("/api/runs", json=body)
        assert response.status_code == 422, body
        texts += [item["msg"] for item in response.json()["detail"]]
    return texts


def all_texts(client: TestClient) -> dict[str, list[str]]:
    texts = {**analysis_texts(), **catalogue_texts(), "error": error_texts(client)}
    return {kind: sorted(set(found) - {""}) for kind, found in texts.items()}


# ---- every text translates ---------------------------------------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
TWO_WORDS = re.compile(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}")
ENGLISH_PROSE = re.compile(r"\b[a-z]{2,}\s+[a-z]{2,}\s+[a-z]{2,}\b")
"""Three lowercase English words in a row: prose left in English (names, identifiers,
formulas and numbers stay as they are)."""

KINDS = [
    *(
        f"event {kind}"
        for kind in ("overshoot", "oscillation", "escape", "saddle_stall", "divergence")
    ),
    *(f"outcome {kind}" for kind in ("minimum", "diverged", "moving", "stationary")),
    "stability rule",
    "end of a run",
    "surface",
    "benchmark",
    "model surface",
    "preset",
    "scheduler",
    "optimizer family",
    "excluded optimizer",
    "error",
    "torch.optim optimizer",
    "torch.optim hyperparameter",
    "pytorch_optimizer optimizer",
    "pytorch_optimizer hyperparameter",
]


def untranslated(english: str, chinese: str) -> bool:
    if not TWO_WORDS.search(english):
        return False  # a name or a formula: it may stay as it is
    return not CJK.search(chinese) or bool(ENGLISH_PROSE.search(chinese))


@pytest.fixture(scope="module")
def texts(client: TestClient) -> dict[str, list[str]]:
    return all_texts(client)


def test_the_texts_cover_every_kind(texts: dict[str, list[str]]) -> None:
    assert sorted(texts) == sorted(KINDS)
    assert all(texts[kind] for kind in KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_server_text_of_the_page_translates(texts: dict[str, list[str]], kind: str) -> None:
    ts = page_translator()
    left = [text for text in texts[kind] if untranslated(text, ts(text))]
    assert left == []


COMPUTED = [kind for kind in KINDS if kind.startswith(("event", "outcome", "stability", "end"))]


@pytest.mark.parametrize("kind", [*COMPUTED, "error"])
def test_the_numbers_carry_over(texts: dict[str, list[str]], kind: str) -> None:
    """Every number the server computed into an English text is in its Chinese."""
    ts = page_translator()
    lost = [
        text
        for text in texts[kind]
        if Counter(NUMBER.findall(text)) - Counter(NUMBER.findall(ts(text)))
    ]
    assert lost == []


def test_server_patterns_are_unambiguous() -> None:
    """Two placeholders side by side could split their text anywhere."""
    adjacent = [key for key in i18n.server_patterns("zh") if "}{" in key]
    assert adjacent == []
