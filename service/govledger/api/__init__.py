"""The HTTP API: ``create_app`` (app.py), shared dependencies (deps.py), one error shape (errors.py),
rate limits, security headers, metrics, and one router per area under ``routes/``.
"""
