"""How the offline agent reaches a form that is not where it landed: the one link or button whose words read
like the task ("Add member" for "Add a member", "Members" then "Add member"), never a guess.

The task's words, less the small words and the input values in it, are compared with each link's and
button's name (the same fuzzy Dice similarity the agent maps inputs with). The best must clear the bar and
stand apart from the runner-up (a link to the same address twice counts once); a few hops at most, never the
same link twice.
"""

from __future__ import annotations

from webmem.learn.agents.digest import Element
from webmem.learn.agents.words import similarity, tokens

BAR = 0.6  # below this a link does not read like the task
MARGIN = 0.2  # the best must beat the runner-up (another destination) by this much
HOPS = 3  # links followed at most, on the way to the form
SMALL = {"a", "an", "the", "to", "in", "into", "on", "of", "for", "and", "with", "as", "by", "at", "new", "my",
         "please", "then", "it", "is", "from", "this", "that"}
AVOID = {"logout", "log", "sign", "delete", "remove", "cancel", "back", "close", "dismiss", "reset", "clear"}


class Wayfinder:
    """Chooses the link or button to follow toward the task's form."""

    def __init__(self, task: str, values: list[str] | None = None):
        data = {t for v in values or [] for t in tokens(v)}
        self.words = [t for t in tokens(task) if t not in SMALL and t not in data]
        self.followed: set[str] = set()

    def choose(self, elements: list[Element]) -> tuple[Element | None, str]:
        """The element to click, and why (or None and why not, for the refusal)."""
        if not self.words:
            return None, "the task names nothing to look for in links"
        if len(self.followed) >= HOPS:
            return None, f"no form reached after following {HOPS} links"
        scored: list[tuple[float, Element]] = []
        for el in elements:
            # links, and buttons that are not a form's submit (which would send a form nothing was typed into)
            if el.role not in ("link", "button") or not el.enabled or el.is_field or el.fp.type == "submit":
                continue
            words = tokens(el.fp.name or el.fp.text or "")
            if not words or set(words) & AVOID or self._key(el) in self.followed:
                continue
            scored.append((similarity(self.words, words), el))
        scored.sort(key=lambda p: -p[0])
        task = " ".join(self.words)
        if not scored or scored[0][0] < BAR:
            return None, f"no link or button here reads like the task ({task!r}); refusing to guess"
        best, el = scored[0]
        rival = next(((sc, e) for sc, e in scored[1:] if self._key(e) != self._key(el)), None)
        if rival is not None and best - rival[0] < MARGIN:
            return None, (f"links {el.title!r} and {rival[1].title!r} both read like the task ({task!r}); "
                          "refusing to guess")
        self.followed.add(self._key(el))
        return el, f"no field here takes the inputs; {el.title!r} reads like the task ({best:.2f})"

    @staticmethod
    def _key(el: Element) -> str:
        """Where it leads: a link's address, else its name (two links to one address are one way)."""
        return el.fp.attrs.get("href") or f"{el.role}:{el.fp.name or el.fp.text}"
