"""A job's progress as JSON lines on stdout, and the hooks that read it from Rasa's training.

Importing this module does not import Rasa (`python -m nlu.jobs hash` stays cheap); only
`rasa_training_progress` does, when it is entered.

Rasa internals relied on (rasa 3.6.21, pinned in requirements/rasa.txt); re-read them when
upgrading:

- `rasa.model_training._train_graph` creates its graph runners through the module-level name
  `rasa.model_training.DaskGraphRunner`: the real training run with
  `hooks=[LoggingHook, TrainingHook]`, the fingerprint run (skipped with `force_training`) with
  none. While a training runs we put a subclass under that name which adds our hook.
- `GraphNode` calls every hook's `on_before_node` / `on_after_node` around its node, with the
  node's name; `dask.get` is dask's synchronous scheduler, so nodes run one at a time.
- A node trains when `is_target and not is_input` (as `rasa.engine.training.hooks.LoggingHook`
  decides); `PrecomputedValueProvider` nodes are outputs restored from the cache.
- A component's effective `epochs` is its `get_default_config()` overridden by the node config.
- Every epoch-based component (DIETClassifier, ResponseSelector, TEDPolicy,
  UnexpecTEDIntentPolicy) fits with one `rasa.utils.tensorflow.callback.RasaTrainingLogger`
  Keras callback, made by `rasa.utils.train_utils.create_common_callbacks(epochs)`; we wrap its
  `on_epoch_end`, and its `progress_bar` (tqdm, also when disabled) knows the epoch count.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

Report = Callable[[float, str], None]

# Weights on the bar, in units of one epoch. Measured on the project data (docs/nlu.md): before
# its first epoch DIET spends five to six epochs' time preparing its data and building and
# tracing its model, after its last one one to four saving it, and a node without epochs (a
# featurizer, RulePolicy) takes about a tenth of an epoch. All scale with the data, as epochs
# do, so the bar moves about evenly in time.
EPOCH_SETUP = 5.0
EPOCH_FINISH = 2.0
PLAIN_NODE = 0.1


def claim_stdout() -> TextIO:
    """Keeps stdout for JSON lines: everything else written to fd 1 (Rasa's prints, TensorFlow's
    C++ logs, structlog) goes to stderr from now on. Returns the stream for the JSON lines."""
    sys.stdout.flush()
    json_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(json_fd, "w", buffering=1, encoding="utf-8")


class JsonLines:
    """One JSON object a line; the progress it reports never goes back."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._last = 0.0

    def event(self, event: str, **fields: Any) -> None:
        self._stream.write(json.dumps({"event": event, **fields}) + "\n")
        self._stream.flush()

    def progress(self, fraction: float, stage: str) -> None:
        self._last = max(self._last, min(1.0, fraction))
        self.event("progress", progress=round(self._last, 4), stage=stage)


@dataclass(frozen=True)
class Span:
    """A stretch [start, end] of the whole bar; `report(0..1, stage)` moves within it."""

    lines: JsonLines
    start: float = 0.0
    end: float = 1.0
    prefix: str = ""

    def report(self, fraction: float, stage: str) -> None:
        fraction = min(1.0, max(0.0, fraction))
        self.lines.progress(self.start + (self.end - self.start) * fraction, self.prefix + stage)

    def part(self, start: float, end: float, prefix: str = "") -> Span:
        """The stretch [start, end] of this one (both 0..1), its stages prefixed."""
        width = self.end - self.start
        return Span(self.lines, self.start + width * start, self.start + width * end,
                    self.prefix + prefix)


@dataclass(frozen=True)
class Node:
    """A node of Rasa's training graph as the progress bar sees it."""

    component: str
    trains: bool  # fits a component, rather than running one over the training data
    weight: float  # its share of the bar (0 when it costs nothing)
    setup: float = 0.0  # the part of `weight` spent before an epoch-based node's first epoch
    finish: float = 0.0  # the part spent after its last epoch


