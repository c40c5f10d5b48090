"""The application shell: settings, CLI, runtime, web app, scheduler, delivery engine, embedded database.

Everything here wires the use cases in `bot/` to the outside world (Telegram, HTTP, the command
line, the clock); nothing in `bot/`'s concept modules imports from here.
"""
