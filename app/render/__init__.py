"""Rendering: Markdown to safe HTML, the Jinja environment, and rendered pages kept as bytes."""
