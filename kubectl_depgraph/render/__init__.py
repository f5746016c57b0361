"""Renderers: each takes data and returns a str; output is sorted and deterministic."""
