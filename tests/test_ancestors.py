"""AncestorLog: neat-python's ancestor dict kept in arrays, behaving exactly as the dict."""

import pickle
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wann_plugin._ancestors import AncestorLog

_parent = st.integers(-2**40, 2**40)
_value = st.one_of(st.tuples(), st.tuples(_parent), st.tuples(_parent, _parent),
                   st.tuples(_parent, _parent, _parent), st.just([1, 2]), st.none())
_key = st.one_of(st.integers(-5, 40), st.integers(-2**40, 2**40), st.text(max_size=2))
_op = st.one_of(st.tuples(st.just("next"), _value),   # the genome counter's next key
                st.tuples(st.just("set"), _key, _value),
                st.tuples(st.just("del"), _key))


def _apply(ops, log, ref):
    counter = 1
    for op in ops:
        if op[0] == "next":
            log[counter] = ref[counter] = op[1]
            counter += 1
        elif op[0] == "set":
            log[op[1]] = ref[op[1]] = op[2]
        elif op[1] in ref:
            del log[op[1]]
            del ref[op[1]]
        else:
            with pytest.raises(KeyError):
                del log[op[1]]


def _same(log, ref):
    assert len(log) == len(ref)
    assert dict(log) == ref
    assert sorted(map(repr, log)) == sorted(map(repr, ref))
    for k, v in ref.items():
        assert k in log
        assert log[k] == v
        assert type(log[k]) is type(v)


@settings(max_examples=300, deadline=None)
@given(st.lists(_op, max_size=60), st.lists(_key, max_size=10))
def test_it_behaves_as_a_dict_under_any_sequence_of_writes(ops, probes):
    log, ref = AncestorLog(), {}
    _apply(ops, log, ref)
    _same(log, ref)
    for k in probes:
        assert (k in log) == (k in ref)
        assert log.get(k, "missing") == ref.get(k, "missing")
    assert log == ref
    again = pickle.loads(pickle.dumps(log, protocol=pickle.HIGHEST_PROTOCOL))
    assert type(again) is AncestorLog
    _same(again, ref)
    _same(AncestorLog(ref), ref)
    _same(log.copy(), ref)


@settings(max_examples=200, deadline=None)
@given(st.lists(_op, max_size=40), st.lists(_op, max_size=40))
def test_a_snapshot_keeps_what_it_saw_whatever_is_written_later(before, after):
    log, ref = AncestorLog(), {}
    _apply(before, log, ref)
    snap, seen = log.snapshot(), dict(ref)
    _apply(after, log, ref)
    _same(snap.value(), seen)
    _same(log, ref)


def test_the_genome_counters_keys_are_kept_in_order_in_arrays_of_9_bytes_a_genome():
    log = AncestorLog()
    n = 200_000
    for key in range(1, n + 1):
        log[key] = () if key <= 960 else (key - 960,) if key % 7 else (key - 961, key - 962)
    assert list(log)[:3] == [1, 2, 3] and list(log)[-1] == n
    assert log[961] == (1,) and log[966] == (5, 4) and log[5] == ()
    stored = sys.getsizeof(log._arity) + sys.getsizeof(log._parents)
    assert stored < 10 * n
    assert not log._extra  # nothing fell back to the dict
    as_dict = sum(sys.getsizeof(v) for v in dict(log).values())
    assert as_dict > 4 * stored  # the tuples alone of the dict it replaces
