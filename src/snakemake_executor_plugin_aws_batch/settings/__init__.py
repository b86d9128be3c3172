"""Settings and their checks: every value a user gives, checked before anything is submitted."""
