"""`PintuEntityExtractor`: deterministic entities merged over DIET's.

Runs after DIETClassifier. It adds NIK/KK numbers, ticket numbers, mobile numbers, kecamatan,
kelurahan and dates found by the rules in nlu/extraction.py, and for those entity types the rules
win: a DIET entity of one of these types that overlaps a rule entity is removed, and a DIET place
the rules did not find is kept only when it names a real place (with its canonical name). Other
DIET entities (person_name) are kept, unless they overlap a number the rules found.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, EXTRACTOR, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.extraction import (
    ENTITY_TYPES,
    NUMBER_TYPES,
    PLACE_TYPES,
    confirm_place,
    extract_entities,
)


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class PintuEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Rule-based NIK/KK, ticket, phone, place and date entities that override DIET's."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # `today` (ISO date) pins relative dates ("besok") for evaluations and tests.
        return {"today": None}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> PintuEntityExtractor:
        return cls(config)

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = {**self.get_default_config(), **config}
        today = self._config["today"]
        self._today: date | None = date.fromisoformat(str(today)) if today else None

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds the rule entities to each message and drops the DIET entities they replace."""
        for message in messages:
            text = message.get(TEXT) or ""
            if not text or text.startswith("/"):
                continue  # "/intent{...}" payloads carry their own entities
            own = self.add_extractor_name(extract_entities(text, today=self._today))
            merged = [*self._others(message.get(ENTITIES, []), own, text), *own]
            merged.sort(key=lambda e: (e.get("start", 0), e.get("end", 0)))
            message.set(ENTITIES, merged, add_to_output=True)
        return messages

    def _others(self, entities: list[dict[str, Any]], own: list[dict[str, Any]],
                text: str) -> list[dict[str, Any]]:
        """The other extractors' entities that survive next to ours."""
        kept = []
        for entity in entities:
            if entity.get(EXTRACTOR) == self.name:
                continue  # processing the same message twice must not duplicate
            spanned = "start" in entity and "end" in entity
            kind = entity.get("entity")
            if kind in ENTITY_TYPES:
                if spanned and any(_overlap(entity, o) for o in own):
                    continue
                if kind in PLACE_TYPES:
                    confirmed = confirm_place(entity, text)
                    if confirmed is not None:
                        kept.append(confirmed)
                    continue
                if kind in NUMBER_TYPES and sum(c.isdigit() for c in str(entity.get("value"))) < 8:
                    # A mistyped NIK ("nik saya 367101450789") stays, so the bot can explain it;
                    # "3" in "sudah 3 hari" is DIET noise, not an attempt at a number.
                    continue
            elif spanned and any(_overlap(entity, o) for o in own if o["entity"] in NUMBER_TYPES):
                continue
            kept.append(entity)
        return kept
