"""Recognition: award campaigns (评选表彰) and care visits (走访慰问)."""
