"""Pydantic models that cross the hooks, grouped by capability."""
