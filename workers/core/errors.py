"""Domain errors, grouped by what went wrong; the HTTP side maps each group to a status code once."""


class JobServiceError(Exception):
    """Base of every error this service raises on purpose."""


class InvalidError(JobServiceError):
    """A request that can never be accepted as sent (422)."""


class NotFoundError(JobServiceError):
    """The job or schedule a request names does not exist (404)."""


class ConflictError(JobServiceError):
    """The thing exists, but its state does not allow the change (409)."""


class InvalidJobError(InvalidError):
    """A job or schedule request that cannot be accepted (bad args, timing, unknown dependency...)."""


class TaskNotFoundError(InvalidError):
    """A request names a task that is not registered: the request is invalid, nothing is looked up further."""


class JobNotFoundError(NotFoundError):
    """No job with this id."""


class ScheduleNotFoundError(NotFoundError):
    """No schedule with this name."""


class JobStateError(ConflictError):
    """The job's status does not allow the requested change."""


class ScheduleExistsError(ConflictError):
    """POST of a schedule whose name is taken."""


class DuplicateTaskError(JobServiceError):
    """Two functions were registered under one task name (a start-up error, never an answer)."""


class ForbiddenFunctionError(JobServiceError):
    """A job in Redis names something other than the task runner (a job failure, never an answer)."""


class ScheduleUnreadableError(ScheduleNotFoundError):
    """A stored definition this version cannot read (another version wrote it); a PUT replaces it."""
