"""A whitespace tokenizer that sets each token's lemma to its normalized (formal) form.

Rasa's CountVectorsFeaturizer reads `token.lemma` (``use_lemma: true``, its default), so word and
character n-gram features see "bagaimana" whether the resident wrote "gmn", "gimana" or "kumaha",
while token text and offsets stay the resident's own (entities keep their exact spans).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

from nlu.normalize import load_lexicon, normalize_word


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class NormalizingTokenizer(WhitespaceTokenizer):
    """WhitespaceTokenizer + informal-to-formal lemmas from data/normalization/."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**WhitespaceTokenizer.get_default_config(), "normalize": True}

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._lexicon: dict[str, str] | None = load_lexicon() if config["normalize"] else None

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens = super().tokenize(message, attribute)
        if self._lexicon is None or attribute != "text":
            return tokens
        for token in tokens:
            token.lemma = normalize_word(token.text, self._lexicon)
        return tokens
