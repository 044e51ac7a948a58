"""The one place where rq, rq-scheduler and rq-dashboard are bent to the service's needs."""
