"""Subcommands of ``rehab``.

Each module here exposes ``register(subparsers)``, which adds one subcommand
whose parser sets ``func=<callable(args) -> int exit code>``. ``rehab train``
and ``rehab eval`` collect their model kinds from the ``train_*.py`` modules,
each exposing ``register_train(subparsers)`` and ``register_eval(subparsers)``.
"""
