"""Grievance routing: drivers' grievances, routed through the joint conferences."""
