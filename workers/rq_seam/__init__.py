"""The one place where rq, rq-scheduler and rq-dashboard are subclassed or their private names used.

serializer: JSON as the only serializer, pickle refused; job: TaskJob; queue: ReliableQueue
and get_queue; worker: ServiceWorker; scheduler: ServiceScheduler; dashboard: what the
mounted rq-dashboard needs. tests/workers/test_rq_seam.py pins every rq name used here.
"""
