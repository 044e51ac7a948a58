"""Completion webhooks: a job's `callback_url` is POSTed the job body, signed, once its run reaches a final status.

`hosts` decides which URLs may ever be called, `signing` signs a body, `outbox` keeps each
pending delivery in Redis (written with the job's end), `sender` makes one POST,
`delivery` is the loop in every worker process that claims due deliveries and makes them.
"""
