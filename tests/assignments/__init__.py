"""Test support for the graded assignments: temporary nbgrader courses and the catalogue of common mistakes."""
