"""Performance management: the metric catalog, KPI sets by role and stage, targets, leaderboards, daily reports."""
