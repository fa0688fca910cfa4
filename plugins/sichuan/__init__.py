"""Sichuan (四川, 51)."""

PROVINCES = ("51",)
