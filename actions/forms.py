"""Opening forms from routing actions, and the questions forms ask.

A routing action (action_ktp, action_complaint_start...) decides whether a form is needed and keeps
what the first message already said; rules then run the form, so every step is visible to Rasa's
policies and to `rasa test` stories. Questions that need code (buttons from the knowledge base or an
agency) are registered with `@asker` and served as `action_ask_<slot>`.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from .common import say
from .logic.words import is_cancel, is_yes

Asker = Callable[[CollectingDispatcher, Tracker, dict[str, Any]], Awaitable[None]]
ASKERS: dict[str, Asker] = {}


def asker(slot: str) -> Callable[[Asker], Asker]:
    """Registers the function that asks for `slot` (used by the form and by `start_form`)."""

    def register(function: Asker) -> Asker:
        ASKERS[slot] = function
        return function

    return register


def open_form(form: str, known: dict[str, Any] | None = None) -> list[EventType]:
    """Events that make the dialogue open `form` next, keeping the values already known.

    The routing action sets the `route` slot; a rule per (intent, routing action, form) in
    data/core/rules.yml then runs the form, which asks its first missing question itself.
    """
    events: list[EventType] = [SlotSet(k, v) for k, v in (known or {}).items() if v is not None]
    return [*events, SlotSet("route", form)]


class AskAction(Action, metaclass=ABCMeta):
    """`action_ask_<slot>` for a form, delegating to the registered asker."""

    @property
    @abstractmethod
    def slot(self) -> str: ...

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        await ASKERS[self.slot](dispatcher, tracker, {})
        return []


def confirmation(slot: str, value: Any, tracker: Tracker, dispatcher: CollectingDispatcher,
                 action_words: str) -> dict[str, Any]:
    """Reads the answer to a form's "send this?" question: "ya", "batal", or asks again."""
    text = str(value or "")
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    if is_yes(text) or intent == "affirm":
        return {slot: "ya"}
    if is_cancel(text) or intent == "deny":
        return {slot: "batal"}
    say(dispatcher, f"Ketik ya untuk {action_words}, atau batal.",
        [("Ya", "ya"), ("Batal", "batal")])
    return {slot: None}
