from monitoring.core.windows import WindowGrid

GRID = WindowGrid(t0=1000, duration=30, slide=10)


def test_first_record_opens_window_zero_only():
    assert list(GRID.indices(1000)) == [0]


def test_windows_start_at_or_after_t0():
    assert list(GRID.indices(1009)) == [0]
    assert list(GRID.indices(1010)) == [0, 1]
    assert list(GRID.indices(1029)) == [0, 1, 2]


def test_window_end_is_exclusive():
    assert list(GRID.indices(1030)) == [1, 2, 3]


def test_before_t0_belongs_nowhere():
    assert list(GRID.indices(999)) == []


def test_start_and_end():
    assert (GRID.start(3), GRID.end(3)) == (1030, 1060)


def test_slide_that_does_not_divide_the_duration():
    grid = WindowGrid(0, 30, 7)
    for t in range(0, 100):
        assert [k for k in range(20) if grid.start(k) <= t < grid.end(k)] == list(grid.indices(t))
