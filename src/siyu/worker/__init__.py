"""The job runner: registered periodic jobs, each in its own transaction (seed of the journey engine)."""
