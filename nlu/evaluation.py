"""Scores a trained model on held-out messages: intent accuracy, per-intent F1, macro-F1.

Runs in the Rasa environment. Used by `make nlu-eval`, by the pipeline comparison and by the
test that fails `make test` when the project test set's macro-F1 drops below the bar.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FALLBACK = "nlu_fallback"


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs of a Rasa NLU YAML file, entity markup removed."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


@dataclass
class Scores:
    accuracy: float
    macro_f1: float
    per_intent: dict[str, dict[str, float]]
    labels: list[str]
    truth: list[str] = field(repr=False)
    predicted: list[str] = field(repr=False)
    errors: list[tuple[str, str, str]] = field(repr=False)

    def error_records(self) -> list[dict[str, str]]:
        """The misclassified messages as {"text", "intent", "predicted"} rows."""
        return [{"text": t, "intent": y, "predicted": p} for t, y, p in self.errors]


def score(truth: Sequence[str], predicted: Sequence[str], texts: Sequence[str]) -> Scores:
    """Macro-F1 over the true intents; a fallback prediction counts as a miss."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    labels = sorted(set(truth))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    per_intent = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    errors = [(t, y, p) for t, y, p in zip(texts, truth, predicted, strict=True) if y != p]
    return Scores(
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, labels=labels, average="macro",
                                zero_division=0)),
        per_intent=per_intent,
        labels=labels,
        truth=list(truth),
        predicted=list(predicted),
        errors=errors,
    )


class ModelParser:
    """A trained model loaded in-process (NLU only) for fast batch parsing."""

    def __init__(self, model_path: Path) -> None:
        from rasa.core.agent import Agent

        logging.getLogger("rasa").setLevel(logging.WARNING)
        import structlog  # Rasa logs every parse at debug level through structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        self._agent = Agent.load(str(model_path))

    def predict(self, texts: Sequence[str], *, resolve_fallback: bool = True) -> list[str]:
        """Top intent per text; with `resolve_fallback` a fallback is read as its best guess."""

        async def run() -> list[str]:
            out = []
            for text in texts:
                parsed = await self._agent.parse_message(text)
                name = parsed["intent"]["name"]
                if name == FALLBACK and resolve_fallback:
                    ranking = [r for r in parsed.get("intent_ranking", []) if r["name"] != FALLBACK]
                    name = ranking[0]["name"] if ranking else FALLBACK
                out.append(name)
            return out

        return asyncio.run(run())


def latest_model(directory: Path = ROOT / "models") -> Path:
    models = sorted(directory.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise FileNotFoundError(f"no trained model in {directory}; run make train")
    return models[-1]


def evaluate(model: Path, test_file: Path, *, resolve_fallback: bool = True) -> Scores:
    examples = load_examples(test_file)
    texts = [t for t, _ in examples]
    predicted = ModelParser(model).predict(texts, resolve_fallback=resolve_fallback)
    return score([i for _, i in examples], predicted, texts)
