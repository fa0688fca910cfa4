"""Gansu (甘肃, 62)."""

PROVINCES = ("62",)
