"""Training and evaluation jobs for the admin page: files in, files and JSON lines out.

    python -m nlu.jobs train --data PATH [PATH ...] --config C --domain D --out DIR --name N
                             [--epochs N]
    python -m nlu.jobs evaluate --model M --test T --out DIR
                                [--cv-folds K --data PATH [PATH ...] --config C [--epochs N]]
    python -m nlu.jobs hash --data PATH [PATH ...]

The gateway starts this in the Rasa environment and reads stdout: one JSON object a line,
`progress` events, then `done` (exit 0) or `error` (exit 1). Everything else goes to stderr. The
job keeps no state: what it needs comes from its arguments, what it makes goes to --out. The
contract is in docs/nlu.md, "Training and evaluation jobs".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from nlu.progress import JsonLines, Span, claim_stdout, rasa_training_progress

# rasa.shared.data.TRAINING_DATA_EXTENSIONS: the files `rasa train --data DIR` reads.
DATA_SUFFIXES = (".yml", ".yaml", ".json")
SEED = 42
# Loading a model (TensorFlow, DIET's graph) takes about 25 s, parsing the 324 test messages 3 s.
LOADING_SHARE = 0.8
# Rasa's errors whose message quotes the data that failed to load.
QUOTES_DATA = {"YamlException", "InvalidEntityFormatException", "SchemaValidationError"}


class JobError(Exception):
    """A job cannot go on; its message is shown to the admin as it is."""


# ---------------------------------------------------------------- data and config fingerprints


def data_files(paths: Sequence[Path]) -> list[tuple[str, Path]]:
    """(relative name, file) of every training file Rasa reads from `paths`, sorted by name.

    A file given directly is named by its file name; a file found in a given directory by the
    directory's name and its path below it ("nlu/services.yml"), so the names do not depend on
    where the data lies.
    """
    found: dict[Path, str] = {}
    for path in paths:
        if path.is_file():
            if path.suffix in DATA_SUFFIXES:
                found.setdefault(path.resolve(), path.name)
        elif path.is_dir():
            top = path.resolve()
            for root, _dirs, files in os.walk(top, followlinks=True):
                for name in files:
                    file = Path(root, name)
                    if file.suffix in DATA_SUFFIXES and file.is_file():
                        found.setdefault(file.resolve(),
                                         (Path(top.name) / file.relative_to(top)).as_posix())
        else:
            raise JobError(f"training data not found: {path}")
    return sorted(((name, file) for file, name in found.items()), key=lambda item: item[0])


def data_hash(paths: Sequence[Path]) -> str:
    """sha256 over each training file, in order of relative name: name, size, contents."""
    digest = hashlib.sha256()
    for name, file in data_files(paths):
        content = file.read_bytes()
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def with_epochs(config: dict[str, Any], epochs: int) -> dict[str, Any]:
    """A copy of a Rasa config where every pipeline component and policy that has an `epochs`
    parameter (set or by default) runs `epochs`. Components Rasa cannot load are left alone, for
    Rasa to report."""
    from rasa.engine.recipes.default_components import DEFAULT_COMPONENTS
    from rasa.shared.utils.common import class_from_module_path

    by_name = {cls.__name__: cls for cls in DEFAULT_COMPONENTS}

    def has_epochs(item: dict[str, Any]) -> bool:
        if "epochs" in item:
            return True
        cls = by_name.get(str(item.get("name")))
        if cls is None:
            try:
                cls = class_from_module_path(str(item.get("name")))
            except (ImportError, AttributeError, ValueError):
                return False
        get_defaults = getattr(cls, "get_default_config", None)
        return callable(get_defaults) and "epochs" in get_defaults()

    return {**config, **{
        key: [{**item, "epochs": epochs} if isinstance(item, dict) and has_epochs(item) else item
              for item in config[key]]
        for key in ("pipeline", "policies") if isinstance(config.get(key), list)
    }}


def job_config(config: Path, directory: Path, epochs: int | None) -> Path:
    """The config the job trains with, as a file of its own: Rasa may write into the config it is
    given (auto-configured keys), and --epochs changes it."""
    import rasa.shared.utils.io

    target = directory / "config.yml"
    if epochs is None:
        target.write_bytes(config.read_bytes())
    else:
        rasa.shared.utils.io.write_yaml(
            with_epochs(rasa.shared.utils.io.read_config_file(config), epochs), target)
    return target


def isolate_rasa_cache(directory: Path) -> None:
    """No training cache shared between jobs: an empty cache location, and caching off."""
    os.environ["RASA_CACHE_DIRECTORY"] = str(directory / "rasa-cache")
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"


# ------------------------------------------------------------------------------------- train


def train(args: argparse.Namespace, lines: JsonLines) -> dict[str, Any]:
    """Trains a full model (NLU and dialogue) into DIR/NAME.tar.gz."""
    started = time.monotonic()
    bar = Span(lines)
    bar.report(0.0, "memeriksa berkas")
    name = args.name.removesuffix(".tar.gz")
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise JobError("--name must be a plain file name")
    if args.epochs is not None and args.epochs < 1:
        raise JobError("--epochs must be at least 1")
    for path in (args.config, args.domain):
        if not path.is_file():
            raise JobError(f"file not found: {path}")
    fingerprint = data_hash(args.data)
    config_hash = hashlib.sha256(args.config.read_bytes()).hexdigest()
    args.out.mkdir(parents=True, exist_ok=True)

    from rasa.model_training import train as rasa_train
    from rasa.shared.importers.importer import TrainingDataImporter

    with tempfile.TemporaryDirectory(prefix="pintu-train-") as tmp:
        isolate_rasa_cache(Path(tmp))
        config = job_config(args.config, Path(tmp), args.epochs)
        data = [str(p) for p in args.data]
        bar.report(0.0, "memuat data")
        importer = TrainingDataImporter.load_from_config(str(config), str(args.domain), data)
        if importer.get_domain().is_empty():
            raise JobError("the domain is empty: a full model needs one")
        if importer.get_stories().is_empty():
            raise JobError("the training data has no stories or rules: a full model needs them")
        examples = importer.get_nlu_data().intent_examples
        with rasa_training_progress(bar.part(0.02, 0.99).report):
            result = rasa_train(str(args.domain), str(config), data, output=str(args.out),
                                force_training=True, fixed_model_name=name)
    model = args.out / f"{name}.tar.gz"
    if result.code != 0 or not model.is_file():
        raise JobError("Rasa did not write a model (see the job's log)")
    bar.report(1.0, "selesai")
    return {"model": str(model.resolve()), "seconds": round(time.monotonic() - started, 2),
            "data_hash": fingerprint, "config_hash": config_hash,
            "examples": len(examples), "intents": len({m.get("intent") for m in examples}),
            "epochs_override": args.epochs}


# ---------------------------------------------------------------------------------- evaluate


def predict(model: Path, texts: Sequence[str], bar: Span, every: int = 25) -> list[str]:
    """Top intent of each text by `model`, reporting progress every `every` texts."""
    from nlu.evaluation import ModelParser

    bar.report(0.0, "memuat model")
    parser = ModelParser(model)
    parsing = bar.part(LOADING_SHARE, 1.0)
    parsing.report(0.0, "model dimuat")
    predicted: list[str] = []
    for start in range(0, len(texts), every):
        predicted += parser.predict(texts[start:start + every])
        parsing.report(len(predicted) / len(texts),
                       f"menguji {len(predicted)}/{len(texts)} kalimat")
    return predicted


def cross_validate(data: Sequence[Path], config: Path, folds: int, epochs: int | None,
                   bar: Span) -> dict[str, Any]:
    """Stratified k-fold cross-validation of the NLU part of `data`: an NLU model per fold,
    predictions of the held-out folds pooled and scored together. Intents with fewer examples
    than folds stay in every training fold and are never tested."""
    from rasa.model_training import train_nlu
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    from nlu.evaluation import score

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pintu-cv-") as tmp:
        isolate_rasa_cache(Path(tmp))
        job = job_config(config, Path(tmp), epochs)
        nlu = TrainingDataImporter.load_nlu_importer_from_config(
            str(job), training_data_paths=[str(p) for p in data]).get_nlu_data()
        counts = Counter(m.get("intent") for m in nlu.intent_examples)
        tested = [m for m in nlu.intent_examples if counts[m.get("intent")] >= folds]
        if len({m.get("intent") for m in tested}) < 2:
            raise JobError(f"{folds}-fold cross-validation needs two intents with at least "
                           f"{folds} examples each")
        tested_ids = {id(m) for m in tested}
        always = [m for m in nlu.training_examples if id(m) not in tested_ids]
        truth: list[str] = []
        predicted: list[str] = []
        texts: list[str] = []
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED).split(
            tested, [m.get("intent") for m in tested])
        for fold, (train_index, test_index) in enumerate(splits, start=1):
            part = bar.part((fold - 1) / folds, fold / folds,
                            f"validasi silang lipatan {fold}/{folds}: ")
            fold_data = TrainingData(
                training_examples=[tested[i] for i in train_index] + always,
                entity_synonyms=nlu.entity_synonyms, regex_features=nlu.regex_features,
                lookup_tables=nlu.lookup_tables)
            fold_file = Path(tmp, f"fold-{fold}.yml")
            fold_data.persist_nlu(str(fold_file))
            with rasa_training_progress(part.part(0.0, 0.85).report):
                model = train_nlu(str(job), str(fold_file), str(tmp),
                                  fixed_model_name=f"fold-{fold}")
            if not model:
                raise JobError(f"Rasa did not train fold {fold} (see the job's log)")
            held_out = [tested[i] for i in test_index]
            fold_texts = [m.get("text") for m in held_out]
            predicted += predict(Path(model), fold_texts, part.part(0.85, 1.0))
            truth += [m.get("intent") for m in held_out]
            texts += fold_texts
    scores = score(truth, predicted, texts)
    return {"folds": folds, "macro_f1": scores.macro_f1, "accuracy": scores.accuracy,
            "per_intent": scores.per_intent, "seconds": round(time.monotonic() - started, 2)}


def evaluate(args: argparse.Namespace, lines: JsonLines) -> dict[str, Any]:
    """Scores a model on a held-out test file and, with --cv-folds, cross-validates the data."""
    started = time.monotonic()
    bar = Span(lines)
    if not args.model.is_file():
        raise JobError(f"model not found: {args.model}")
    if not args.test.is_file():
        raise JobError(f"test file not found: {args.test}")
    if args.cv_folds is not None:
        if args.cv_folds < 2:
            raise JobError("--cv-folds must be at least 2")
        if not args.data or args.config is None:
            raise JobError("--cv-folds needs --data and --config")
        if not args.config.is_file():
            raise JobError(f"file not found: {args.config}")
        if args.epochs is not None and args.epochs < 1:
            raise JobError("--epochs must be at least 1")
        data_files(args.data)  # fails early on a missing path
    args.out.mkdir(parents=True, exist_ok=True)

    from nlu.evaluate import write_confusion_matrix
    from nlu.evaluation import load_examples, score

    examples = load_examples(args.test)
    if not examples:
        raise JobError(f"no intent examples in {args.test}")
    texts = [t for t, _ in examples]
    heldout_end = 1.0 if args.cv_folds is None else 0.05
    predicted = predict(args.model, texts, bar.part(0.0, heldout_end))
    scores = score([i for _, i in examples], predicted, texts)
    matrix = args.out / "confusion_matrix.png"
    write_confusion_matrix(scores, matrix, test_name=args.test.name)
    cv = None
    if args.cv_folds is not None:
        cv = cross_validate(args.data, args.config, args.cv_folds, args.epochs,
                            bar.part(heldout_end, 1.0))
    report = args.out / "evaluation.json"
    report.write_text(json.dumps({
        "model": args.model.name.removesuffix(".tar.gz"), "test_set": str(args.test),
        "heldout": {"macro_f1": scores.macro_f1, "accuracy": scores.accuracy,
                    "per_intent": scores.per_intent, "errors": scores.error_records()},
        "cross_validation": cv,
    }, indent=2, ensure_ascii=False))
    bar.report(1.0, "selesai")
    return {"report": str(report.resolve()), "confusion_matrix": str(matrix.resolve()),
            "macro_f1": scores.macro_f1, "cv_macro_f1": cv["macro_f1"] if cv else None,
            "seconds": round(time.monotonic() - started, 2)}


# -------------------------------------------------------------------------------------- CLI


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise JobError(f"{self.prog}: {message}")


def parser() -> argparse.ArgumentParser:
    cli = _Parser(prog="python -m nlu.jobs", description=__doc__.split("\n")[0])
    commands = cli.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train_cli = commands.add_parser("train", help="train a full model")
    train_cli.add_argument("--data", type=Path, nargs="+", required=True)
    train_cli.add_argument("--config", type=Path, required=True)
    train_cli.add_argument("--domain", type=Path, required=True)
    train_cli.add_argument("--out", type=Path, required=True)
    train_cli.add_argument("--name", required=True)
    train_cli.add_argument("--epochs", type=int)
    eval_cli = commands.add_parser("evaluate", help="score a model; optionally cross-validate")
    eval_cli.add_argument("--model", type=Path, required=True)
    eval_cli.add_argument("--test", type=Path, required=True)
    eval_cli.add_argument("--out", type=Path, required=True)
    eval_cli.add_argument("--cv-folds", type=int)
    eval_cli.add_argument("--data", type=Path, nargs="+")
    eval_cli.add_argument("--config", type=Path)
    eval_cli.add_argument("--epochs", type=int)
    hash_cli = commands.add_parser("hash", help="the training data's hash, as `train` reports it")
    hash_cli.add_argument("--data", type=Path, nargs="+", required=True)
    return cli


def error_message(exc: BaseException) -> str:
    """One line for the admin: long digit runs (NIK, KK or phone numbers) masked, shortened.

    Errors that quote training data (which may hold residents' reviewed messages) name only
    the file; the whole error is in the job's log (stderr).
    """
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    if isinstance(exc, JobError):
        text = str(exc)
    elif isinstance(exc, SystemExit):
        text = "Rasa stopped the job (see the job's log)"
    elif kinds & QUOTES_DATA:
        where = getattr(exc, "filename", None)
        text = (f"{type(exc).__name__}: training data could not be read"
                f"{f' from {where}' if where else ''} (see the job's log)")
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = re.sub(r"\d{8,}", "<angka>", " ".join(text.split()))
    return text[:300]


def _quiet_rasa() -> None:
    """TensorFlow's and the pinned dependencies' chatter stays out of the way; Rasa's own
    warnings about the data still reach stderr."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    import structlog  # Rasa logs every rule lookup at debug level through structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def main(argv: Sequence[str] | None = None) -> int:
    lines = JsonLines(claim_stdout())
    try:
        args = parser().parse_args(argv)
        if args.command == "hash":
            lines.event("done", data_hash=data_hash(args.data))
            return 0
        _quiet_rasa()
        done = train(args, lines) if args.command == "train" else evaluate(args, lines)
    except (Exception, SystemExit) as exc:  # every failure ends in an error event
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            return 0  # --help
        if not isinstance(exc, JobError):
            traceback.print_exc(file=sys.stderr)
        lines.event("error", message=error_message(exc))
        return 1
    lines.event("done", **done)
    return 0


if __name__ == "__main__":
    sys.exit(main())
