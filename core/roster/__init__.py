"""Roster intake: reading, normalising, linking and storing surveyed drivers."""
