"""WSGI entry point: ``waitress-serve wsgi:app`` or ``gunicorn -w 1 -k gthread wsgi:app``.

Prefer ``station serve``: it also runs the print spooler and the nightly sync
scheduler, and makes sure only one process owns them. A bare WSGI server
started from this module serves pages only.
"""

from station import create_app

app = create_app()
