"""The stream job's closing rule: a window closes in the batch whose rows take the latest event
time `lateness` past its end, once; an update of a closed window is late."""
from monitoring.jobs.window_closing import Closing, Window, advance, from_json, to_json

LATENESS = 10


def w(server, k, value, slide=10, duration=30):
    return Window(server, k, k * slide + duration, (server, str(k), value))


def test_windows_close_in_grid_order_once_the_latest_time_is_lateness_past_their_end():
    step = advance(Closing(), [w("b", 0, "1"), w("a", 1, "2"), w("a", 0, "3")], 25, LATENESS)
    assert step.closed == [] and step.state.latest == 25
    step = advance(step.state, [w("a", 0, "4")], 45, LATENESS)   # closes what ends by 35: a:0, b:0
    assert [x.fields for x in step.closed] == [("a", "0", "4"), ("b", "0", "1")]
    assert [(x.server_id, x.k) for x in step.state.open] == [("a", 1)]


def test_a_batch_without_rows_closes_nothing_and_keeps_the_latest_time():
    state = advance(Closing(), [w("a", 0, "1")], 35, LATENESS).state
    step = advance(state, [], None, LATENESS)
    assert step.closed == [] and step.state == state


def test_the_latest_time_never_goes_back_and_an_update_of_a_closed_window_is_late():
    step = advance(Closing(), [w("a", 0, "1")], 40, LATENESS)
    assert [x.k for x in step.closed] == [0]
    step = advance(step.state, [w("a", 0, "9"), w("a", 1, "5")], 31, LATENESS)
    assert step.late == 1 and step.closed == [] and step.state.latest == 40
    assert [x.fields for x in step.state.open] == [("a", "1", "5")]


def test_the_state_survives_its_json():
    state = advance(Closing(), [w("a", 1, None), w("b", 2, "7")], 12, LATENESS).state
    assert from_json(to_json(state)) == state
    assert from_json(to_json(Closing())) == Closing()
