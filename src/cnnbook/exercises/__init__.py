"""Exercises for the book's chapter pages: plain data and functions that write each solution."""
