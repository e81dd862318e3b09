"""Measuring what Escalade decided: the dashboard's facts and rollups, business signals.

Pure: these modules turn stored values into numbers and never read or write the store.
"""
