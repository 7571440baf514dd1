from ftpvm_core.engine.memory_bank import select_memory


def test_first_last_keeps_first_and_latest_past_keyframes():
    kfs = [0, 10, 20, 30, 40, 50]
    assert select_memory(kfs, 45, 3, "first_last") == [0, 30, 40]
    assert select_memory(kfs, 15, 3, "first_last") == [0, 10]
    assert select_memory(kfs, 15, 1, "first_last") == [0]


def test_first_last_before_the_first_keyframe_uses_the_first_after():
    assert select_memory([10, 20], 3, 5, "first_last") == [10]


def test_first_last_never_depends_on_future_keyframes():
    assert select_memory([0, 5], 4, 5, "first_last") == select_memory([0], 4, 5, "first_last")


def test_nearest_in_time_both_sides():
    kfs = [0, 10, 20, 30]
    assert select_memory(kfs, 12, 2, "nearest") == [10, 20]
    assert select_memory(kfs, 15, 1, "nearest") == [10]  # tie goes to the earlier
    assert select_memory([], 3, 2, "nearest") == []
