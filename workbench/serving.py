"""gunicorn's sync worker, woken alone for each new connection.

gunicorn's sync workers wait for a connection with ``select()`` on the shared
listening socket, and the kernel wakes every waiting worker for each new
connection: one accepts it, the others find nothing, note their heartbeat
and wait again. On a 2-core machine with 4 workers those losers take the
processor from the winner. This worker waits with ``epoll`` and
``EPOLLEXCLUSIVE`` (Linux 4.5 and later, as nginx does), so the kernel wakes
one waiting worker; a worker busy with a request is not waiting and is
passed over. Everything else is gunicorn's sync worker.

    gunicorn workbench.wsgi:application --worker-class workbench.serving.SyncWorker

Measured over HTTP, one client, 4 workers (README, Benchmarks, item 38).
"""

from __future__ import annotations

import os
import select
import socket

from gunicorn.workers.sync import SyncWorker as GunicornSyncWorker

EXCLUSIVE = getattr(select, "EPOLLEXCLUSIVE", 0)


class SyncWorker(GunicornSyncWorker):
    """gunicorn's ``sync`` worker; only its wait for a connection differs."""

    def run(self) -> None:
        if not hasattr(select, "epoll"):  # not Linux: gunicorn's own wait
            return super().run()
        self.poller = select.epoll()
        self.listening: dict[int, socket.socket] = {}
        for listener in self.sockets:
            self.poller.register(listener.fileno(), select.EPOLLIN | EXCLUSIVE)
            self.listening[listener.fileno()] = listener
        # The pipe a signal writes to, so a stop is seen at once.
        self.poller.register(self.PIPE[0], select.EPOLLIN)
        try:
            super().run()
        finally:
            self.poller.close()

    def wait(self, timeout: float) -> list[socket.socket]:
        if not hasattr(self, "poller"):
            return super().wait(timeout)
        self.notify()
        ready = []
        for fd, _events in self.poller.poll(timeout):
            if fd == self.PIPE[0]:
                try:
                    os.read(fd, 1)
                except BlockingIOError:
                    pass
            elif fd in self.listening:
                ready.append(self.listening[fd])
        return ready
