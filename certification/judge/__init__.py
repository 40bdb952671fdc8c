"""The judge: one pure rule per step of a certification plan, proposing a verdict.

A rule reads a step's recorded frames and connection events and the run's settings, and
returns a Judgement (verdict, findings, measurements). The engineer always has the last word:
the judgement is a proposal with its reasons.
"""
