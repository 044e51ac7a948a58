"""Jobs as users see them: submit, cancel and requeue, the API view of one job, listings."""
