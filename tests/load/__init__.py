"""A load test of the kiosk: many simulated kiosks doing full patient visits
against gunicorn and the background worker, then a check of every handout.

``python -m tests.load.loadtest --help`` (or ``make loadtest``) runs it.
"""
