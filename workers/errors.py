"""Domain errors; the HTTP side maps each to a status code once."""


class JobServiceError(Exception):
    """Base of every error this service raises on purpose."""


class TaskNotFoundError(JobServiceError):
    """The name is not a registered task."""


class DuplicateTaskError(JobServiceError):
    """Two functions were registered under one task name."""


class InvalidJobError(JobServiceError):
    """A job request that cannot be accepted (bad args, unknown dependency...)."""


class JobNotFoundError(JobServiceError):
    """No job with this id."""


class JobStateError(JobServiceError):
    """The job's status does not allow the requested change."""


class ForbiddenFunctionError(JobServiceError):
    """A job in Redis names something other than the task runner."""


class ScheduleNotFoundError(JobNotFoundError):
    """No schedule with this name."""


class ScheduleExistsError(JobStateError):
    """POST of a schedule whose name is taken."""


class ScheduleUnreadableError(ScheduleNotFoundError):
    """A stored definition this version cannot read (another version wrote it); a PUT replaces it."""