class TrainingProgress:
    """Turns graph-node and epoch events into a fraction of one training (0..1).

    Each node is weighted by the time it takes, in epochs (EPOCH_SETUP + epochs + EPOCH_FINISH
    for DIET and TED, PLAIN_NODE for the others), so that their epochs, most of the time, fill
    most of the bar.
    """

    def __init__(self, report: Report) -> None:
        self._report = report
        self._nodes: dict[str, Node] = {}
        self._total = 1.0
        self._done = 0.0
        self._current: Node | None = None

    def plan(self, nodes: dict[str, Node]) -> None:
        self._nodes = nodes
        self._total = sum(n.weight for n in nodes.values()) or 1.0
        self._done = 0.0
        self._current = None

    def node_started(self, name: str) -> None:
        node = self._nodes.get(name)
        if node is None or node.weight == 0:
            return
        self._current = node
        verb = "melatih" if node.trains else "memproses data:"
        self._report(self._done / self._total, f"{verb} {node.component}")

    def epoch_done(self, epoch: int, epochs: int) -> None:
        node = self._current
        if node is None or epochs <= 0:
            return
        epoch_share = node.weight - node.setup - node.finish
        share = node.setup + epoch_share * min(epoch, epochs) / epochs
        self._report((self._done + share) / self._total, f"{node.component} epoch {epoch}/{epochs}")

    def node_finished(self, name: str) -> None:
        node = self._nodes.get(name)
        if node is None or node.weight == 0:
            return
        self._current = None
        self._done += node.weight
        if self._done >= self._total - 1e-9:
            self._report(1.0, "mengemas model")
        else:
            self._report(self._done / self._total, f"{node.component} selesai")


@contextmanager
def rasa_training_progress(report: Report) -> Iterator[None]:
    """While inside, every Rasa training in this process reports its progress to `report`."""
    import rasa.model_training
    from rasa.engine.graph import GraphNodeHook, GraphSchema, SchemaNode
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.training.components import PrecomputedValueProvider
    from rasa.utils.tensorflow.callback import RasaTrainingLogger

    progress = TrainingProgress(report)

    def as_node(schema_node: SchemaNode) -> Node:
        cls = schema_node.uses
        if schema_node.is_input or cls is PrecomputedValueProvider:
            return Node(cls.__name__, trains=False, weight=0)
        epochs = {**cls.get_default_config(), **schema_node.config}.get("epochs")
        if schema_node.is_target and isinstance(epochs, int) and epochs > 0:
            return Node(cls.__name__, trains=True, weight=EPOCH_SETUP + epochs + EPOCH_FINISH,
                        setup=EPOCH_SETUP, finish=EPOCH_FINISH)
        return Node(cls.__name__, trains=schema_node.is_target, weight=PLAIN_NODE)

    class ProgressHook(GraphNodeHook):
        def on_before_node(self, node_name: str, execution_context: Any, config: Any,
                           received_inputs: Any) -> dict:
            progress.node_started(node_name)
            return {}

        def on_after_node(self, node_name: str, execution_context: Any, config: Any,
                          output: Any, input_hook_data: dict) -> None:
            progress.node_finished(node_name)

    class ProgressGraphRunner(DaskGraphRunner):
        @classmethod
        def create(cls, graph_schema: GraphSchema, model_storage: Any, execution_context: Any,
                   hooks: list | None = None) -> DaskGraphRunner:
            if hooks:  # the training run, not the fingerprint run
                progress.plan({name: as_node(node) for name, node in graph_schema.nodes.items()})
                hooks = [*hooks, ProgressHook()]
            return super().create(graph_schema, model_storage, execution_context, hooks)

    original_epoch_end = RasaTrainingLogger.on_epoch_end

    def on_epoch_end(self: RasaTrainingLogger, epoch: int, logs: dict | None = None) -> None:
        original_epoch_end(self, epoch, logs)
        progress.epoch_done(epoch + 1, int(self.progress_bar.total or 0))

    rasa.model_training.DaskGraphRunner = ProgressGraphRunner
    RasaTrainingLogger.on_epoch_end = on_epoch_end
    try:
        yield
    finally:
        rasa.model_training.DaskGraphRunner = DaskGraphRunner
        RasaTrainingLogger.on_epoch_end = original_epoch_end
