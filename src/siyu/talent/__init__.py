"""Organisation and talent: the role map, the org advisor, gap analysis and staff assessments."""
