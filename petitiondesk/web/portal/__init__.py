"""The citizen portal (no account needed): home, submit, receipt, track.

`config/urls.py` includes this package; its URLs are in `urls.py`.
"""

from .urls import app_name, urlpatterns

__all__ = ["app_name", "urlpatterns"]
