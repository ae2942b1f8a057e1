"""Trạm Y tế số: the commune health-station server (Flask application package)."""
