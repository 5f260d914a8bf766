"""gunicorn's settings for the web workers: the HTTP limits and timeouts come from here.

``python -m local`` runs ``gunicorn -c python:local.gunicorn_conf local.web:app`` on HOST:PORT."""

import os

bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '3000')}"]
#: As on Lambda, concurrency is processes: each runs one invocation at a time.
workers = int(
    os.environ.get("WEB_CONCURRENCY")
    or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
)
worker_class = "local.web.LambdaWorker"
#: Open connections per worker (LambdaProtocol refuses more with 503); idle ones cost ~10 KB each.
worker_connections = int(os.environ.get("WEB_CONNECTIONS_PER_WORKER", "2000"))
#: Seconds an idle kept-alive connection stays open (also bounds the wait for its next request head).
keepalive = 5
#: SIGTERM: workers stop accepting and finish what they are answering within this many seconds.
graceful_timeout = 10
#: A worker whose event loop stops beating this long is killed and replaced.
timeout = 30
#: Each worker binds a listening socket of its own (SO_REUSEPORT), so the kernel spreads new
#: connections over the workers; on one shared socket the first to wake takes a whole burst of
#: connections and keeps them (kept alive) while the others idle.
reuse_port = True
#: Request line and header limits: over them gunicorn answers 414 / 431 (problem+json, local/web.py).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
#: Each request is logged once by local/web.py, with its status and duration.
accesslog = None
loglevel = "warning"
proc_name = "trigger-platform-web"
#: The runtime stops gunicorn by signal. gunicorn's control socket ($HOME/.gunicorn/gunicorn.ctl)
#: would be one path for every runtime of a user, and the image's user has no home to put it in.
control_socket_disable = True
