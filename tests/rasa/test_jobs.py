"""`python -m nlu.jobs` as the gateway runs it: a subprocess in the Rasa environment whose stdout
is JSON lines. A tiny project (4 intents x 8 examples, a rule, a story, DIET and TED) keeps real
trainings at a few seconds each with `--epochs 2`."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.data import TrainingType
from rasa.shared.exceptions import YamlSyntaxException

from nlu.jobs import error_message, with_epochs
from nlu.progress import JsonLines, Node, Span, TrainingProgress

pytestmark = pytest.mark.rasa

ROOT = Path(__file__).resolve().parents[2]

INTENTS = {
    "greet": ["halo", "hai", "selamat pagi", "pagi min", "assalamualaikum", "halo pintu",
              "hai kak", "selamat siang"],
    "goodbye": ["dadah", "sampai jumpa", "bye", "sudah dulu ya", "selamat tinggal",
                "makasih, sampai nanti", "oke cukup, dadah", "see you"],
    "ktp": ["cara bikin ktp", "ktp saya hilang", "mau perpanjang ktp", "syarat membuat e-ktp",
            "rekam ktp di mana", "ktp rusak gimana", "urus ktp baru", "ganti ktp"],
    "complaint": ["jalan rusak di depan rumah", "mau lapor sampah numpuk", "lampu jalan mati",
                  "saluran air mampet", "aduan pelayanan lambat", "lapor banjir",
                  "ada pungli di kantor", "keluhan jalan berlubang"],
}
TEST_SET = {"greet": ["halo min", "hai pintu"], "goodbye": ["dadah min"], "ktp": ["ktp hilang"],
            "complaint": ["lapor jalan rusak"]}

CONFIG = """\
recipe: default.v1
language: id
assistant_id: jobs-test
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 2
    max_ngram: 4
  - name: DIETClassifier
    epochs: 40
    number_of_transformer_layers: 0
    embedding_dimension: 20
    random_seed: 42
policies:
  - name: RulePolicy
  - name: TEDPolicy
    max_history: 3
    epochs: 40
"""
DOMAIN = """\
version: "3.1"
intents: [greet, goodbye, ktp, complaint]
responses:
  utter_greet:
  - text: "Halo!"
  utter_goodbye:
  - text: "Sampai jumpa."
  utter_ktp:
  - text: "Untuk KTP, datang ke Disdukcapil."
"""
RULES = """\
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
- rule: goodbye
  steps:
  - intent: goodbye
  - action: utter_goodbye
"""
STORIES = """\
version: "3.1"
stories:
- story: ktp question
  steps:
  - intent: greet
  - action: utter_greet
  - intent: ktp
  - action: utter_ktp
