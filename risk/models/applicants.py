"""Risk models: applicants."""
