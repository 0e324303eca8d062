"""The public web pages (templates/ and static/) and the router that serves them (pages.py)."""
