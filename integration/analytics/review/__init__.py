"""The monthly review: noisy and missed escalations, agents' reasons, suggested matrix changes.

Pure parts: ``labels`` (agents' corrections as labeled examples), ``findings`` (what a month
says, from readings of its tickets), ``suggest`` (matrix edits from those counts), ``edits``
(an edit applied to the matrix file's text, with its diff) and ``calibration`` (per-tenant
thresholds chosen by replay). ``integration.monthly_review`` reads the store and puts them
together.
"""
