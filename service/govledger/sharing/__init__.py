"""Data-sharing authorisations between departments: datasets, grants, revocations and logged uses."""
