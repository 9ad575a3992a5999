"""Notebook toolkit for PocketFlow: inline graphs, live runs, a stepper and trace replay.

Imported as ``pocketflow_widgets``.
"""
