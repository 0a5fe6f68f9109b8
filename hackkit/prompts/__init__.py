"""Prompt templates shipped with hackkit; a project's prompts/ folder overrides them by name."""
