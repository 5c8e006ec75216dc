"""The Alarms view (F3): the engine's alarms, acknowledged and cleared by the operator, the alarm
log, and the alert (a flashing status field, a sound) while any alarm is unacknowledged."""
