"""gunicorn for production, behind nginx (billing/deploy/nginx.conf):

    .venv/bin/gunicorn -c billing/deploy/gunicorn.conf.py

Sync workers are enough, and the simplest, because nginx hands each worker a
complete request and takes the response at once: a worker never waits on a slow
client. Two environment variables adjust it without editing this file.
"""

import multiprocessing
import os

wsgi_app = "billing.wsgi:application"
# nginx's upstream; GUNICORN_BIND=127.0.0.1:8000 for a TCP port instead.
bind = [os.environ.get("GUNICORN_BIND", "unix:/run/ar/gunicorn.sock")]
# The usual 2 x cores + 1: a worker waits on the database about as long as it computes.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"
# A request still running after 30 s is killed and logged; the database
# transaction it held is rolled back, so nothing is half-written.
timeout = 30
graceful_timeout = 30
# Recycle workers now and then, staggered, so a slow leak never builds up.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
