"""Guizhou (贵州, 52)."""

PROVINCES = ("52",)
