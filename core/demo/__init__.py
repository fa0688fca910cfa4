"""The synthetic pilot and the demo that runs on it."""
