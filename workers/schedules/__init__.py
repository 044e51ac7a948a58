"""Recurring schedules: the definition (spec), due-time maths, the Redis store, the fire step, SCHEDULES_FILE."""
