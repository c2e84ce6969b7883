"""Starting a form from a routing action, so the dialogue stays visible to Rasa's policies.

A routing action (action_ktp, action_complaint_start...) decides that a form is needed, keeps what
the first message already said, asks the first missing question itself and activates the form. The
next user message is then handled by the active form, and `rasa test` stories can describe every
step. The questions come from the same askers the form's `action_ask_*` actions use.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

Asker = Callable[[CollectingDispatcher, Tracker, Dict[str, Any]], Awaitable[None]]
ASKERS: Dict[str, Asker] = {}


def asker(slot: str) -> Callable[[Asker], Asker]:
    """Registers the function that asks for `slot` (used by the form and by `start_form`)."""

    def register(function: Asker) -> Asker:
        ASKERS[slot] = function
        return function

    return register


def required_slots(domain: Dict[str, Any], form: str) -> List[str]:
    return list(domain["forms"][form]["required_slots"])


async def start_form(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: Dict[str, Any],
    form: str,
    prefilled: Optional[Dict[str, Any]] = None,
) -> List[EventType]:
    """Activates `form` with the values already known and asks the first missing slot."""
    values = {k: v for k, v in (prefilled or {}).items() if v is not None}
    events: List[EventType] = [SlotSet(k, v) for k, v in values.items()]
    missing = next((s for s in required_slots(domain, form) if s not in values), None)
    if missing is None:
        return events
    ask = ASKERS.get(missing)
    if ask is not None:
        await ask(dispatcher, tracker, values)
    else:
        dispatcher.utter_message(response=f"utter_ask_{missing}")
    return [*events, ActiveLoop(form), SlotSet("requested_slot", missing)]


class AskAction(Action, metaclass=ABCMeta):
    """`action_ask_<slot>` for a form, delegating to the registered asker."""

    @property
    @abstractmethod
    def slot(self) -> str: ...

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        await ASKERS[self.slot](dispatcher, tracker, {})
        return []
