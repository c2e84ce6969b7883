"""Business rules of the dialogues as plain functions, testable without Rasa."""
