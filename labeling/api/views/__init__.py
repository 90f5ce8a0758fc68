"""API views: labeler calls (labeler.py), staff data (admin_data.py), runs and rounds (admin_runs.py),
agreement figures and exports (admin_figures.py), and the docs page (docs.py)."""
