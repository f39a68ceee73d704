"""Nice Pick: comparison guides authored in Markdown, served by FastAPI."""

__version__ = "0.1.0"
