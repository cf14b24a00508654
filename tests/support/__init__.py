"""Helpers shared by the test suites (real services on loopback, no mocks)."""
