"""Jiangsu (江苏, 32): Zhenjiang's grid model of branches."""

PROVINCES = ("32",)
