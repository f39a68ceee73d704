"""The content pipeline: Markdown files to comparisons. Knows nothing of HTTP."""
