"""Custom Rasa 3.6 graph components (imported by config.yml through their module paths)."""
