"""Joint command center: incidents, their lifecycle, units, tasking, ops log, response times.

The pure rules live here (``lifecycle``, ``units``, ``metrics``): they take and return plain
data, so the server, the CLI and the tests share them. Incidents, units and log entries are
stored and exchanged as shareable records (``sharing``), under the same markings.
"""
