"""Scale-out mode: PostgreSQL, Celery workers and Celery beat on a Redis broker.

``ESCALADE_MODE=embedded`` (the default) runs everything in the app's process. With
``ESCALADE_MODE=scaleout`` the web process stores each webhook event, commits, and then queues
its processing as a task (``mode.TaskQueue``); ``escalade worker`` processes events and
delivers the outbox, ``escalade beat`` queues the scheduled jobs once per interval for the
whole cluster, and a relay task queues again whatever was stored but not processed in time.

- ``mode``: the settings check and the producer side (what the web process needs; Celery is
  imported only in scale-out mode);
- ``tasks``: the Celery app, its tasks and the beat schedule (workers and beat).

The tasks call the same functions as the embedded workers and scheduler: claims with leases
and conditional updates make every task safe to run twice.
"""
