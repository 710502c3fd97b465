"""The dashboard's pages, one script each; app.py runs the one picked in the navigation."""
