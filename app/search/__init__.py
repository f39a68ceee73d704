"""Search: the full-text index over the library and the snippets shown with each result."""
