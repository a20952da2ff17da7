"""Insatser and the reports they owe: obligations, submissions, the late list."""
