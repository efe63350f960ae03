"""Embedded serving: gunicorn in-process, with the task worker and scheduler as threads."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class EmbeddedServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from config.wsgi import application

        return application


def _post_worker_init(worker: Any) -> None:
    # One background worker per embedded deployment: only the first web process runs it.
    if worker.age == 1:
        from petitiondesk.core.background import start_in_process

        start_in_process()


def serve(*, host: str, port: int, workers: int = 1, threads: int = 8) -> None:
    print(
        f"petitiondesk serving on http://{host}:{port}/  (API docs: http://{host}:{port}/api/docs)",
        flush=True,
    )
    EmbeddedServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "post_worker_init": _post_worker_init,
            "accesslog": "-",
            "timeout": 60,
        }
    ).run()
