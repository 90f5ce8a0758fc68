"""Simulation: instruction types with programmatic gold scores, simulated labelers, gold evaluation."""
