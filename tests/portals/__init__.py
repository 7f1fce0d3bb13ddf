"""Data-entry portals for the end-to-end tests and the bench: `crm` (our own, realistic) and `flask_admin_app`
(Flask-Admin from PyPI, markup nobody here wrote). Both run in-process on a free 127.0.0.1 port."""
