"""Customer insights: RFM, BG/NBD + Gamma-Gamma lifetime value, churn warnings, lifecycle stages, recall."""
