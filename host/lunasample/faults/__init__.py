"""Fault-injection campaign on the emulated board (reliability)."""
