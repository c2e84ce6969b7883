"""`PintuEntityExtractor`: the rule entities, how they override DIET's, and that Rasa runs it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.validation import validate
from rasa.shared.data import TrainingType
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.components.entities import PintuEntityExtractor
from nlu.extraction import extract_entities

TODAY = date(2025, 6, 15)
COMPONENT = "nlu.components.entities.PintuEntityExtractor"


@pytest.fixture
def extractor(tmp_path: Path) -> PintuEntityExtractor:
    return PintuEntityExtractor.create(
        {**PintuEntityExtractor.get_default_config(), "today": TODAY.isoformat()},
        LocalModelStorage(tmp_path), Resource("pintu_entities"),
        ExecutionContext(GraphSchema({})),
    )


def diet(entity: str, value: str, text: str, fragment: str, confidence: float = 0.8
         ) -> dict[str, Any]:
    start = text.index(fragment)
    return {"entity": entity, "value": value, "start": start, "end": start + len(fragment),
            "confidence_entity": confidence, "extractor": "DIETClassifier"}


def run(extractor: PintuEntityExtractor, text: str, entities: list[dict[str, Any]] | None = None
        ) -> list[dict[str, Any]]:
    message = Message(data={TEXT: text})
    if entities is not None:
        message.set(ENTITIES, entities)
    [processed] = extractor.process([message])
    return processed.get(ENTITIES, [])


def pairs(entities: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(e["entity"], e["value"]) for e in entities]


# ---- the rules, without Rasa's message objects ------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("nik saya 3671014507890002", [("nik", "3671014507890002")]),
    ("no kk 3671 0101 0110 0003", [("kk_number", "3671010101100003")]),
    ("nomor kartu keluarga: 3671010101100003", [("kk_number", "3671010101100003")]),
    ("NIK 3671014507890002 dan KK 3671010101100003",
     [("nik", "3671014507890002"), ("kk_number", "3671010101100003")]),
    ("3671014507890002", [("nik", "3671014507890002")]),
    ("tiket lks 482913 gmn", [("ticket_id", "LKS-482913")]),
    ("hp 0812-3456-7890", [("phone", "6281234567890")]),
    ("kontak +62 857 1234 5678", [("phone", "6285712345678")]),
])
def test_numbers(text: str, expected: list[tuple[str, Any]]) -> None:
    assert pairs(extract_entities(text, today=TODAY)) == expected


@pytest.mark.parametrize(("text", "value"), [
    ("lahir 12 Januari 2020", "2020-01-12"),
    ("12 jan 2020", "2020-01-12"),
    ("tanggal 3 Pebruari 2025", "2025-02-03"),
    ("12-01-2020", "2020-01-12"),
    ("12/1/20", "2020-01-12"),
    ("lahir 5/7/89", "1989-07-05"),
    ("2020-01-12", "2020-01-12"),
    ("hari ini", "2025-06-15"),
    ("bisa besok?", "2025-06-16"),
    ("lusa aja", "2025-06-17"),
    ("tgl 17 agustus", "2025-08-17"),
])
def test_dates_are_iso_and_relative_to_today(text: str, value: str) -> None:
    assert pairs(extract_entities(text, today=TODAY)) == [("date", value)]


@pytest.mark.parametrize("text", ["31 Februari 2020", "jam 08.30", "12 orang", "antre 2 jam",
                                  "jam besuk pasien", "air mati sejak kemarin"])
def test_not_dates(text: str) -> None:
    assert [e for e in extract_entities(text, today=TODAY) if e["entity"] == "date"] == []


def test_numbers_win_over_phones_and_dates() -> None:
    found = extract_entities("6281234567890123", today=TODAY)
    assert pairs(found) == [("nik", "6281234567890123")]


def test_entity_dicts_are_standard_and_spans_match_the_text() -> None:
    text = "kel. Poris Plawad, no hp 081234567890, lahir 2 Februari 1985"
    found = extract_entities(text, today=TODAY)
    assert pairs(found) == [("kelurahan", "Poris Plawad"), ("phone", "6281234567890"),
                            ("date", "1985-02-02")]
    for entity in found:
        assert set(entity) == {"entity", "value", "start", "end", "confidence_entity"}
    assert [text[e["start"]:e["end"]] for e in found] == ["Poris Plawad", "081234567890",
                                                          "2 Februari 1985"]


# ---- the component on Rasa messages ------------------------------------------------------------

def test_sixteen_digits_after_no_kk_are_a_kk_number(extractor: PintuEntityExtractor) -> None:
    entities = run(extractor, "min cek no kk 3671010101100003")
    assert pairs(entities) == [("kk_number", "3671010101100003")]
    assert entities[0]["extractor"] == "PintuEntityExtractor"
    assert entities[0]["confidence_entity"] == 1.0


def test_diet_entities_of_our_types_are_replaced(extractor: PintuEntityExtractor) -> None:
    text = "no kk 3671010101100003 di cipondok"
    found = run(extractor, text, [
        diet("nik", "3671010101100003", text, "3671010101100003"),
        diet("kecamatan", "cipondok", text, "cipondok"),
    ])
    assert pairs(found) == [("kk_number", "3671010101100003"), ("kecamatan", "Cipondoh")]
    assert {e["extractor"] for e in found} == {"PintuEntityExtractor"}


def test_other_diet_entities_are_kept(extractor: PintuEntityExtractor) -> None:
    text = "atas nama Siti Aminah nik 3671014507890002"
    name = diet("person_name", "Siti Aminah", text, "Siti Aminah")
    found = run(extractor, text, [name])
    assert pairs(found) == [("person_name", "Siti Aminah"), ("nik", "3671014507890002")]
    assert found[0] is name or found[0] == name


def test_a_name_cannot_be_a_number(extractor: PintuEntityExtractor) -> None:
    text = "nik 3671014507890002"
    found = run(extractor, text, [diet("person_name", "3671014507890002", text,
                                       "3671014507890002")])
    assert pairs(found) == [("nik", "3671014507890002")]


def test_diet_places_are_checked_against_the_city(extractor: PintuEntityExtractor) -> None:
    text = "saya warga Kota Tangerang, ada benda asing di jalan dekat cipondk"
    found = run(extractor, text, [
        diet("kecamatan", "Tangerang", text, "Tangerang"),
        diet("kecamatan", "benda", text, "benda"),
        diet("kecamatan", "cipondk", text, "cipondk"),  # a typo the rules alone let pass
    ])
    assert pairs(found) == [("kecamatan", "Cipondoh")]


def test_diet_place_of_the_wrong_level_is_relabelled(extractor: PintuEntityExtractor) -> None:
    text = "lampu mati di ckokol"
    found = run(extractor, text, [diet("kecamatan", "ckokol", text, "ckokol")])
    assert pairs(found) == [("kelurahan", "Cikokol")]


def test_kota_tangerang_is_not_a_kecamatan(extractor: PintuEntityExtractor) -> None:
    assert run(extractor, "Saya warga Kota Tangerang") == []


def test_diet_dates_and_unconfirmed_numbers_are_kept(extractor: PintuEntityExtractor) -> None:
    text = "nik saya 367101450789 minggu depan"
    mine = [diet("nik", "367101450789", text, "367101450789"),
            diet("date", "minggu depan", text, "minggu depan")]
    assert pairs(run(extractor, text, list(mine))) == [("nik", "367101450789"),
                                                       ("date", "minggu depan")]


def test_processing_twice_does_not_duplicate(extractor: PintuEntityExtractor) -> None:
    message = Message(data={TEXT: "besok ke kecamatan benda"})
    extractor.process([message])
    extractor.process([message])
    assert pairs(message.get(ENTITIES)) == [("date", "2025-06-16"), ("kecamatan", "Benda")]


def test_intent_payloads_are_left_alone(extractor: PintuEntityExtractor) -> None:
    message = Message(data={TEXT: '/inform{"nik": "3671014507890002"}'})
    extractor.process([message])
    assert message.get(ENTITIES) is None


def test_message_without_text(extractor: PintuEntityExtractor) -> None:
    message = Message(data={})
    extractor.process([message])
    assert message.get(ENTITIES) is None


# ---- Rasa builds, validates, trains and runs a pipeline with the component ---------------------

def _config() -> dict[str, Any]:
    return {
        "recipe": "default.v1", "language": "id", "assistant_id": "test",
        "pipeline": [{"name": "WhitespaceTokenizer"}, {"name": "KeywordIntentClassifier"},
                     {"name": "EntitySynonymMapper"},
                     {"name": COMPONENT, "today": TODAY.isoformat()}],
        "policies": [],
    }


def test_project_config_runs_the_component_after_diet_and_the_synonym_mapper() -> None:
    # EntitySynonymMapper maps every value to the casing first annotated in the training data
    # ("Benda" -> "benda"); after it, the canonical names and normalized numbers stay as they are.
    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "config.yml").read_text())
    names = [step["name"] for step in config["pipeline"]]
    assert COMPONENT in names
    position = names.index(COMPONENT)
    assert position > names.index("DIETClassifier")
    if "EntitySynonymMapper" in names:
        assert position > names.index("EntitySynonymMapper")


def test_recipe_builds_a_valid_graph_with_the_component() -> None:
    graph = DefaultV1Recipe().graph_config_for_recipe(_config(), {}, TrainingType.NLU)
    validate(graph)
    nodes = [n for n in graph.predict_schema.nodes.values() if n.uses is PintuEntityExtractor]
    assert len(nodes) == 1 and nodes[0].fn == "process"
    assert not [n for n in graph.train_schema.nodes.values() if n.uses is PintuEntityExtractor]


@pytest.mark.rasa
# Rasa's YAML schema check loads pykwalify extensions with the deprecated load_module().
@pytest.mark.filterwarnings("ignore:the load_module:DeprecationWarning")
async def test_trained_model_parses_with_the_component(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    monkeypatch.setenv("RASA_TELEMETRY_ENABLED", "false")
    config, data, domain = tmp_path / "config.yml", tmp_path / "nlu.yml", tmp_path / "domain.yml"
    config.write_text(yaml.safe_dump(_config()), encoding="utf-8")
    data.write_text(
        'version: "3.1"\nnlu:\n- intent: inform\n  examples: |\n'
        "    - nik saya [3671014507890002](nik)\n    - kecamatan [cipondoh](kecamatan)\n"
        "- intent: greet\n  examples: |\n    - halo\n    - selamat pagi\n", encoding="utf-8")
    domain.write_text('version: "3.1"\nintents: [inform, greet]\nentities: [nik, kk_number, '
                      "kecamatan, kelurahan, date, phone, ticket_id]\n", encoding="utf-8")
    model = train_nlu(str(config), str(data), str(tmp_path / "models"), domain=str(domain))
    assert model
    agent = Agent.load(model)
    parsed = await agent.parse_message("no kk 3671 0101 0110 0003, kel. porisplawad, besok")
    assert pairs(parsed["entities"]) == [("kk_number", "3671010101100003"),
                                         ("kelurahan", "Poris Plawad"), ("date", "2025-06-16")]
    # Trained on "cipondoh" in lower case, the synonym mapper would say "cipondoh"; we run last.
    parsed = await agent.parse_message("di kec. Cipondok")
    assert pairs(parsed["entities"]) == [("kecamatan", "Cipondoh")]


def test_diet_numbers_the_rules_do_not_confirm_are_dropped(
        extractor: PintuEntityExtractor) -> None:
    text = "sudah daftar pake nik tapi menunggu verifikasi 3 hari"
    entities = run(extractor, text, [diet("nik", "3", text, "3")])
    assert entities == []
