"""Worker throughput benchmark: no-op jobs/s drained by our ServiceWorker and by raw RQ's SimpleWorker and Worker."""
