import gc
from collections.abc import Iterator

import pytest
from photobus_common.gctuning import THRESHOLDS, collect_rarely


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def tracked(container: object) -> bool:
    """`container` is in one of the collector's generations (not frozen)."""
    return any(o is container for o in gc.get_objects())


@pytest.mark.usefixtures("restored_gc")
def test_collect_rarely_raises_the_thresholds_and_freezes_what_is_alive() -> None:
    gc.unfreeze()
    loaded: list[object] = []  # stands for what start-up loaded
    assert tracked(loaded)
    collect_rarely()
    later: list[object] = []
    assert gc.get_threshold() == THRESHOLDS
    assert gc.get_freeze_count() > 0
    assert not tracked(loaded)
    assert tracked(later)
