"""Thin HTTP routes: look up, call the site or the store, return. One router per file."""
