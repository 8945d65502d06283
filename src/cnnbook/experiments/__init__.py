"""Small, seeded experiments that the pages run at build time and the
example scripts run at any scale. Each returns plain data (lists/dicts) so
pages can tabulate and plot it and tests can assert on it."""
