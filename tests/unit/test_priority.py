import pytest

from agi_app.domain.priority import level_from_queue_prio, queue_prio


def test_level_one_gets_the_highest_queue_prio() -> None:
    assert queue_prio(1) == 9
    assert queue_prio(10) == 0
    assert sorted(range(1, 11), key=queue_prio, reverse=True) == list(range(1, 11))


def test_round_trip_and_foreign_values() -> None:
    assert all(level_from_queue_prio(queue_prio(level)) == level for level in range(1, 11))
    assert level_from_queue_prio(10) is None
    assert level_from_queue_prio(-1) is None


@pytest.mark.parametrize("level", [0, 11, -3])
def test_out_of_range_levels(level: int) -> None:
    with pytest.raises(ValueError):
        queue_prio(level)
