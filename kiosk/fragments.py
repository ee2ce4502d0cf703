"""Parts of a station's screen rendered once per what they show, and the screen templates loaded once.

Every scan answers with the whole screen, and most of it is what the last answer showed: the
header bar (station, operator, modes), the cart's totes, the short panel of the current task. A
part is kept under a key that holds everything it shows, so a changed part gets a new key and is
rendered again; nothing is ever invalidated by hand. The store is bounded (it is emptied when full:
the parts of the live screens come back on the next scan of each).

Jinja loads a template on its first use, without a lock: twenty stations starting at once each
compiled the same screen templates. `warm` loads them once, under a lock."""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from markupsafe import Markup


class Fragments:
    def __init__(self, limit: int = 2048):
        self.limit = limit
        self._parts: dict[Hashable, Markup] = {}
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._loaded: set[str] = set()
        self.rendered = 0  # how many parts were rendered (the rest were reused): tests and profiles

    def get(self, key: Hashable, render: Callable[[], str]) -> Markup:
        part = self._parts.get(key)
        if part is None:
            part = Markup(render())
            with self._lock:
                if len(self._parts) >= self.limit:
                    self._parts.clear()
                self._parts[key] = part
                self.rendered += 1
        return part

    def warm(self, env, names: tuple[str, ...]) -> None:
        """Each template loaded (compiled) once, however many threads ask for it first."""
        if self._loaded.issuperset(names):
            return
        with self._load_lock:
            for name in names:
                if name not in self._loaded:
                    env.get_template(name)
                    self._loaded.add(name)
