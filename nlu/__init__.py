"""Pintu's NLU: custom Rasa components, entity rules, training and evaluation tooling."""
