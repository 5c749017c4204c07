"""Commerce: orders, store visits, referrals, members and points."""
