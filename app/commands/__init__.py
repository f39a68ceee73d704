"""The ``nicepick`` commands that do more than serve: ``build``, ``check`` and ``new``.

Each is imported lazily by ``app/cli.py``. The ``feedback`` and ``outbox`` commands live
beside the store they read, in ``app/feedback/commands.py``.
"""