"""


def nlu_yaml(intents: dict[str, list[str]]) -> str:
    blocks = [f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {t}\n" for t in texts)
              for intent, texts in intents.items()]
    return 'version: "3.1"\nnlu:\n' + "".join(blocks)


@dataclass
class Project:
    root: Path

    @property
    def data(self) -> list[str]:
        return [str(self.root / "data" / "nlu"), str(self.root / "data" / "core")]

    @property
    def config(self) -> Path:
        return self.root / "config.yml"


@dataclass
class Job:
    returncode: int
    events: list[dict[str, Any]]
    stderr: str

    @property
    def last(self) -> dict[str, Any]:
        return self.events[-1]

    @property
    def progress(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == "progress"]


def run_job(*args: str) -> Job:
    proc = subprocess.run(  # noqa: S603 - our own module, fixed argv
        [sys.executable, "-m", "nlu.jobs", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    # Every stdout line is one JSON object: this fails on any other output.
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert all(isinstance(e, dict) and "event" in e for e in events), proc.stdout
    return Job(proc.returncode, events, proc.stderr)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("project")
    (root / "data" / "nlu").mkdir(parents=True)
    (root / "data" / "core").mkdir()
    (root / "data" / "nlu" / "nlu.yml").write_text(nlu_yaml(INTENTS))
    (root / "data" / "core" / "rules.yml").write_text(RULES)
    (root / "data" / "core" / "stories.yml").write_text(STORIES)
    (root / "domain.yml").write_text(DOMAIN)
    (root / "config.yml").write_text(CONFIG)
    (root / "test.yml").write_text(nlu_yaml(TEST_SET))
    return Project(root)


@pytest.fixture(scope="module")
def trained(project: Project) -> Job:
    return run_job("train", "--data", *project.data, "--config", str(project.config),
                   "--domain", str(project.root / "domain.yml"),
                   "--out", str(project.root / "models"), "--name", "tiny", "--epochs", "2")


def test_train_writes_a_full_model_and_reports_every_epoch(trained: Job, project: Project) -> None:
    assert trained.returncode == 0, trained.stderr[-3000:]
    done = trained.last
    assert done["event"] == "done"
    values = [e["progress"] for e in trained.progress]
    assert values == sorted(values)
    assert values[0] >= 0.0 and values[-1] == 1.0
    stages = [e["stage"] for e in trained.progress]
    for stage in ("DIETClassifier epoch 1/2", "DIETClassifier epoch 2/2", "TEDPolicy epoch 2/2",
                  "melatih RulePolicy", "RulePolicy selesai", "melatih DIETClassifier"):
        assert stage in stages
    # DIET and TED carry most of the bar (5 + 2 + 2 epochs each against 0.1 a plain node).
    start = {e["stage"]: e["progress"] for e in reversed(trained.progress)}
    assert start["DIETClassifier epoch 2/2"] - start["melatih DIETClassifier"] > 0.3
    assert start["TEDPolicy epoch 2/2"] - start["melatih TEDPolicy"] > 0.3

    model = Path(done["model"])
    assert model.is_absolute() and model == project.root / "models" / "tiny.tar.gz"
    metadata = LocalModelStorage.metadata_from_archive(model)
    assert metadata.training_type == TrainingType.BOTH  # NLU and dialogue
    assert done["config_hash"] == hashlib.sha256(project.config.read_bytes()).hexdigest()
    assert (done["examples"], done["intents"], done["epochs_override"]) == (32, 4, 2)
    assert isinstance(done["seconds"], float) and done["seconds"] > 0


def test_data_hash_is_the_hash_commands_and_follows_the_files(
        trained: Job, project: Project, tmp_path: Path) -> None:
    assert trained.returncode == 0
    hashed = run_job("hash", "--data", *project.data)
    assert hashed.returncode == 0 and hashed.events == [
        {"event": "done", "data_hash": trained.last["data_hash"]}]

    copy = tmp_path / "elsewhere"
    shutil.copytree(project.root / "data", copy)
    moved = run_job("hash", "--data", str(copy / "nlu"), str(copy / "core"))
    assert moved.last["data_hash"] == trained.last["data_hash"]  # where the data lies is no part

    rules = copy / "core" / "rules.yml"
    rules.write_text(rules.read_text().replace("rule: goodbye", "rule: say goodbye"))
    changed = run_job("hash", "--data", str(copy / "nlu"), str(copy / "core"))
    assert changed.last["data_hash"] != trained.last["data_hash"]


def test_hash_does_not_import_rasa(project: Project) -> None:
    code = ("import sys; from nlu import jobs; code = jobs.main(['hash', '--data', *sys.argv[1:]]);"
            " heavy = [m for m in sys.modules if m.split('.')[0] in ('rasa', 'tensorflow')];"
            " sys.exit(code or len(heavy))")
    proc = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", code, *project.data], cwd=ROOT, capture_output=True, text=True,
        timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["event"] == "done"


def test_evaluate_scores_held_out_and_cross_validates(trained: Job, project: Project) -> None:
    assert trained.returncode == 0
    out = project.root / "evaluation"
    job = run_job("evaluate", "--model", trained.last["model"],
                  "--test", str(project.root / "test.yml"), "--out", str(out),
                  "--cv-folds", "2", "--data", *project.data, "--config", str(project.config),
                  "--epochs", "2")
    assert job.returncode == 0, job.stderr[-3000:]
    values = [e["progress"] for e in job.progress]
    assert values == sorted(values) and values[-1] == 1.0
    stages = " | ".join(e["stage"] for e in job.progress)
    assert "menguji 5/5 kalimat" in stages
    assert "validasi silang lipatan 2/2: DIETClassifier epoch 2/2" in stages

    done = job.last
    assert done["event"] == "done"
    report = json.loads(Path(done["report"]).read_text())
    assert report["model"] == "tiny"
    heldout = report["heldout"]
    assert set(heldout) == {"macro_f1", "accuracy", "per_intent", "errors"}
    assert set(heldout["per_intent"]) == set(INTENTS)
    assert sum(row["support"] for row in heldout["per_intent"].values()) == 5
    for row in heldout["per_intent"].values():
        assert set(row) == {"precision", "recall", "f1", "support"}
        assert 0.0 <= row["f1"] <= 1.0
    for error in heldout["errors"]:
        assert set(error) == {"text", "intent", "predicted"}
    assert done["macro_f1"] == heldout["macro_f1"]

    cv = report["cross_validation"]
    assert cv["folds"] == 2 and cv["macro_f1"] == done["cv_macro_f1"]
    assert set(cv["per_intent"]) == set(INTENTS)
    assert sum(row["support"] for row in cv["per_intent"].values()) == 32  # every example once
    assert all(0.0 <= row["f1"] <= 1.0 for row in cv["per_intent"].values())
    assert cv["seconds"] > 0
    assert Path(done["confusion_matrix"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_component_fails_with_one_error_event(project: Project, tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(CONFIG.replace("CountVectorsFeaturizer", "NoSuchFeaturizer"))
    job = run_job("train", "--data", *project.data, "--config", str(config),
                  "--domain", str(project.root / "domain.yml"), "--out", str(tmp_path / "m"),
                  "--name", "broken", "--epochs", "2")
    assert job.returncode == 1
    assert job.last["event"] == "error" and set(job.last) == {"event", "message"}
    assert "NoSuchFeaturizer" in job.last["message"] and "\n" not in job.last["message"]
    assert all(e["event"] == "progress" for e in job.events[:-1])
    assert not (tmp_path / "m" / "broken.tar.gz").exists()


def test_bad_arguments_fail_with_an_error_event(tmp_path: Path) -> None:
    missing = run_job("evaluate", "--model", str(tmp_path / "none.tar.gz"), "--test", "x.yml",
                      "--out", str(tmp_path))
    assert missing.returncode == 1 and missing.events == [
        {"event": "error", "message": f"model not found: {tmp_path / 'none.tar.gz'}"}]
    usage = run_job("train", "--data", str(tmp_path))
    assert usage.returncode == 1 and usage.last["event"] == "error"
    assert "--config" in usage.last["message"]


def test_epochs_override_reaches_every_component_that_has_epochs() -> None:
    config: dict[str, Any] = {"language": "id", "pipeline": [
        {"name": "WhitespaceTokenizer"}, {"name": "DIETClassifier", "epochs": 40},
        {"name": "ResponseSelector"}, {"name": "nlu.components.entities.PintuEntityExtractor"},
        {"name": "NoSuchComponent"},
    ], "policies": [{"name": "RulePolicy"}, {"name": "TEDPolicy", "max_history": 5}]}
    changed = with_epochs(config, 3)
    assert [c.get("epochs") for c in changed["pipeline"]] == [None, 3, 3, None, None]
    assert [c.get("epochs") for c in changed["policies"]] == [None, 3]
    assert changed["policies"][1]["max_history"] == 5
    assert config["pipeline"][1]["epochs"] == 40  # the original is left as it was


class Lines:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_training_progress_weighs_nodes_by_epochs_and_never_goes_back() -> None:
    stream = Lines()
    bar = Span(JsonLines(stream), 0.0, 1.0).part(0.5, 1.0, "lipatan 1/2: ")  # type: ignore[arg-type]
    progress = TrainingProgress(bar.report)
    progress.plan({"run_tok": Node("WhitespaceTokenizer", trains=False, weight=1),
                   "train_diet": Node("DIETClassifier", trains=True, weight=6, setup=2,
                                      finish=1),
                   "provider": Node("NLUTrainingDataProvider", trains=False, weight=0)})
    progress.node_started("provider")
    progress.node_started("run_tok")
    progress.node_finished("run_tok")
    progress.node_started("train_diet")
    for epoch in (1, 2, 3):
        progress.epoch_done(epoch, 3)
    progress.epoch_done(1, 3)  # a late or repeated report cannot move the bar back
    progress.node_finished("train_diet")
    events = [json.loads(line) for line in stream.text.splitlines()]
    assert [(e["progress"], e["stage"]) for e in events] == [
        (0.5, "lipatan 1/2: memproses data: WhitespaceTokenizer"),
        (0.5714, "lipatan 1/2: WhitespaceTokenizer selesai"),
        (0.5714, "lipatan 1/2: melatih DIETClassifier"),
        (0.7857, "lipatan 1/2: DIETClassifier epoch 1/3"),  # 1 + setup 2 + one epoch, of 7
        (0.8571, "lipatan 1/2: DIETClassifier epoch 2/3"),
        (0.9286, "lipatan 1/2: DIETClassifier epoch 3/3"),
        (0.9286, "lipatan 1/2: DIETClassifier epoch 1/3"),
        (1.0, "lipatan 1/2: mengemas model"),  # after the model is saved
    ]


def test_error_messages_are_one_line_without_long_numbers() -> None:
    message = error_message(ValueError("bad line\n  3174012345678901 in 'nik: ...'"))
    assert message == "ValueError: bad line <angka> in 'nik: ...'"
    assert error_message(SystemExit(1)) == "Rasa stopped the job (see the job's log)"
    # A YAML error quotes the offending line, which may be a resident's reviewed message.
    assert error_message(YamlSyntaxException("work/reviewed.yml")) == (
        "YamlSyntaxException: training data could not be read from work/reviewed.yml"
        " (see the job's log)")
