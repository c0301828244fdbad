"""The dataset schema documents every status code it stores."""

from sve.study import load_spec
from sve.study.schema import STATUS, STATUS_MEANINGS, empty_dataset


def test_every_status_code_has_a_meaning_and_distinct_values():
    assert list(STATUS_MEANINGS) == list(STATUS)
    assert sorted(STATUS.values()) == list(range(len(STATUS)))
    assert all(len(text) > 20 for text in STATUS_MEANINGS.values())


def test_status_attributes_name_the_codes_a_dataset_can_hold(tiny_spec_data):
    plain = empty_dataset(load_spec(tiny_spec_data()))["status"].attrs
    assert plain["flag_meanings"].split() == [k for k in STATUS if k != "absent"]
    assert plain["flag_values"] == [STATUS[k] for k in STATUS if k != "absent"]
    adaptive = tiny_spec_data(sampling={"adaptive_target": 0.1, "max_realizations": 16})
    sparse = empty_dataset(load_spec(adaptive))["status"].attrs
    assert sparse["flag_meanings"].split() == list(STATUS)
