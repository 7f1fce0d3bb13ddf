"""The mutation suite: many seeded variants of a form; each learned target is resolved (and healed
locally) on each. Outcomes: healed correctly / failed safely / wrong element, which must be 0."""

from __future__ import annotations

from playwright.sync_api import Page

from webmem.page.locate import resolve
from webmem.page.target import learn_target
from webmem.playback.heal import Healing, Trouble
from webmem.steps import STEPS

from . import mutations

SEEDS = range(100)


def choose(page: Page, target, action: str) -> str | None:
    """The data-truth of the element webmem would act on, or None if it refuses."""
    kind = STEPS[action]
    res = resolve(page, target, kind.fits)
    if not res.ok:
        mend = Healing("local").repair(Trouble(page, None, 0, kind, {}, target=target, resolution=res,  # type: ignore[arg-type]
                                               strict=True))
        if mend is None or mend.resolution is None:
            return None
        res = mend.resolution
    return res.locator.get_attribute("data-truth")


def test_mutation_suite_never_acts_on_a_wrong_element(page: Page) -> None:
    page.set_content(mutations.render().html)
    targets = {}
    for key, *_ in mutations.FIELDS:
        targets[key] = ("fill", learn_target(page, page.locator(f"[data-truth={key}]").element_handle(), key))
    targets["submit"] = ("click", learn_target(page, page.locator("[data-truth=submit]").element_handle(), "save"))
    outcome = {"correct": 0, "failed_safely": 0, "wrong": 0}
    wrong = []
    for seed in SEEDS:
        variant = mutations.mutate(seed)
        page.set_content(variant.html)
        for key, (action, target) in targets.items():
            got = choose(page, target, action)
            if got is None:
                outcome["failed_safely"] += 1
            elif got == key:
                outcome["correct"] += 1
            else:
                outcome["wrong"] += 1
                wrong.append((seed, variant.edits, key, got))
    total = sum(outcome.values())
    print(f"\nmutation suite: {len(SEEDS)} variants x {len(targets)} targets = {total}: "
          + ", ".join(f"{k} {v} ({v / total:.0%})" for k, v in outcome.items()))
    assert outcome["wrong"] == 0, wrong
    assert outcome["correct"] / total > 0.8
