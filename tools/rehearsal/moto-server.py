"""moto in server mode, with each request handled atomically.

moto's backends are not thread-safe: two concurrent conditional writes to one DynamoDB item can
both pass their condition check, which real DynamoDB never allows. The ledger's locks and
idempotency claims depend on that atomicity, so this launcher serializes requests through one
lock around moto's WSGI application (connections are still accepted concurrently).

Usage: python moto-server.py HOST PORT
"""
import sys
import threading

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            # Materialize the body inside the lock: the backend call may be lazy.
            return list(app(environ, start_response))

    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
