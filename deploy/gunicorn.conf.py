"""gunicorn's settings for a deployment (docs/deploy.md), read from the environment."""

import multiprocessing
import os

wsgi_app = "pht.app.project.wsgi:application"
bind = os.environ.get("PHT_BIND", "unix:/run/pht/web.sock")
workers = int(os.environ.get("PHT_WORKERS") or max(2, multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("PHT_THREADS", "4"))
# the master imports and warms the app once (pht.app.project.warmup) and forks warm workers, as
# `pht app serve` does (pht.cli.web.gunicorn_args): a replaced worker serves at once
preload_app = True
timeout = 60
graceful_timeout = 30
# a worker is replaced after this many requests (slow leaks never pile up)
max_requests = 2000
max_requests_jitter = 200
_logs = os.environ.get("PHT_LOG_DIR", "")
accesslog = os.path.join(_logs, "access.log") if _logs else "-"
errorlog = os.path.join(_logs, "error.log") if _logs else "-"
loglevel = "warning"
# the proxy on this machine is the only client; it sets X-Forwarded-Proto
forwarded_allow_ips = "127.0.0.1,::1"
